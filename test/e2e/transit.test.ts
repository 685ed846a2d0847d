/**
 * The transit engine's first increment over HTTP against Vault's documented semantics: aes256-gcm96
 * keys (create, read in Vault's shape, LIST, config, rotate, delete only with deletion_allowed),
 * encrypt (upsert on first use) and decrypt with Vault's ciphertext format and error messages; no
 * error carries the plaintext; key material is barrier ciphertext in the database.
 */
import { Client } from 'pg';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('transit (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  let databaseUrl: string;
  const token = 'hvs.transittestroot';
  const post = (path: string, body: unknown = {}) => call(a, 'POST', `transit/${path}`, { token, body });
  const encrypt = async (name: string, text: string) => (await post(`encrypt/${name}`, { plaintext: b64(text) })).body.data.ciphertext as string;
  const decrypt = (name: string, ciphertext: string) => post(`decrypt/${name}`, { ciphertext });

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    server = await startServerProcess({ databaseUrl, args: ['--dev', '--dev-root-token-id', token], readyText: 'should NOT be used' });
    a = server.address;
    expect((await call(a, 'POST', 'sys/mounts/transit', { token, body: { type: 'transit' } })).status).toBe(204);
  });
  afterAll(async () => server?.stop());

  it("creates, reads (Vault's shape) and lists keys; a second create warns and changes nothing", async () => {
    const created = await post('keys/k1');
    expect(created.status).toBe(200);
    const read = await call(a, 'GET', 'transit/keys/k1', { token });
    expect(read.status).toBe(200);
    expect(read.body.data).toEqual({
      name: 'k1',
      type: 'aes256-gcm96',
      keys: { '1': expect.any(Number) },
      latest_version: 1,
      min_available_version: 0,
      min_decryption_version: 1,
      min_encryption_version: 0,
      deletion_allowed: false,
      derived: false,
      exportable: false,
      allow_plaintext_backup: false,
      supports_encryption: true,
      supports_decryption: true,
      supports_derivation: true,
      supports_signing: false,
      auto_rotate_period: 0,
      imported_key: false,
      auto_rotate_after_operations: 0,
    });
    expect(Math.abs(read.body.data.keys['1'] - Date.now() / 1000)).toBeLessThan(60);
    expect(created.body.data).toEqual(read.body.data);
    const again = await post('keys/k1', { type: 'aes256-gcm96' });
    expect(again.body.warnings).toEqual(['key k1 already existed']);
    await post('keys/k0');
    expect((await call(a, 'LIST', 'transit/keys', { token })).body.data.keys).toEqual(['k0', 'k1']);
    expect((await call(a, 'GET', 'transit/keys/none', { token })).status).toBe(404);
  });

  it('refuses unknown key types and bad option combinations with Vault’s messages, creating nothing', async () => {
    expect(await post('keys/r', { type: 'rsa-1024' })).toMatchObject({ status: 400, body: { errors: ['unknown key type rsa-1024'] } });
    expect(await post('keys/opt', { convergent_encryption: true })).toMatchObject({
      status: 400,
      body: { errors: ['convergent encryption requires derivation to be enabled'] },
    });
    expect(await post('keys/opt', { type: 'ecdsa-p256', derived: true })).toMatchObject({
      status: 400,
      body: { errors: ['key derivation and convergent encryption not supported for keys of type ecdsa-p256'] },
    });
    expect(await post('keys/opt', { key_size: 64 })).toMatchObject({ status: 400, body: { errors: ['key_size is not valid for algorithm aes256-gcm96'] } });
    expect(await post('keys/opt', { type: 'hmac', key_size: 16 })).toMatchObject({ status: 400, body: { errors: ['invalid key_size 16'] } });
    expect(await post('keys/opt', { auto_rotate_period: '30m' })).toMatchObject({
      status: 400,
      body: { errors: ['auto rotate period must be 0 to disable or at least an hour'] },
    });
    expect((await call(a, 'GET', 'transit/keys/opt', { token })).status).toBe(404);
    const made = await post('keys/opt', { exportable: true, auto_rotate_period: '2h' });
    expect(made.body.data).toMatchObject({ exportable: true, auto_rotate_period: 7200 });
  });

  it('encrypts to vault:v1:<base64(nonce ‖ ciphertext ‖ tag)> and decrypts back; the first encrypt creates the key', async () => {
    expect((await call(a, 'GET', 'transit/keys/upserted', { token })).status).toBe(404);
    const e = await post('encrypt/upserted', { plaintext: b64('the quick brown fox') });
    expect(e.status).toBe(200);
    expect(e.body.data.key_version).toBe(1);
    const ct: string = e.body.data.ciphertext;
    expect(ct).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(ct.slice('vault:v1:'.length), 'base64').length).toBe(12 + 'the quick brown fox'.length + 16);
    expect((await call(a, 'GET', 'transit/keys/upserted', { token })).body.data.latest_version).toBe(1);
    const d = await decrypt('upserted', ct);
    expect(d.status).toBe(200);
    expect(Buffer.from(d.body.data.plaintext, 'base64').toString('utf8')).toBe('the quick brown fox');
    // A random nonce per encryption; an empty plaintext works.
    expect(await encrypt('upserted', 'the quick brown fox')).not.toBe(ct);
    const empty = await post('encrypt/upserted', { plaintext: '' });
    expect((await decrypt('upserted', empty.body.data.ciphertext)).body.data.plaintext).toBe('');
    // Another key does not open it.
    expect(await decrypt('k1', ct)).toMatchObject({ status: 400, body: { errors: ['cipher: message authentication failed'] } });
  });

  it('rotate: new ciphertexts are v2, v1 still decrypts until min_decryption_version 2 refuses it', async () => {
    const v1 = await encrypt('rot', 'version one');
    const r = await post('keys/rot/rotate');
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ latest_version: 2, keys: { '1': expect.any(Number), '2': expect.any(Number) } });
    const v2 = await encrypt('rot', 'version two');
    expect(v2).toMatch(/^vault:v2:/);
    expect(Buffer.from((await decrypt('rot', v1)).body.data.plaintext, 'base64').toString()).toBe('version one');
    expect(Buffer.from((await decrypt('rot', v2)).body.data.plaintext, 'base64').toString()).toBe('version two');
    // encrypt with an explicit older version, as Vault's key_version.
    const old = await post('encrypt/rot', { plaintext: b64('x'), key_version: 1 });
    expect(old.body.data).toMatchObject({ key_version: 1, ciphertext: expect.stringMatching(/^vault:v1:/) });

    const c = await post('keys/rot/config', { min_decryption_version: 2 });
    expect(c.status).toBe(200);
    expect(c.body.data.min_decryption_version).toBe(2);
    // Vault's read lists the versions from min_decryption_version on.
    expect(Object.keys(c.body.data.keys)).toEqual(['2']);
    expect(await decrypt('rot', v1)).toMatchObject({ status: 400, body: { errors: ['ciphertext or signature version is disallowed by policy (too old)'] } });
    expect((await decrypt('rot', v2)).status).toBe(200);
    expect(await post('keys/rot/config', { min_decryption_version: 3 })).toMatchObject({
      status: 400,
      body: { errors: ['cannot set min decryption version of 3, latest key version is 2'] },
    });
    expect(await post('keys/rot/config', { min_encryption_version: 1 })).toMatchObject({
      status: 400,
      body: {
        errors: ['cannot set min encryption/decryption values; min encryption version of 1 must be greater than or equal to min decryption version of 2'],
      },
    });
    expect(await decrypt('rot', v2.replace('vault:v2:', 'vault:v3:'))).toMatchObject({
      status: 400,
      body: { errors: ['invalid ciphertext: version is too new'] },
    });
    expect(await post('keys/none/rotate')).toMatchObject({ status: 400 });
  });

  it('delete is refused until deletion_allowed; then the key and its versions go', async () => {
    await post('keys/del');
    await post('keys/del/rotate');
    expect(await call(a, 'DELETE', 'transit/keys/del', { token })).toMatchObject({
      status: 400,
      body: { errors: ['error deleting policy del: deletion is not allowed for this key'] },
    });
    expect((await call(a, 'GET', 'transit/keys/del', { token })).status).toBe(200);
    expect((await post('keys/del/config', { deletion_allowed: true })).body.data.deletion_allowed).toBe(true);
    expect((await call(a, 'DELETE', 'transit/keys/del', { token })).status).toBe(204);
    expect((await call(a, 'GET', 'transit/keys/del', { token })).status).toBe(404);
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      expect((await db.query("SELECT count(*)::int AS n FROM transit_key_versions WHERE name = 'del'")).rows[0].n).toBe(0);
    } finally {
      await db.end();
    }
  });

  it('bad inputs are 400 with Vault’s messages, and never echo the plaintext', async () => {
    const secret = 'not-base64 super-secret-value!!';
    const bad = await post('encrypt/k1', { plaintext: secret });
    expect(bad).toMatchObject({ status: 400, body: { errors: ['illegal base64 data at input byte 3'] } });
    expect(bad.text).not.toContain('super-secret');
    expect(await post('encrypt/k1', {})).toMatchObject({ status: 400, body: { errors: ['missing plaintext to encrypt'] } });
    expect(await post('encrypt/k1', { plaintext: b64('x'), key_version: 5 })).toMatchObject({
      status: 400,
      body: { errors: ['requested version for encryption is higher than the latest key version'] },
    });
    const ct = await encrypt('k1', 'hello');
    expect(await decrypt('k1', '')).toMatchObject({ status: 400, body: { errors: ['missing ciphertext to decrypt'] } });
    expect(await decrypt('k1', ct.slice('vault:'.length))).toMatchObject({ status: 400, body: { errors: ['invalid ciphertext: no prefix'] } });
    expect(await decrypt('k1', 'vault:v1')).toMatchObject({ status: 400, body: { errors: ['invalid ciphertext: wrong number of fields'] } });
    expect(await decrypt('k1', 'vault:vx:AAAA')).toMatchObject({ status: 400, body: { errors: ['invalid ciphertext: version number could not be decoded'] } });
    expect(await decrypt('k1', 'vault:v1:@@@@')).toMatchObject({ status: 400, body: { errors: ['invalid ciphertext: could not decode base64'] } });
    expect(await decrypt('k1', 'vault:v1:AAAA')).toMatchObject({ status: 400, body: { errors: ['invalid ciphertext length'] } });
    const body = Buffer.from(ct.slice('vault:v1:'.length), 'base64');
    body[body.length - 1] ^= 1;
    const tampered = await decrypt('k1', `vault:v1:${body.toString('base64')}`);
    expect(tampered).toMatchObject({ status: 400, body: { errors: ['cipher: message authentication failed'] } });
    expect(tampered.text).not.toContain(b64('hello'));
    expect(await decrypt('nokey', ct)).toMatchObject({ status: 400, body: { errors: ['encryption key not found'] } });
  });

  it('concurrent first encrypts create the key once; a ciphertext does not open under the same name on another mount', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post('encrypt/race', { plaintext: b64(`item ${i}`) })));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect((await call(a, 'GET', 'transit/keys/race', { token })).body.data.keys).toEqual({ '1': expect.any(Number) });
    for (const [i, r] of answers.entries())
      expect(Buffer.from((await decrypt('race', r.body.data.ciphertext)).body.data.plaintext, 'base64').toString()).toBe(`item ${i}`);
    expect((await call(a, 'POST', 'sys/mounts/transit2', { token, body: { type: 'transit' } })).status).toBe(204);
    const other = (await call(a, 'POST', 'transit2/encrypt/race', { token, body: { plaintext: b64('elsewhere') } })).body.data.ciphertext as string;
    expect(await decrypt('race', other)).toMatchObject({ status: 400, body: { errors: ['cipher: message authentication failed'] } });
  });

  it('stores key material as barrier ciphertext, not the raw 32-byte key', async () => {
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const rows = (await db.query("SELECT key_ciphertext FROM transit_key_versions WHERE name = 'k1'")).rows as { key_ciphertext: Buffer }[];
      expect(rows).toHaveLength(1);
      expect(rows[0].key_ciphertext.length).toBeGreaterThan(32);
    } finally {
      await db.end();
    }
  });
});
