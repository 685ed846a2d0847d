/**
 * sys/managed-keys/pkcs11 over HTTP with a real server process on SoftHSM2: Vault's payload and
 * read shape, LIST, sudo, the mount tune field allowed_managed_keys, deletion refused while a mount
 * lists the key, test/sign (EC and RSA; 400 without the "sign" usage; 500 with one line while the
 * token is gone, 204 again once it is back, with no restart), and the PIN in no response and no log
 * line.
 */
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../support/database';
import { call, initAndUnseal } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { OpensslWorkspace } from '../support/x509-openssl';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, type SoftHsmToken } from '../support/softhsm';

const PIN = 'e2e-mk-pin-6121';
const TOKEN = 'mk-e2e';

describeWithSoftHsm('managed keys (e2e)', () => {
  let token: SoftHsmToken;
  let server: ServerProcess;
  let rootToken: string;

  beforeAll(async () => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-6121' });
    const dir = mkdtempSync(join(tmpdir(), 'secrethub-mk-e2e-'));
    const config = join(dir, 'server.hcl');
    writeFileSync(config, `kms_library "pkcs11" {\n  name = "softhsm"\n  library = "${SOFTHSM_LIB}"\n}\n`);
    server = await startServerProcess({ databaseUrl: await createTestDatabase(), args: ['--config', config], env: { SOFTHSM2_CONF: token.conf } });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    token?.cleanup();
  });

  it('creates, reads, lists and deletes a key with Vault’s fields; tune allowed_managed_keys guards the delete', async () => {
    const a = server.address;
    ({ rootToken } = await initAndUnseal(a));
    const payload = {
      library: 'softhsm',
      slot: token.slot.toString(),
      pin: PIN,
      key_label: 'hsm-key1',
      mechanism: '0x0001',
      key_bits: '2048',
      allow_generate_key: 'true',
    };
    const created = await call(a, 'POST', 'sys/managed-keys/pkcs11/hsm-key1', { token: rootToken, body: payload });
    expect(created.status).toBe(204);
    const unknownLibrary = await call(a, 'POST', 'sys/managed-keys/pkcs11/other', { token: rootToken, body: { ...payload, library: 'nope' } });
    expect(unknownLibrary.status).toBe(400);
    expect(unknownLibrary.body.errors).toEqual(['library "nope" is not a kms_library of the server configuration']);

    const read = await call(a, 'GET', 'sys/managed-keys/pkcs11/hsm-key1', { token: rootToken });
    expect(read.status).toBe(200);
    expect(read.body.data).toMatchObject({
      name: 'hsm-key1',
      type: 'pkcs11',
      library: 'softhsm',
      slot: Number(token.slot),
      token_label: '',
      pin: 'redacted',
      key_label: 'hsm-key1',
      mechanism: 1,
      key_bits: 2048,
      allow_generate_key: true,
      any_mount: false,
      usages: ['sign', 'verify'],
      reachable: true,
    });
    expect(read.text).not.toContain(PIN);
    expect((await call(a, 'LIST', 'sys/managed-keys/pkcs11', { token: rootToken })).body.data).toEqual({ keys: ['hsm-key1'] });
    expect((await call(a, 'LIST', 'sys/managed-keys/awskms', { token: rootToken })).status).toBe(400);

    // sudo: a token whose policy grants read without sudo is refused.
    const policy = 'path "sys/managed-keys/*" { capabilities = ["read", "list"] }';
    expect((await call(a, 'PUT', 'sys/policies/acl/mk-read', { token: rootToken, body: { policy } })).status).toBe(204);
    const child = await call(a, 'POST', 'auth/token/create', { token: rootToken, body: { policies: ['mk-read'] } });
    expect((await call(a, 'GET', 'sys/managed-keys/pkcs11/hsm-key1', { token: child.body.auth.client_token })).status).toBe(403);

    expect((await call(a, 'POST', 'sys/mounts/kv', { token: rootToken, body: { type: 'kv' } })).status).toBe(204);
    expect((await call(a, 'POST', 'sys/mounts/kv/tune', { token: rootToken, body: { allowed_managed_keys: 'hsm-key1' } })).status).toBe(204);
    const tuned = await call(a, 'GET', 'sys/mounts/kv/tune', { token: rootToken });
    expect(tuned.body.data.allowed_managed_keys).toEqual(['hsm-key1']);
    expect((await call(a, 'GET', 'sys/mounts/kv', { token: rootToken })).body.data.config.allowed_managed_keys).toEqual(['hsm-key1']);

    const refused = await call(a, 'DELETE', 'sys/managed-keys/pkcs11/hsm-key1', { token: rootToken });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toContain('allowed_managed_keys of kv/');
    expect((await call(a, 'POST', 'sys/mounts/kv/tune', { token: rootToken, body: { allowed_managed_keys: [] } })).status).toBe(204);
    expect((await call(a, 'DELETE', 'sys/managed-keys/pkcs11/hsm-key1', { token: rootToken })).status).toBe(204);
    expect((await call(a, 'GET', 'sys/managed-keys/pkcs11/hsm-key1', { token: rootToken })).status).toBe(404);

    const sanitized = await call(a, 'GET', 'sys/config/state/sanitized', { token: rootToken });
    expect(sanitized.body.data.kms_library).toEqual([{ type: 'pkcs11', name: 'softhsm', library: SOFTHSM_LIB }]);
    expect(server.output()).not.toContain(PIN);
  }, 60_000);

  it('test/sign: EC (generated) and RSA keys sign and verify (204); no "sign" usage → 400; a token outage → 500, then 204 again', async () => {
    const a = server.address;
    const base = { library: 'softhsm', token_label: TOKEN, pin: PIN, allow_generate_key: true };
    const post = (path: string, body?: Record<string, unknown>) => call(a, 'POST', `sys/managed-keys/pkcs11/${path}`, { token: rootToken, body });
    expect((await post('ec-key', { ...base, key_label: 'ec-key', mechanism: '0x1041', curve: 'P384' })).status).toBe(204);
    expect((await post('rsa-key', { ...base, key_label: 'rsa-key', mechanism: '0x0001', key_bits: 2048 })).status).toBe(204);
    expect((await call(a, 'GET', 'sys/managed-keys/pkcs11/ec-key', { token: rootToken })).body.data).toMatchObject({ curve: 'P384', reachable: true });
    expect((await post('ec-key/test/sign')).status).toBe(204);
    expect((await post('rsa-key/test/sign')).status).toBe(204);

    expect((await post('enc-only', { ...base, allow_generate_key: false, key_label: 'rsa-key', mechanism: '0x0009', usages: 'encrypt,decrypt' })).status).toBe(
      204,
    );
    const refused = await post('enc-only/test/sign');
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual(['managed key "enc-only" does not allow usage "sign"']);

    const tokens = join(token.dir, 'tokens');
    renameSync(tokens, `${tokens}.away`);
    try {
      const down = await post('ec-key/test/sign');
      expect(down.status).toBe(500);
      expect(down.body.errors).toEqual([expect.stringMatching(/^the managed key "ec-key" is unavailable: [^\n]+$/)]);
      expect(down.text).not.toContain(PIN);
      // A gone token is not an empty one: no key is generated in its place.
      expect(down.body.errors[0]).not.toContain('generating');
    } finally {
      renameSync(`${tokens}.away`, tokens);
    }
    expect((await post('ec-key/test/sign')).status).toBe(204);
    expect((await post('rsa-key/test/sign')).status).toBe(204);
    expect(server.output()).not.toContain(PIN);
  }, 60_000);
  it('PKI over HTTP: a root on a managed EC key (root/generate/kms) issues a leaf that openssl verifies; the mount must be allowed', async () => {
    const a = server.address;
    const key = { library: 'softhsm', token_label: TOKEN, pin: PIN, allow_generate_key: true, key_label: 'pki-root', mechanism: '0x1041', curve: 'P256' };
    expect((await call(a, 'POST', 'sys/managed-keys/pkcs11/pki-root', { token: rootToken, body: key })).status).toBe(204);
    expect((await call(a, 'POST', 'sys/mounts/pki-hsm', { token: rootToken, body: { type: 'pki' } })).status).toBe(204);
    const body = { common_name: 'HSM Root', ttl: '87600h', managed_key_name: 'pki-root' };
    const refused = await call(a, 'POST', 'pki-hsm/root/generate/kms', { token: rootToken, body });
    expect(refused.status).toBe(400);
    expect((await call(a, 'POST', 'sys/mounts/pki-hsm/tune', { token: rootToken, body: { allowed_managed_keys: ['pki-root'] } })).status).toBe(204);
    const root = await call(a, 'POST', 'pki-hsm/root/generate/kms', { token: rootToken, body });
    expect(root.status).toBe(200);
    expect(root.body.data).not.toHaveProperty('private_key');
    const role = { allowed_domains: ['example.com'], allow_subdomains: true, key_type: 'ec', key_bits: 256, ttl: '1h' };
    expect((await call(a, 'POST', 'pki-hsm/roles/web', { token: rootToken, body: role })).status).toBe(204);
    const leaf = await call(a, 'POST', 'pki-hsm/issue/web', { token: rootToken, body: { common_name: 'svc.example.com' } });
    expect(leaf.status).toBe(200);
    const ws = new OpensslWorkspace();
    const verified = ws.run(['verify', '-CAfile', ws.file('root.pem', root.body.data.certificate), ws.file('leaf.pem', leaf.body.data.certificate)]);
    expect(verified).toMatchObject({ status: 0 });
    expect(verified.output).toContain('OK');
    expect(server.output()).not.toContain(PIN);
  }, 60_000);
});
