/**
 * The HSM gone while unsealed, with a real server process on SoftHSM2: serving goes on from memory;
 * after `sys/seal`, unsealing with the recovery keys needs the HSM to unwrap the root key and fails
 * with a 500 that names the HSM failure (never "invalid key", never the PIN); once the token is back
 * the same recovery keys unseal (the provider reopens the session, re-initialising the library).
 */
import { existsSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, type SoftHsmToken } from '../support/softhsm';
import { until } from '../support/wait';

const PIN = 'outage-pin-5127';
const TOKEN = 'seal-outage';

describeWithSoftHsm('pkcs11 seal: the HSM gone while unsealed (e2e)', () => {
  let token: SoftHsmToken;
  let dir: string;
  let server: ServerProcess | undefined;
  let tokens: string;

  beforeAll(() => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-5127' });
    dir = mkdtempSync(join(tmpdir(), 'secrethub-outage-e2e-'));
    tokens = join(token.dir, 'tokens');
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    if (existsSync(`${tokens}.gone`)) renameSync(`${tokens}.gone`, tokens);
  });

  afterAll(() => token.cleanup());

  function configFile(): string {
    const file = join(dir, 'outage.hcl');
    writeFileSync(
      file,
      `seal "pkcs11" {\n  lib = "${SOFTHSM_LIB}"\n  token_label = "${TOKEN}"\n  pin = "${PIN}"\n  key_label = "outage"\n  generate_key = "true"\n}\n`,
    );
    return file;
  }

  it('serving goes on; unseal fails with a clear 500 naming the HSM while the token is gone, and works once it is back', async () => {
    const url = await createTestDatabase();
    server = await startServerProcess({ databaseUrl: url, args: ['--config', configFile()], env: { SOFTHSM2_CONF: token.conf } });
    const address = server.address;
    const init = await call(address, 'PUT', 'sys/init', { body: { recovery_shares: 3, recovery_threshold: 2 } });
    expect(init.status).toBe(200);
    const root = init.body.root_token as string;
    const recovery = init.body.recovery_keys as string[];
    expect((await call(address, 'GET', 'sys/seal-status')).body.sealed).toBe(false);
    expect((await call(address, 'POST', 'sys/mounts/kv', { token: root, body: { type: 'kv' } })).status).toBe(204);
    expect((await call(address, 'PUT', 'kv/before', { token: root, body: { v: 'written before the outage' } })).status).toBe(204);

    // The token goes away while unsealed: the root key is in memory, reads and writes go on.
    renameSync(tokens, `${tokens}.gone`);
    expect((await call(address, 'GET', 'kv/before', { token: root })).body.data).toEqual({ v: 'written before the outage' });
    expect((await call(address, 'PUT', 'kv/during', { token: root, body: { v: 'written during the outage' } })).status).toBe(204);
    expect((await call(address, 'GET', 'kv/during', { token: root })).body.data).toEqual({ v: 'written during the outage' });

    // sys/seal needs no HSM; unsealing does (the HSM unwraps the root key). The first share only counts.
    expect((await call(address, 'PUT', 'sys/seal', { token: root })).status).toBe(204);
    for (let attempt = 1; attempt <= 2; attempt++) {
      expect((await call(address, 'PUT', 'sys/unseal', { body: { key: recovery[0] } })).body).toMatchObject({ sealed: true, progress: 1 });
      const failed = await call(address, 'PUT', 'sys/unseal', { body: { key: recovery[attempt] } });
      // A 500 naming the HSM (library, token, key) and the PKCS#11 failure: not a 400 "invalid key", not the PIN.
      expect(failed.status).toBe(500);
      expect(failed.body.errors).toHaveLength(1);
      const [message] = failed.body.errors as string[];
      expect(message).toMatch(/^cannot unwrap the root key with the HSM \(library .*libsofthsm2\.so, token "seal-outage", key label "outage"\): .*CKR_/);
      expect(message).not.toMatch(/invalid key/);
      expect(message).not.toContain('\n');
      expect(message).not.toContain(PIN);
      // As in Vault, reaching the threshold uses up the progress: still sealed, progress 0, a new
      // nonce at the next share (the recovery keys were right; the operators submit them again).
      expect((await call(address, 'GET', 'sys/seal-status')).body).toMatchObject({
        sealed: true,
        initialized: true,
        type: 'pkcs11',
        progress: 0,
        nonce: '',
        t: 2,
        n: 3,
      });
    }
    // Sealed, the server refuses data requests with 503 as usual.
    expect((await call(address, 'GET', 'kv/before', { token: root })).status).toBe(503);

    // The token back: the same recovery keys unseal (the provider re-initialises the library and reopens its session).
    renameSync(`${tokens}.gone`, tokens);
    expect((await call(address, 'PUT', 'sys/unseal', { body: { key: recovery[2] } })).body).toMatchObject({ sealed: true, progress: 1 });
    const unsealed = await call(address, 'PUT', 'sys/unseal', { body: { key: recovery[0] } });
    expect(unsealed.status).toBe(200);
    expect(unsealed.body).toMatchObject({ sealed: false, progress: 0 });
    expect((await call(address, 'GET', 'kv/before', { token: root })).body.data).toEqual({ v: 'written before the outage' });
    expect((await call(address, 'GET', 'kv/during', { token: root })).body.data).toEqual({ v: 'written during the outage' });
    expect((await call(address, 'PUT', 'kv/after', { token: root, body: { v: 'written after the outage' } })).status).toBe(204);

    expect(server.output()).not.toContain(PIN);

    // And a restart auto-unseals with the HSM again.
    await server.stop();
    server = await startServerProcess({ databaseUrl: url, args: ['--config', configFile()], env: { SOFTHSM2_CONF: token.conf } });
    await until(async () => (await call(server!.address, 'GET', 'sys/seal-status')).body.sealed === false, 20_000);
    expect((await call(server.address, 'GET', 'kv/after', { token: root })).body.data).toEqual({ v: 'written after the outage' });
    expect(server.output()).not.toContain(PIN);
  }, 120_000);
});
