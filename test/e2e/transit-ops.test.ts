/**
 * Transit's utility operations and mount settings over HTTP, against Vault's fields, answers and
 * messages (builtin/logical/transit path_rewrap.go, path_datakey.go, path_hash.go, path_random.go
 * and helper/random, path_trim.go, path_config_keys.go, path_cache_config.go).
 */
import { Client } from 'pg';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { until } from '../support/wait';

jest.setTimeout(120_000);

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const QUICK_BROWN_FOX = 'dGhlIHF1aWNrIGJyb3duIGZveA==';

describe('transit operations (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  let databaseUrl: string;
  const token = 'hvs.transitopsroot';
  const post = (path: string, body: unknown = {}, as = token) => call(a, 'POST', `transit/${path}`, { token: as, body });
  const get = (path: string) => call(a, 'GET', `transit/${path}`, { token });
  const encrypt = async (name: string, text: string, extra: Record<string, unknown> = {}) => {
    const r = await post(`encrypt/${name}`, { plaintext: b64(text), ...extra });
    expect(r.status).toBe(200);
    return r.body.data.ciphertext as string;
  };
  const decrypted = async (name: string, ciphertext: string, extra: Record<string, unknown> = {}) => {
    const r = await post(`decrypt/${name}`, { ciphertext, ...extra });
    expect(r.status).toBe(200);
    return r.body.data.plaintext as string;
  };
  const refused = (message: string) => ({ status: 400, body: { errors: [message] } });

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    server = await startServerProcess({ databaseUrl, args: ['--dev', '--dev-root-token-id', token], readyText: 'should NOT be used' });
    a = server.address;
    expect((await call(a, 'POST', 'sys/mounts/transit', { token, body: { type: 'transit' } })).status).toBe(204);
  });
  afterAll(async () => server?.stop());

  describe('rewrap', () => {
    it('re-encrypts with the latest version, or key_version; the result decrypts to the same plaintext', async () => {
      const v1 = await encrypt('rw', 'secret one');
      expect(v1).toMatch(/^vault:v1:/);
      expect((await post('keys/rw/rotate')).status).toBe(200);
      const latest = await post('rewrap/rw', { ciphertext: v1 });
      expect(latest.status).toBe(200);
      expect(latest.body.data).toEqual({ ciphertext: expect.stringMatching(/^vault:v2:/), key_version: 2 });
      expect(await decrypted('rw', latest.body.data.ciphertext)).toBe(b64('secret one'));
      const pinned = await post('rewrap/rw', { ciphertext: latest.body.data.ciphertext, key_version: 1 });
      expect(pinned.body.data).toEqual({ ciphertext: expect.stringMatching(/^vault:v1:/), key_version: 1 });
      expect(await decrypted('rw', pinned.body.data.ciphertext)).toBe(b64('secret one'));

      expect(await post('rewrap/rw', { ciphertext: v1, key_version: 3 })).toMatchObject(
        refused('requested version for encryption is higher than the latest key version'),
      );
      expect(await post('rewrap/rw', {})).toMatchObject(refused('missing ciphertext to decrypt'));
      expect(await post('rewrap/nokey', { ciphertext: v1 })).toMatchObject(refused('encryption key not found'));
      expect(await post('rewrap/rw', { ciphertext: 'vault:v1:%%%' })).toMatchObject(refused('invalid ciphertext: could not decode base64'));
      expect((await post('keys/rw/config', { min_decryption_version: 2 })).status).toBe(200);
      expect(await post('rewrap/rw', { ciphertext: v1 })).toMatchObject(refused('ciphertext or signature version is disallowed by policy (too old)'));
    });

    it('batch_input: every item rewrapped in order with its reference; a bad item fails alone and the answer stays 200, as Vault', async () => {
      const c1 = await encrypt('rwb', 'first');
      const c2 = await encrypt('rwb', 'second');
      await post('keys/rwb/rotate');
      const r = await post('rewrap/rwb', {
        batch_input: [{ ciphertext: c1, reference: 'r1' }, { ciphertext: 'vault:v9:AAAA', reference: 'bad' }, { ciphertext: c2 }, { reference: 'none' }],
      });
      expect(r.status).toBe(200);
      const results = r.body.data.batch_results;
      expect(results).toEqual([
        { ciphertext: expect.stringMatching(/^vault:v2:/), key_version: 2, reference: 'r1' },
        { error: 'invalid ciphertext: version is too new', reference: 'bad' },
        { ciphertext: expect.stringMatching(/^vault:v2:/), key_version: 2, reference: '' },
        { error: 'missing ciphertext to decrypt', reference: 'none' },
      ]);
      expect(await decrypted('rwb', results[0].ciphertext)).toBe(b64('first'));
      expect(await decrypted('rwb', results[2].ciphertext)).toBe(b64('second'));

      expect(await post('rewrap/rwb', { batch_input: [] })).toMatchObject(refused('missing batch input to process'));
      expect(await post('rewrap/rwb', { batch_input: [{ ciphertext: c1, context: b64('x') }, { ciphertext: c2 }] })).toMatchObject(
        refused('context should be set either in all the request blocks or in none'),
      );
    });

    it('derived keys rewrap with their context; a wrong context fails', async () => {
      const c = await encrypt('rwd', 'derived', { context: b64('ctx') });
      await post('keys/rwd/rotate');
      const r = await post('rewrap/rwd', { ciphertext: c, context: b64('ctx') });
      expect(r.body.data.key_version).toBe(2);
      expect(await decrypted('rwd', r.body.data.ciphertext, { context: b64('ctx') })).toBe(b64('derived'));
      const wrong = await post('rewrap/rwd', { ciphertext: c, context: b64('other') });
      expect(wrong.status).toBe(400);
      expect(wrong.text).not.toContain(b64('derived'));
    });
  });

  describe('datakey', () => {
    it('plaintext: a new key and its ciphertext, which decrypt gives back; wrapped: the ciphertext only', async () => {
      await post('keys/dk');
      const plain = await post('datakey/plaintext/dk');
      expect(plain.status).toBe(200);
      expect(plain.body.data).toEqual({ ciphertext: expect.stringMatching(/^vault:v1:/), key_version: 1, plaintext: expect.any(String) });
      expect(Buffer.from(plain.body.data.plaintext, 'base64')).toHaveLength(32);
      expect(await decrypted('dk', plain.body.data.ciphertext)).toBe(plain.body.data.plaintext);

      const wrapped = await post('datakey/wrapped/dk', { bits: 512 });
      expect(wrapped.status).toBe(200);
      expect(Object.keys(wrapped.body.data).sort()).toEqual(['ciphertext', 'key_version']);
      expect(Buffer.from(await decrypted('dk', wrapped.body.data.ciphertext), 'base64')).toHaveLength(64);
      const short = await post('datakey/plaintext/dk', { bits: 128 });
      expect(Buffer.from(short.body.data.plaintext, 'base64')).toHaveLength(16);
      expect((await post('datakey/plaintext/dk')).body.data.plaintext).not.toBe(plain.body.data.plaintext);
    });

    it('key_version and context are honoured; Vault messages for every bad input', async () => {
      await post('keys/dkv');
      await post('keys/dkv/rotate');
      const old = await post('datakey/wrapped/dkv', { key_version: 1 });
      expect(old.body.data).toEqual({ ciphertext: expect.stringMatching(/^vault:v1:/), key_version: 1 });
      expect((await post('datakey/wrapped/dkv')).body.data.key_version).toBe(2);

      await post('keys/dkd', { derived: true });
      const derived = await post('datakey/plaintext/dkd', { context: b64('tenant') });
      expect(await decrypted('dkd', derived.body.data.ciphertext, { context: b64('tenant') })).toBe(derived.body.data.plaintext);
      expect((await post('datakey/plaintext/dkd')).status).toBe(400);

      expect(await post('datakey/both/dk')).toMatchObject(refused("Invalid path, must be 'plaintext' or 'wrapped'"));
      expect(await post('datakey/plaintext/dk', { bits: 100 })).toMatchObject(refused('invalid bit length'));
      expect(await post('datakey/plaintext/dk', { context: 'not base64!' })).toMatchObject(refused('failed to base64-decode context'));
      expect(await post('datakey/plaintext/dk', { nonce: 'not base64!' })).toMatchObject(refused('failed to base64-decode nonce'));
      expect(await post('datakey/plaintext/dk', { nonce: b64('twelve bytes') })).toMatchObject(refused('provided nonce not allowed for this key'));
      expect(await post('datakey/plaintext/nokey')).toMatchObject(refused('encryption key not found'));
      expect(await post('datakey/wrapped/dkv', { key_version: 5 })).toMatchObject(
        refused('requested version for encryption is higher than the latest key version'),
      );
      await post('keys/dked', { type: 'ed25519' });
      expect(await post('datakey/plaintext/dked')).toMatchObject(refused('message encryption not supported for key type ed25519'));
    });
  });

  describe('hash', () => {
    it("gives Vault's sums (its own test vectors), algorithm from the URL or the body, hex or base64", async () => {
      const sum = async (path: string, body: Record<string, unknown>) => {
        const r = await post(path, { input: QUICK_BROWN_FOX, ...body });
        expect(r.status).toBe(200);
        return r.body.data.sum as string;
      };
      expect(await sum('hash', {})).toBe('9ecb36561341d18eb65484e833efea61edc74b84cf5e6ae1b81c63533e25fc8f');
      expect(await sum('hash/sha2-224', {})).toBe('ea074a96cabc5a61f8298a2c470f019074642631a49e1c5e2f560865');
      expect(await sum('hash', { algorithm: 'sha2-224' })).toBe('ea074a96cabc5a61f8298a2c470f019074642631a49e1c5e2f560865');
      expect(await sum('hash/sha2-224', { algorithm: 'sha2-512' })).toBe('ea074a96cabc5a61f8298a2c470f019074642631a49e1c5e2f560865');
      expect(await sum('hash', { algorithm: 'sha2-384' })).toBe(
        '15af9ec8be783f25c583626e9491dbf129dd6dd620466fdf05b3a1d0bb8381d30f4d3ec29f923ff1e09a0f6b337365a6',
      );
      expect(await sum('hash', { algorithm: 'sha2-512', format: 'base64' })).toBe(
        '2dOA8puXrWodkumH2D+loCZTMB4QBt0rzVGvpZqRR+nK7a+JUhq8DwtoKtzUf7USuDQ8g0oy8yb+m+8AVCzohw==',
      );
      expect(await sum('hash/sha3-224', {})).toBe('ced91e69d89c837e87cff960bd64fd9b9f92325fb9add8988d33d007');
      expect(await sum('hash', { algorithm: 'sha3-256' })).toBe('e4bd866ec3fa52df3b7842aa97b448bc859a7606cefcdad1715847f4b82a6c93');
      expect(await sum('hash/sha3-384', {})).toBe('715cd38cbf8d0bab426b6a084d649760be555dd64b34de6db148a3fbf2cd2aa5d8b03eb6eda73a3e9a8769c00b4c2113');
      expect(await sum('hash/sha3-512', { format: 'base64' })).toBe('98rFrYMEIqVAizamCmBiBoe+GAdlo+KJW8O9vYV8nggkbIMGTU42EvDLkn8+rSCEE6uYYkv3sGF68PA/YggJdg==');
    });

    it("refuses bad input with Vault's messages", async () => {
      expect(await post('hash', {})).toMatchObject(refused('input missing'));
      expect(await post('hash', { input: QUICK_BROWN_FOX, format: 'base92' })).toMatchObject(
        refused('unsupported encoding format base92; must be "hex" or "base64"'),
      );
      expect(await post('hash', { input: QUICK_BROWN_FOX, algorithm: 'foobar' })).toMatchObject(refused('unsupported algorithm foobar'));
      expect(await post('hash/sha1', { input: QUICK_BROWN_FOX })).toMatchObject(refused('unsupported algorithm sha1'));
      expect(await post('hash', { input: 'foobar' })).toMatchObject(refused('unable to decode input as base64: illegal base64 data at input byte 4'));
      expect(await post('hash', { input: 'ab!d' })).toMatchObject(refused('unable to decode input as base64: illegal base64 data at input byte 2'));
    });
  });

  describe('random', () => {
    it('gives `bytes` random bytes (32 by default) in base64 or hex, the count from the URL or the body', async () => {
      const bytesOf = async (path: string, body: Record<string, unknown> = {}) => {
        const r = await post(path, body);
        expect(r.status).toBe(200);
        const v = r.body.data.random_bytes as string;
        return body.format === 'hex' ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
      };
      const first = await bytesOf('random');
      expect(first).toHaveLength(32);
      expect((await bytesOf('random')).equals(first)).toBe(false);
      expect(await bytesOf('random/64')).toHaveLength(64);
      expect(await bytesOf('random/+8')).toHaveLength(8);
      expect(await bytesOf('random', { bytes: 16 })).toHaveLength(16);
      expect(await bytesOf('random', { bytes: 20, format: 'hex' })).toHaveLength(20);
      expect((await post('random', { format: 'hex' })).body.data.random_bytes).toMatch(/^[0-9a-f]{64}$/);
      expect(await bytesOf('random/platform/48')).toHaveLength(48);
      expect(await bytesOf('random/all', { bytes: 8 })).toHaveLength(8);
      // As Vault: the URL's source wins, so a `source` in the body is not used.
      expect(await bytesOf('random', { source: 'nonsense' })).toHaveLength(32);
    });

    it("the seal source falls back to the platform with Vault's warning (no entropy augmentation here)", async () => {
      const r = await post('random/seal/24');
      expect(r.status).toBe(200);
      expect(Buffer.from(r.body.data.random_bytes, 'base64')).toHaveLength(24);
      expect(r.body.warnings).toEqual(['no seal/entropy augmentation available, using platform entropy source']);
      expect((await post('random/all/24')).body.warnings).toBeNull();
    });

    it("refuses bad counts, sources and formats with Vault's messages", async () => {
      expect(await post('random/0')).toMatchObject(refused('"bytes" cannot be less than 1'));
      expect(await post('random', { bytes: -3 })).toMatchObject(refused('"bytes" cannot be less than 1'));
      expect(await post('random', { bytes: 10 * 1024 * 1024 + 1 })).toMatchObject(refused('"bytes" must be less than 10485760'));
      expect(await post('random/seal/131073')).toMatchObject(refused('bytes cannot be more than 131072 if sourced from seal.  Use drbg mode instead'));
      expect(await post('random/abc')).toMatchObject(refused('error parsing url-set byte count: strconv.Atoi: parsing "abc": invalid syntax'));
      expect(await post('random/seal/12x')).toMatchObject(refused('error parsing url-set byte count: strconv.Atoi: parsing "12x": invalid syntax'));
      expect(await post('random/99999999999999999999')).toMatchObject(
        refused('error parsing url-set byte count: strconv.Atoi: parsing "99999999999999999999": value out of range'),
      );
      expect(await post('random/bogus/16')).toMatchObject(refused('unsupported entropy source "bogus"; must be "platform" or "seal", or "all"'));
      expect(await post('random', { format: 'base92' })).toMatchObject(refused('unsupported encoding format "base92"; must be "hex" or "base64"'));
    });
  });

  describe('trim', () => {
    it("deletes the versions below min_available_version in one go, within Vault's rules; a trimmed version no longer decrypts", async () => {
      const v1 = await encrypt('tr', 'kept in v1');
      for (let i = 0; i < 4; i++) expect((await post('keys/tr/rotate')).status).toBe(200);
      const v4 = await encrypt('tr', 'kept in v4', { key_version: 4 });

      expect(await post('keys/tr/trim', { min_available_version: 1 })).toMatchObject(
        refused('minimum available version cannot be set when minimum encryption version is not set'),
      );
      expect(await post('keys/tr/trim', {})).toMatchObject(refused('missing min_available_version'));
      expect(await post('keys/nokey/trim', { min_available_version: 1 })).toMatchObject(refused('invalid key name'));
      expect((await post('keys/tr/config', { min_encryption_version: 4 })).status).toBe(200);
      expect((await post('keys/tr/config', { min_decryption_version: 3 })).status).toBe(200);
      expect(await post('keys/tr/trim', { min_available_version: 5 })).toMatchObject(
        refused('minimum available version cannot be greater than minmum encryption version'),
      );
      expect(await post('keys/tr/trim', { min_available_version: 4 })).toMatchObject(
        refused('minimum available version cannot be greater than minimum decryption version'),
      );
      expect(await post('keys/tr/trim', { min_available_version: -1 })).toMatchObject(refused('minimum available version cannot be decremented'));
      expect(await post('keys/tr/trim', { min_available_version: 0 })).toMatchObject(refused('minimum available version should be positive'));

      const trimmed = await post('keys/tr/trim', { min_available_version: 3 });
      expect(trimmed.status).toBe(200);
      expect(trimmed.body.data).toMatchObject({
        name: 'tr',
        min_available_version: 3,
        min_decryption_version: 3,
        min_encryption_version: 4,
        latest_version: 5,
      });
      expect(Object.keys(trimmed.body.data.keys).sort()).toEqual(['3', '4', '5']);
      expect((await get('keys/tr')).body.data).toEqual(trimmed.body.data);

      const db = new Client({ connectionString: databaseUrl });
      await db.connect();
      try {
        const rows = await db.query("SELECT version FROM transit_key_versions WHERE name = 'tr' ORDER BY version");
        expect(rows.rows.map((r: { version: number }) => r.version)).toEqual([3, 4, 5]);
      } finally {
        await db.end();
      }

      expect(await post('decrypt/tr', { ciphertext: v1 })).toMatchObject(refused('ciphertext or signature version is disallowed by policy (too old)'));
      expect(await decrypted('tr', v4)).toBe(b64('kept in v4'));
      expect(await post('keys/tr/trim', { min_available_version: 2 })).toMatchObject(refused('minimum available version cannot be decremented'));
      expect(await post('keys/tr/config', { min_decryption_version: 1 })).toMatchObject(
        refused('min decryption version should not be less then min available version'),
      );
      // Trimming to the same version again changes nothing and is allowed.
      expect((await post('keys/tr/trim', { min_available_version: 3 })).status).toBe(200);
    });
  });

  describe('config/keys', () => {
    it("disable_upsert: encrypting to a missing key is refused with Vault's message, even with `create` capability", async () => {
      expect((await get('config/keys')).body.data).toEqual({ disable_upsert: false });
      const set = await post('config/keys', { disable_upsert: true });
      expect(set.status).toBe(200);
      expect(set.body.data).toEqual({ disable_upsert: true });
      expect((await get('config/keys')).body.data).toEqual({ disable_upsert: true });

      expect(await post('encrypt/upserted', { plaintext: b64('x') })).toMatchObject(refused('encryption key not found'));
      const policy = 'path "transit/encrypt/*" { capabilities = ["create", "update"] }';
      expect((await call(a, 'POST', 'sys/policies/acl/enc-create', { token, body: { policy } })).status).toBe(204);
      const child = (await call(a, 'POST', 'auth/token/create', { token, body: { policies: ['enc-create'] } })).body.auth.client_token as string;
      expect(await post('encrypt/upserted', { plaintext: b64('x') }, child)).toMatchObject(refused('encryption key not found'));
      expect((await get('keys/upserted')).status).toBe(404);
      // Vault checks the key type first.
      expect(await post('encrypt/upserted', { plaintext: b64('x'), type: 'bogus' })).toMatchObject(refused('unknown key type bogus'));

      // Existing keys still encrypt; keys are still created through keys/:name.
      expect((await post('keys/upserted')).status).toBe(200);
      expect(await decrypted('upserted', await encrypt('upserted', 'fine'))).toBe(b64('fine'));

      // A write without the field sets it back to false (Vault's default), and upsert works again.
      expect((await post('config/keys', {})).body.data).toEqual({ disable_upsert: false });
      expect((await post('encrypt/upserted-later', { plaintext: b64('x') }, child)).status).toBe(200);
      expect((await get('keys/upserted-later')).status).toBe(200);
    });
  });

  describe('cache-config', () => {
    it('reads and sets the size: 0 (unbounded) or at least 10; keys keep working through a bounded cache', async () => {
      expect((await get('cache-config')).body.data).toEqual({ size: 0 });
      expect(await post('cache-config', { size: 5 })).toMatchObject(refused('size must be 0 or a value greater or equal to 10'));
      expect(await post('cache-config', { size: -1 })).toMatchObject(refused('size must be 0 or a value greater or equal to 10'));
      const set = await post('cache-config', { size: 10 });
      expect(set.status).toBe(200);
      expect(set.body.data).toEqual({ size: 10 });
      expect((await get('cache-config')).body.data).toEqual({ size: 10 });

      const ciphertexts: string[] = [];
      for (let i = 0; i < 15; i++) ciphertexts.push(await encrypt(`cached-${i}`, `value ${i}`));
      for (let i = 0; i < 15; i++) expect(await decrypted(`cached-${i}`, ciphertexts[i])).toBe(b64(`value ${i}`));
      await post('keys/cached-0/rotate');
      expect((await post('rewrap/cached-0', { ciphertext: ciphertexts[0] })).body.data.key_version).toBe(2);

      expect((await post('cache-config', {})).body.data).toEqual({ size: 0 });
      expect((await get('cache-config')).body.data).toEqual({ size: 0 });
    });
  });

  describe('two nodes on one database', () => {
    let nodeB: ServerProcess;
    let b: string;
    const postB = (path: string, body: unknown = {}) => call(b, 'POST', `transit/${path}`, { token, body });

    beforeAll(async () => {
      nodeB = await startServerProcess({ databaseUrl, args: [], readyText: 'listening on' });
      b = nodeB.address;
      const key = /Unseal Key: (\S+)/.exec(server.output())?.[1];
      expect((await call(b, 'PUT', 'sys/unseal', { body: { key } })).body.sealed).toBe(false);
    });
    afterAll(async () => nodeB?.stop());

    it("a rotate, a config change, a trim, a delete and the mount's settings changed on A apply on B, whose cache held the old ones", async () => {
      const v1 = await encrypt('multi', 'shared');
      // B reads (and caches) the key: version 1.
      for (let i = 0; i < 3; i++) expect((await postB('encrypt/multi', { plaintext: b64('b') })).body.data.key_version).toBe(1);
      expect((await post('keys/multi/rotate')).status).toBe(200);
      await until(async () => (await postB('encrypt/multi', { plaintext: b64('b') })).body.data.key_version === 2);

      expect((await postB('decrypt/multi', { ciphertext: v1 })).status).toBe(200);
      await post('keys/multi/config', { min_decryption_version: 2, min_encryption_version: 2 });
      await until(async () => (await postB('decrypt/multi', { ciphertext: v1 })).status === 400);
      expect(await postB('decrypt/multi', { ciphertext: v1 })).toMatchObject(refused('ciphertext or signature version is disallowed by policy (too old)'));

      expect((await post('keys/multi/trim', { min_available_version: 2 })).status).toBe(200);
      await until(async () => (await call(b, 'GET', 'transit/keys/multi', { token })).body.data.min_available_version === 2);

      await post('keys/multi/config', { deletion_allowed: true });
      expect((await call(a, 'DELETE', 'transit/keys/multi', { token })).status).toBe(204);
      await until(async () => (await postB('rewrap/multi', { ciphertext: v1 })).body.errors?.[0] === 'encryption key not found');

      expect((await call(b, 'GET', 'transit/config/keys', { token })).body.data).toEqual({ disable_upsert: false });
      expect((await post('config/keys', { disable_upsert: true })).status).toBe(200);
      await until(async () => (await postB('encrypt/fresh', { plaintext: b64('x') })).status === 400);
      expect(await postB('encrypt/fresh', { plaintext: b64('x') })).toMatchObject(refused('encryption key not found'));
      expect((await post('config/keys', { disable_upsert: false })).status).toBe(200);
      await until(async () => (await postB('encrypt/fresh', { plaintext: b64('x') })).status === 200);

      expect((await call(b, 'GET', 'transit/cache-config', { token })).body.data).toEqual({ size: 0 });
      expect((await post('cache-config', { size: 12 })).status).toBe(200);
      await until(async () => (await call(b, 'GET', 'transit/cache-config', { token })).body.data.size === 12);
      await post('cache-config', { size: 0 });
    });
  });
});
