/**
 * Transit keys of type managed_key over HTTP with a real server process on SoftHSM2: created on a
 * managed AES key (by name and by id), they encrypt and decrypt (single and batch, with associated
 * data) on the token with ciphertexts `vault:v<N>:base64(iv ‖ ct ‖ tag)`, rotate, refuse tampered
 * ciphertexts with a 400, and stop at once when the mount is no longer allowed the managed key. A
 * managed EC key makes a managed_key transit key that does not encrypt but signs and verifies over
 * sign/ and verify/ (the sign paths through the hook). The PIN is in no response
 * and no log line.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../support/database';
import { call, initAndUnseal } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { Client } from 'pg';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, type SoftHsmToken } from '../support/softhsm';

const PIN = 'e2e-transit-mk-7342';
const TOKEN = 'transit-mk-e2e';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describeWithSoftHsm('transit managed_key keys (e2e)', () => {
  let token: SoftHsmToken;
  let server: ServerProcess;
  let rootToken: string;
  let databaseUrl: string;
  const sql = async (text: string) => {
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      await db.query(text);
    } finally {
      await db.end();
    }
  };
  const api = (method: string, path: string, body?: unknown) => call(server.address, method, path, { token: rootToken, body });

  beforeAll(async () => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-7342' });
    const dir = mkdtempSync(join(tmpdir(), 'secrethub-transit-mk-'));
    const config = join(dir, 'server.hcl');
    writeFileSync(config, `kms_library "pkcs11" {\n  name = "softhsm"\n  library = "${SOFTHSM_LIB}"\n}\n`);
    databaseUrl = await createTestDatabase();
    server = await startServerProcess({ databaseUrl, args: ['--config', config], env: { SOFTHSM2_CONF: token.conf } });
    ({ rootToken } = await initAndUnseal(server.address));
    const managed = { library: 'softhsm', token_label: TOKEN, pin: PIN, allow_generate_key: true };
    expect(
      (await api('POST', 'sys/managed-keys/pkcs11/transit-aes', { ...managed, key_label: 'transit-aes', mechanism: '0x1087', usages: 'encrypt,decrypt' }))
        .status,
    ).toBe(204);
    expect((await api('POST', 'sys/managed-keys/pkcs11/transit-ec', { ...managed, key_label: 'transit-ec', mechanism: '0x1041', curve: 'P256' })).status).toBe(
      204,
    );
    expect((await api('POST', 'sys/mounts/transit', { type: 'transit' })).status).toBe(204);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    token?.cleanup();
  });

  it('refuses a managed key the mount may not use, a missing or unknown one, and auto-rotation', async () => {
    const notAllowed = await api('POST', 'transit/keys/hsm-aes', { type: 'managed_key', managed_key_name: 'transit-aes' });
    expect(notAllowed.status).toBe(400);
    expect(notAllowed.body.errors).toEqual([
      'managed key "transit-aes" is not allowed on mount transit/: list it in the mount\'s allowed_managed_keys, or set any_mount on the key',
    ]);
    expect((await api('POST', 'sys/mounts/transit/tune', { allowed_managed_keys: ['transit-aes', 'transit-ec'] })).status).toBe(204);
    const missing = await api('POST', 'transit/keys/hsm-aes', { type: 'managed_key' });
    expect([missing.status, missing.body.errors]).toEqual([400, ['missing argument managed_key_name or managed_key_id']]);
    const both = await api('POST', 'transit/keys/hsm-aes', { type: 'managed_key', managed_key_name: 'transit-aes', managed_key_id: 'x' });
    expect([both.status, both.body.errors]).toEqual([400, ['only one argument of managed_key_name or managed_key_id should be specified']]);
    const unknown = await api('POST', 'transit/keys/hsm-aes', { type: 'managed_key', managed_key_name: 'nope' });
    expect([unknown.status, unknown.body.errors]).toEqual([400, ['no managed key named "nope"']]);
    const rotating = await api('POST', 'transit/keys/hsm-aes', { type: 'managed_key', managed_key_name: 'transit-aes', auto_rotate_period: '24h' });
    expect([rotating.status, rotating.body.errors]).toEqual([400, ['Auto rotation can not be set for managed keys']]);
    expect((await api('GET', 'transit/keys/hsm-aes')).status).toBe(404);
  });

  it('encrypts and decrypts on the token (single, batch, associated data); rotates; refuses tampering; stops when the mount loses the key', async () => {
    const created = await api('POST', 'transit/keys/hsm-aes', { type: 'managed_key', managed_key_name: 'transit-aes' });
    expect(created.status).toBe(200);
    expect(created.body.data).toMatchObject({
      name: 'hsm-aes',
      type: 'managed_key',
      latest_version: 1,
      managed_key_name: 'transit-aes',
      supports_encryption: true,
      supports_decryption: true,
    });
    const managedId = created.body.data.managed_key_id as string;
    expect(managedId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const plaintext = b64('a secret for the HSM');
    const enc = await api('POST', 'transit/encrypt/hsm-aes', { plaintext });
    expect(enc.status).toBe(200);
    const ciphertext = enc.body.data.ciphertext as string;
    expect(ciphertext).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
    // iv (12) ‖ ciphertext (as long as the plaintext) ‖ tag (16).
    expect(Buffer.from(ciphertext.slice('vault:v1:'.length), 'base64')).toHaveLength(12 + 20 + 16);
    expect((await api('POST', 'transit/decrypt/hsm-aes', { ciphertext })).body.data.plaintext).toBe(plaintext);

    const associated_data = b64('row 17');
    const bound = (await api('POST', 'transit/encrypt/hsm-aes', { plaintext, associated_data })).body.data.ciphertext as string;
    expect((await api('POST', 'transit/decrypt/hsm-aes', { ciphertext: bound, associated_data })).body.data.plaintext).toBe(plaintext);
    const wrongAad = await api('POST', 'transit/decrypt/hsm-aes', { ciphertext: bound, associated_data: b64('row 18') });
    expect([wrongAad.status, wrongAad.body.errors]).toEqual([400, ['cipher: message authentication failed']]);
    const raw = Buffer.from(ciphertext.slice('vault:v1:'.length), 'base64');
    raw[14] ^= 1;
    const tampered = await api('POST', 'transit/decrypt/hsm-aes', { ciphertext: `vault:v1:${raw.toString('base64')}` });
    expect([tampered.status, tampered.body.errors]).toEqual([400, ['cipher: message authentication failed']]);

    const batch = await api('POST', 'transit/encrypt/hsm-aes', { batch_input: [{ plaintext }, { plaintext: b64('second') }] });
    expect(batch.status).toBe(200);
    const opened = await api('POST', 'transit/decrypt/hsm-aes', {
      batch_input: batch.body.data.batch_results.map((r: { ciphertext: string }) => ({ ciphertext: r.ciphertext })),
    });
    expect(opened.body.data.batch_results.map((r: { plaintext: string }) => r.plaintext)).toEqual([plaintext, b64('second')]);

    // The same managed key by id: another transit key whose ciphertexts the first one opens (same token key).
    const byId = await api('POST', 'transit/keys/hsm-aes-id', { type: 'managed_key', managed_key_id: managedId });
    expect(byId.status).toBe(200);
    expect(byId.body.data.managed_key_name).toBe('transit-aes');
    const fromId = (await api('POST', 'transit/encrypt/hsm-aes-id', { plaintext })).body.data.ciphertext as string;
    expect((await api('POST', 'transit/decrypt/hsm-aes', { ciphertext: fromId })).body.data.plaintext).toBe(plaintext);

    const rotated = await api('POST', 'transit/keys/hsm-aes/rotate');
    expect(rotated.status).toBe(200);
    expect(rotated.body.data.latest_version).toBe(2);
    const v2 = (await api('POST', 'transit/encrypt/hsm-aes', { plaintext })).body.data.ciphertext as string;
    expect(v2).toMatch(/^vault:v2:/);
    expect((await api('POST', 'transit/decrypt/hsm-aes', { ciphertext })).body.data.plaintext).toBe(plaintext);
    expect((await api('POST', 'transit/decrypt/hsm-aes', { ciphertext: v2 })).body.data.plaintext).toBe(plaintext);
    const elsewhere = await api('POST', 'transit/keys/hsm-aes/rotate', { managed_key_name: 'transit-ec' });
    expect(elsewhere.status).toBe(400);
    const nonce = await api('POST', 'transit/encrypt/hsm-aes', { plaintext, nonce: b64('twelve bytes') });
    expect([nonce.status, nonce.body.errors]).toEqual([400, ['cannot use convergent encryption or provide a nonce to managed-key backed encryption']]);

    // An EC managed key makes a managed_key transit key, which cannot encrypt.
    expect((await api('POST', 'transit/keys/hsm-ec', { type: 'managed_key', managed_key_name: 'transit-ec' })).status).toBe(200);
    const ecEncrypt = await api('POST', 'transit/encrypt/hsm-ec', { plaintext });
    expect(ecEncrypt.status).toBe(400);
    expect(ecEncrypt.body.errors[0]).toMatch(/^managed key "transit-ec" does not allow usage "encrypt"$/);

    // The mount loses the key: the transit key stops at once, with the registry's refusal.
    expect((await api('POST', 'sys/mounts/transit/tune', { allowed_managed_keys: [] })).status).toBe(204);
    const refused = await api('POST', 'transit/decrypt/hsm-aes', { ciphertext });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toContain('managed key "transit-aes" is not allowed on mount transit/');
    expect(server.output()).not.toContain(PIN);
  }, 60_000);
  it('signs and verifies with a managed EC key over HTTP (sign/verify through the hook)', async () => {
    expect((await api('POST', 'sys/mounts/transit/tune', { allowed_managed_keys: ['transit-ec'] })).status).toBe(204);
    const input = b64('a message signed on the token');
    const signed = await api('POST', 'transit/sign/hsm-ec', { input });
    expect(signed.status).toBe(200);
    const signature = signed.body.data.signature as string;
    expect(signature).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
    expect((await api('POST', 'transit/verify/hsm-ec', { input, signature })).body.data.valid).toBe(true);
    expect((await api('POST', 'transit/verify/hsm-ec', { input: b64('another message'), signature })).body.data.valid).toBe(false);
    expect(server.output()).not.toContain(PIN);
  });

  it('health and the summaries show whether the managed key answers on its token', async () => {
    const reasonsOf = async () => ((await api('GET', 'transit/keys/hsm-ec/health')).body.data.reasons as { reason: string }[]).map((r) => r.reason);
    expect(await reasonsOf()).not.toContain('the HSM key is unreachable');
    expect((await api('GET', 'transit/key-summary')).body.data.hsm_unreachable).toEqual([]);
    // The token the key names goes away (the registry row now names a token that is not there).
    await sql("UPDATE managed_keys SET token_label = 'gone-token' WHERE name = 'transit-ec'");
    expect(await reasonsOf()).toContain('the HSM key is unreachable');
    expect((await api('GET', 'transit/key-summary')).body.data.hsm_unreachable).toEqual(['hsm-ec']);
    expect((await api('GET', 'sys/key-management/summary')).body.data.hsm_unreachable).toEqual(['transit/hsm-ec']);
    await sql(`UPDATE managed_keys SET token_label = '${TOKEN}' WHERE name = 'transit-ec'`);
    expect(await reasonsOf()).not.toContain('the HSM key is unreachable');
  });
});
