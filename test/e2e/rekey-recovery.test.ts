/**
 * Rekey under the PKCS#11 seal over HTTP (SoftHSM2): the shapes of sys/rekey-recovery-key/* and of
 * sys/rekey (root key replaced, no keys), sudo on init, PGP/backup refusals, and a restart that
 * auto-unseals with the new root key and serves data written before.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, type SoftHsmToken } from '../support/softhsm';
import { until } from '../support/wait';

const PIN = 'e2e-rekeyrec-pin-6603';
const TOKEN = 'rekeyrec-e2e';

describeWithSoftHsm('rekey under the pkcs11 seal (e2e)', () => {
  let token: SoftHsmToken;
  let server: ServerProcess | undefined;
  let config: string;

  beforeAll(() => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-6603' });
    config = join(mkdtempSync(join(tmpdir(), 'secrethub-rekeyrec-e2e-')), 'pkcs11.hcl');
    writeFileSync(
      config,
      `seal "pkcs11" {\n  lib = "${SOFTHSM_LIB}"\n  token_label = "${TOKEN}"\n  pin = "${PIN}"\n  key_label = "root"\n  generate_key = "true"\n}\n`,
    );
  });

  afterAll(async () => {
    await server?.stop();
    token.cleanup();
  });

  const start = (databaseUrl: string) => startServerProcess({ databaseUrl, args: ['--config', config], env: { SOFTHSM2_CONF: token.conf } });

  it('sys/rekey-recovery-key and sys/rekey answer Vault shapes; after a restart the new root key auto-unseals', async () => {
    const url = await createTestDatabase();
    server = await start(url);
    const a = server.address;
    const init = await call(a, 'PUT', 'sys/init', { body: { recovery_shares: 3, recovery_threshold: 2 } });
    const root = init.body.root_token as string;
    const recovery = init.body.recovery_keys as string[];
    expect((await call(a, 'POST', 'sys/mounts/kv', { token: root, body: { type: 'kv' } })).status).toBe(204);
    expect((await call(a, 'PUT', 'kv/app', { token: root, body: { password: 'before' } })).status).toBe(204);

    // Recovery key rekey.
    expect((await call(a, 'PUT', 'sys/rekey-recovery-key/init', { body: { secret_shares: 2, secret_threshold: 2 } })).status).toBe(403);
    const pgp = await call(a, 'PUT', 'sys/rekey-recovery-key/init', { token: root, body: { secret_shares: 2, secret_threshold: 2, pgp_keys: ['a', 'b'] } });
    expect(pgp.status).toBe(400);
    const started = await call(a, 'PUT', 'sys/rekey-recovery-key/init', { token: root, body: { secret_shares: 2, secret_threshold: 2 } });
    expect(started.status).toBe(200);
    const nonce = started.body.nonce as string;
    expect(started.body).toEqual({
      nonce,
      started: true,
      t: 2,
      n: 2,
      progress: 0,
      required: 2,
      pgp_fingerprints: null,
      backup: false,
      verification_required: false,
    });
    expect((await call(a, 'PUT', 'sys/rekey-recovery-key/update', { body: { key: recovery[0], nonce } })).body).toMatchObject({ progress: 1 });
    const done = await call(a, 'PUT', 'sys/rekey-recovery-key/update', { body: { key: recovery[2], nonce } });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ nonce, complete: true, pgp_fingerprints: null, backup: false, verification_required: false });
    const newRecovery = done.body.keys as string[];
    expect(newRecovery).toHaveLength(2);
    expect(done.body.keys_base64).toHaveLength(2);
    expect((await call(a, 'GET', 'sys/seal-status')).body).toMatchObject({ t: 2, n: 2 });
    expect((await call(a, 'GET', 'sys/rekey-recovery-key/verify')).body.errors).toEqual(['no rekey verification in progress']);

    // Barrier rekey: authorised by the new recovery shares, rotates the root key, returns no keys.
    const backup = await call(a, 'PUT', 'sys/rekey/init', { token: root, body: { backup: true } });
    expect(backup.body.errors).toEqual(['key backup not supported when using stored keys']);
    const pgpBarrier = await call(a, 'PUT', 'sys/rekey/init', { token: root, body: { pgp_keys: ['k'] } });
    expect(pgpBarrier.body.errors).toEqual(['PGP key encryption not supported when using stored keys']);
    const rk = await call(a, 'PUT', 'sys/rekey/init', { token: root, body: { secret_shares: 3, secret_threshold: 2 } });
    expect(rk.body).toMatchObject({ started: true, t: 1, n: 1, required: 2 });
    const rkNonce = rk.body.nonce as string;
    const wrong = await call(a, 'PUT', 'sys/rekey/update', { body: { key: recovery[0], nonce: rkNonce } });
    expect(wrong.status).toBe(200);
    const refused = await call(a, 'PUT', 'sys/rekey/update', { body: { key: recovery[1], nonce: rkNonce } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual(['recovery key verification failed: recovery key does not match submitted values']);
    await call(a, 'PUT', 'sys/rekey/update', { body: { key: newRecovery[1], nonce: rkNonce } });
    const rotated = await call(a, 'PUT', 'sys/rekey/update', { body: { key: newRecovery[0], nonce: rkNonce } });
    expect(rotated.body).toEqual({
      nonce: rkNonce,
      complete: true,
      keys: [],
      keys_base64: [],
      pgp_fingerprints: null,
      backup: false,
      verification_required: false,
    });
    expect((await call(a, 'GET', 'kv/app', { token: root })).body.data).toEqual({ password: 'before' });

    await server.stop();
    server = await start(url);
    await until(async () => (await call(server!.address, 'GET', 'sys/seal-status')).body.sealed === false, 20_000);
    expect((await call(server.address, 'GET', 'kv/app', { token: root })).body.data).toEqual({ password: 'before' });
  }, 120_000);
});
