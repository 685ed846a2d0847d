/**
 * Transit over HTTP for every key type and option of the foundation: key reads in Vault's shape per
 * type, encrypt/decrypt for AES-128/256-GCM, ChaCha20-Poly1305 and RSA-OAEP, derived keys and
 * their context, convergent encryption, associated data, batch_input with per-item errors and
 * Vault's status rules, upsert needing `create` capability, config's one-way flags.
 */
import fc from 'fast-check';
import { createPublicKey, constants, publicEncrypt } from 'node:crypto';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const text = (s: string) => Buffer.from(s, 'base64').toString('utf8');

describe('transit key types and options (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  const token = 'hvs.transittypesroot';
  const post = (path: string, body: unknown = {}, as = token) => call(a, 'POST', `transit/${path}`, { token: as, body });
  const read = async (name: string, query = '') => (await call(a, 'GET', `transit/keys/${name}${query}`, { token })).body.data;

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    server = await startServerProcess({ databaseUrl, args: ['--dev', '--dev-root-token-id', token], readyText: 'should NOT be used' });
    a = server.address;
    expect((await call(a, 'POST', 'sys/mounts/transit', { token, body: { type: 'transit' } })).status).toBe(204);
  });
  afterAll(async () => server?.stop());

  it('creates every key type with Vault’s read shape: creation times for AEAD keys, named public keys for signing keys, none for hmac', async () => {
    for (const type of ['aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305']) {
      const r = await post(`keys/t-${type}`, { type });
      expect(r.status).toBe(200);
      expect(r.body.data).toMatchObject({
        type,
        supports_encryption: true,
        supports_signing: false,
        supports_derivation: true,
        keys: { '1': expect.any(Number) },
      });
    }
    const names: Record<string, string> = { 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384', 'ecdsa-p521': 'P-521', 'rsa-2048': 'rsa-2048', ed25519: 'ed25519' };
    for (const [type, name] of Object.entries(names)) {
      const data = (await post(`keys/t-${type}`, { type })).body.data;
      expect(data).toMatchObject({ type, supports_signing: true, latest_version: 1 });
      const v1 = data.keys['1'];
      expect(v1).toMatchObject({ name, certificate_chain: '' });
      expect(Math.abs(Date.parse(v1.creation_time) - Date.now())).toBeLessThan(60_000);
      if (type === 'ed25519') expect(Buffer.from(v1.public_key, 'base64')).toHaveLength(32);
      else expect(createPublicKey(v1.public_key).type).toBe('public');
    }
    const hmac = (await post('keys/t-hmac', { type: 'hmac', key_size: 64 })).body.data;
    expect(hmac).toMatchObject({ type: 'hmac', key_size: 64, supports_encryption: false, supports_signing: false, supports_derivation: false });
    expect(hmac.keys).toBeUndefined();
  });

  it('encrypts and decrypts with AES-128, AES-256, ChaCha20-Poly1305 and RSA-OAEP (SHA-256), each version separately', async () => {
    for (const type of ['aes128-gcm96', 'chacha20-poly1305', 'rsa-2048']) {
      const name = `t-${type}`;
      const v1 = (await post(`encrypt/${name}`, { plaintext: b64(`one ${type}`) })).body.data.ciphertext as string;
      await post(`keys/${name}/rotate`);
      const v2 = (await post(`encrypt/${name}`, { plaintext: b64(`two ${type}`) })).body.data.ciphertext as string;
      expect(v1).toMatch(/^vault:v1:/);
      expect(v2).toMatch(/^vault:v2:/);
      expect(text((await post(`decrypt/${name}`, { ciphertext: v1 })).body.data.plaintext)).toBe(`one ${type}`);
      expect(text((await post(`decrypt/${name}`, { ciphertext: v2 })).body.data.plaintext)).toBe(`two ${type}`);
    }
    // RSA: OAEP with SHA-256 under the key read's public key decrypts here (how other clients encrypt to it).
    const pem = (await read('t-rsa-2048')).keys['2'].public_key as string;
    const outside = publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from('from outside'));
    expect(text((await post('decrypt/t-rsa-2048', { ciphertext: `vault:v2:${outside.toString('base64')}` })).body.data.plaintext)).toBe('from outside');
    for (const type of ['ed25519', 'ecdsa-p256', 'hmac']) {
      expect(await post(`encrypt/t-${type}`, { plaintext: b64('x') })).toMatchObject({
        status: 400,
        body: { errors: [`message encryption not supported for key type ${type}`] },
      });
    }
  });

  it('property: decrypt ∘ encrypt is the identity for every encrypting type and version; moved to another key of the type it fails', async () => {
    const types = ['aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305', 'rsa-2048'];
    for (const type of types) {
      await post(`keys/prop-${type}`, { type });
      await post(`keys/prop-${type}/rotate`);
      await post(`keys/prop2-${type}`, { type });
    }
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...types), fc.uint8Array({ maxLength: 150 }), fc.constantFrom(1, 2), async (type, bytes, version) => {
        const plaintext = Buffer.from(bytes).toString('base64');
        const e = await post(`encrypt/prop-${type}`, { plaintext, key_version: version });
        expect(e.body.data.key_version).toBe(version);
        expect((await post(`decrypt/prop-${type}`, { ciphertext: e.body.data.ciphertext })).body.data.plaintext).toBe(plaintext);
        const moved = await post(`decrypt/prop2-${type}`, { ciphertext: e.body.data.ciphertext.replace(`vault:v${version}:`, 'vault:v1:') });
        expect(moved.status).toBe(400);
        if (plaintext.length > 8) expect(moved.text).not.toContain(plaintext);
      }),
      { numRuns: 40 },
    );
  });

  it('derived keys need their context; encrypt creates a derived key when a context is given; ed25519 shows derived public keys per context', async () => {
    const ctxA = b64('tenant-a');
    const made = await post('encrypt/derived', { plaintext: b64('per tenant'), context: ctxA });
    expect(made.status).toBe(200);
    expect(await read('derived')).toMatchObject({ derived: true, kdf: 'hkdf_sha256', convergent_encryption: false });
    const ct = made.body.data.ciphertext;
    expect(text((await post('decrypt/derived', { ciphertext: ct, context: ctxA })).body.data.plaintext)).toBe('per tenant');
    expect(await post('decrypt/derived', { ciphertext: ct, context: b64('tenant-b') })).toMatchObject({
      status: 400,
      body: { errors: ['cipher: message authentication failed'] },
    });
    const missing = await post('decrypt/derived', { ciphertext: ct });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0]).toMatch(/^missing 'context' for key derivation/);
    expect(await post('decrypt/derived', { ciphertext: ct, context: 'not base64!' })).toMatchObject({
      status: 400,
      body: { errors: ['illegal base64 data at input byte 3'] },
    });

    await post('keys/ed-derived', { type: 'ed25519', derived: true });
    expect((await read('ed-derived')).keys['1'].public_key).toBe('');
    const forA = (await read('ed-derived', `?context=${encodeURIComponent(ctxA)}`)).keys['1'].public_key;
    const forB = (await read('ed-derived', `?context=${encodeURIComponent(b64('tenant-b'))}`)).keys['1'].public_key;
    expect(Buffer.from(forA, 'base64')).toHaveLength(32);
    expect(forA).not.toBe(forB);
  });

  it('convergent keys give the same ciphertext for the same plaintext and context, and differ across contexts', async () => {
    const created = await post('keys/conv', { derived: true, convergent_encryption: true });
    expect(created.body.data).toMatchObject({ convergent_encryption: true, convergent_encryption_version: -1 });
    const enc = async (plain: string, context: string) => (await post('encrypt/conv', { plaintext: b64(plain), context: b64(context) })).body.data.ciphertext;
    expect(await enc('same', 'c1')).toBe(await enc('same', 'c1'));
    expect(await enc('same', 'c1')).not.toBe(await enc('same', 'c2'));
    expect(await enc('same', 'c1')).not.toBe(await enc('other', 'c1'));
    expect(await post('encrypt/conv', { plaintext: b64('x'), context: b64('c1'), nonce: b64('twelve bytes') })).toMatchObject({
      status: 400,
      body: { errors: ['provided nonce not allowed for this key'] },
    });
    expect(await post('encrypt/newconv', { plaintext: b64('x'), convergent_encryption: true })).toMatchObject({
      status: 400,
      body: { errors: ['convergent encryption requires derivation to be enabled, so context is required'] },
    });
  });

  it('associated data is authenticated: decrypt needs the same; non-AEAD types refuse it', async () => {
    const ad = b64('row 17');
    const ct = (await post('encrypt/t-aes256-gcm96', { plaintext: b64('bound'), associated_data: ad })).body.data.ciphertext;
    expect(text((await post('decrypt/t-aes256-gcm96', { ciphertext: ct, associated_data: ad })).body.data.plaintext)).toBe('bound');
    expect((await post('decrypt/t-aes256-gcm96', { ciphertext: ct, associated_data: b64('row 18') })).status).toBe(400);
    expect((await post('decrypt/t-aes256-gcm96', { ciphertext: ct })).status).toBe(400);
    expect(await post('encrypt/t-rsa-2048', { plaintext: b64('x'), associated_data: ad })).toMatchObject({
      status: 400,
      body: { errors: ["'[0].associated_data' provided for non-AEAD cipher suite rsa-2048"] },
    });
  });

  it('batch_input: results in order with references; a failed item is reported alone and the batch answers 400 (or partial_failure_response_code)', async () => {
    const good = await post('encrypt/batch', {
      batch_input: [
        { plaintext: b64('a'), reference: 'r1' },
        { plaintext: b64('b'), reference: 'r2' },
      ],
    });
    expect(good.status).toBe(200);
    expect(good.body.data.batch_results).toEqual([
      { ciphertext: expect.stringMatching(/^vault:v1:/), key_version: 1, reference: 'r1' },
      { ciphertext: expect.stringMatching(/^vault:v1:/), key_version: 1, reference: 'r2' },
    ]);
    const [c1, c2] = good.body.data.batch_results.map((r: { ciphertext: string }) => r.ciphertext);
    const mixed = await post('decrypt/batch', {
      batch_input: [{ ciphertext: c1, reference: 'x' }, { ciphertext: 'vault:v9:AAAA', reference: 'y' }, { ciphertext: c2 }],
    });
    expect(mixed.status).toBe(400);
    expect(mixed.body.data.batch_results).toEqual([
      { plaintext: b64('a'), reference: 'x' },
      { error: 'invalid ciphertext: version is too new', reference: 'y' },
      { plaintext: b64('b'), reference: '' },
    ]);
    expect(mixed.body.errors).toEqual(['1 of 3 batch items failed']);
    const partial = await post('decrypt/batch', { batch_input: [{ ciphertext: c1 }, { ciphertext: 'nope' }], partial_failure_response_code: 207 });
    expect(partial.status).toBe(207);
    expect(partial.body.data.batch_results[1]).toEqual({ error: 'invalid ciphertext: no prefix', reference: '' });
    const secret = 'super-secret%%';
    const badItem = await post('encrypt/batch', { batch_input: [{ plaintext: secret }, { plaintext: b64('fine') }] });
    expect(badItem.status).toBe(400);
    expect(badItem.body.data.batch_results[0]).toEqual({ error: 'illegal base64 data at input byte 5', reference: '' });
    expect(badItem.text).not.toContain('super-secret');
    expect(await post('encrypt/batch', { batch_input: [] })).toMatchObject({ status: 400, body: { errors: ['missing batch input to process'] } });
    expect((await post('encrypt/batch', { batch_input: 'x' })).status).toBe(400);
    expect(await post('encrypt/batch', { batch_input: [{ plaintext: 5 }] })).toMatchObject({
      status: 400,
      body: { errors: ["'[0].plaintext' expected type 'string', got unconvertible type 'json.Number'"] },
    });
    expect(await post('encrypt/batch', { batch_input: [{ plaintext: b64('a'), context: b64('c') }, { plaintext: b64('b') }] })).toMatchObject({
      status: 400,
      body: { errors: ['context should be set either in all the request blocks or in none'] },
    });
  });

  it('a batch mixing key versions: each item under its own version, out-of-range versions failing alone', async () => {
    await post('keys/versions');
    await post('keys/versions/rotate');
    await post('keys/versions/rotate');
    expect((await post('keys/versions/config', { min_encryption_version: 2 })).status).toBe(200);
    const res = await post('encrypt/versions', {
      batch_input: [
        { plaintext: b64('latest') },
        { plaintext: b64('two'), key_version: 2 },
        { plaintext: b64('one'), key_version: 1 },
        { plaintext: b64('nine'), key_version: 9 },
        { plaintext: b64('three'), key_version: 3, reference: 'r' },
      ],
      partial_failure_response_code: 207,
    });
    expect(res.status).toBe(207);
    expect(res.body.data.batch_results).toEqual([
      { ciphertext: expect.stringMatching(/^vault:v3:/), key_version: 3, reference: '' },
      { ciphertext: expect.stringMatching(/^vault:v2:/), key_version: 2, reference: '' },
      { error: 'requested version for encryption is less than the minimum encryption key version', reference: '' },
      { error: 'requested version for encryption is higher than the latest key version', reference: '' },
      { ciphertext: expect.stringMatching(/^vault:v3:/), key_version: 3, reference: 'r' },
    ]);
    const opened = await post('decrypt/versions', {
      batch_input: [0, 1, 4].map((i) => ({ ciphertext: res.body.data.batch_results[i].ciphertext })),
    });
    expect(opened.body.data.batch_results.map((r: { plaintext: string }) => text(r.plaintext))).toEqual(['latest', 'two', 'three']);
  });

  it('encrypting to a missing key needs `create` capability; `update` alone is refused and creates nothing', async () => {
    const policy = 'path "transit/encrypt/*" { capabilities = ["update"] }';
    expect((await call(a, 'POST', 'sys/policies/acl/enc-update', { token, body: { policy } })).status).toBe(204);
    const child = (await call(a, 'POST', 'auth/token/create', { token, body: { policies: ['enc-update'] } })).body.auth.client_token as string;
    expect((await post('encrypt/t-aes256-gcm96', { plaintext: b64('ok') }, child)).status).toBe(200);
    expect((await post('encrypt/not-yet', { plaintext: b64('no') }, child)).status).toBe(403);
    expect((await call(a, 'GET', 'transit/keys/not-yet', { token })).status).toBe(404);
  });

  it('config: exportable and allow_plaintext_backup stay set once set; min versions are checked against each other', async () => {
    await post('keys/cfg', { exportable: true });
    expect((await post('keys/cfg/config', { exportable: false, allow_plaintext_backup: true })).body.data).toMatchObject({
      exportable: true,
      allow_plaintext_backup: true,
    });
    expect((await post('keys/cfg/config', { allow_plaintext_backup: false })).body.data.allow_plaintext_backup).toBe(true);
    expect((await post('keys/cfg/config', { auto_rotate_period: '90m' })).body.data.auto_rotate_period).toBe(5400);
    expect(await post('keys/cfg/config', { auto_rotate_period: '10m' })).toMatchObject({
      status: 400,
      body: { errors: ['auto rotate period must be 0 to disable or at least an hour'] },
    });
    expect((await post('keys/cfg/config', { min_decryption_version: 0 })).body.warnings).toEqual([
      'since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1',
    ]);
    expect(await post('keys/absent/config', { deletion_allowed: true })).toMatchObject({
      status: 400,
      body: { errors: ['no existing key named absent could be found'] },
    });
  });
});
