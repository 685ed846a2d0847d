/**
 * The PKCS#11 seal over HTTP with real server processes on SoftHSM2: `sys/init` with recovery keys,
 * a restart that serves with no operator action, a wrong PIN (sealed, seal-status answers, the log
 * says why without the PIN), and the token deleted while unsealed (serving goes on from memory).
 */
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../support/database';
import { runCli } from '../support/cli';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, type SoftHsmToken } from '../support/softhsm';
import { until } from '../support/wait';

const PIN = 'e2e-hsm-pin-3390';
const TOKEN = 'seal-e2e';

describeWithSoftHsm('pkcs11 seal (e2e)', () => {
  let token: SoftHsmToken;
  let dir: string;
  let server: ServerProcess | undefined;

  beforeAll(() => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-3390' });
    dir = mkdtempSync(join(tmpdir(), 'secrethub-seal-e2e-'));
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  afterAll(() => token.cleanup());

  function configFile(name: string, pin: string): string {
    const file = join(dir, `${name}.hcl`);
    writeFileSync(
      file,
      `seal "pkcs11" {\n  lib = "${SOFTHSM_LIB}"\n  token_label = "${TOKEN}"\n  pin = "${pin}"\n  key_label = "${name}"\n  generate_key = "true"\n}\n`,
    );
    return file;
  }

  const start = (databaseUrl: string, config: string) => startServerProcess({ databaseUrl, args: ['--config', config], env: { SOFTHSM2_CONF: token.conf } });

  async function sealed(address: string): Promise<boolean> {
    return (await call(address, 'GET', 'sys/seal-status')).body.sealed as boolean;
  }

  it('init returns recovery keys; after a restart the server serves with no operator action', async () => {
    const url = await createTestDatabase();
    const config = configFile('restart', PIN);
    server = await start(url, config);
    const before = await call(server.address, 'GET', 'sys/seal-status');
    expect(before.body).toMatchObject({ type: 'pkcs11', initialized: false, sealed: true, recovery_seal: true, recovery_seal_type: 'shamir' });

    const refused = await call(server.address, 'PUT', 'sys/init', { body: { secret_shares: 5, secret_threshold: 3 } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual(['parameters secret_shares,secret_threshold not applicable to seal type pkcs11']);

    const init = await call(server.address, 'PUT', 'sys/init', { body: { recovery_shares: 3, recovery_threshold: 2 } });
    expect(init.status).toBe(200);
    expect(init.body.keys).toEqual([]);
    expect(init.body.keys_base64).toEqual([]);
    expect(init.body.recovery_keys).toHaveLength(3);
    expect(init.body.recovery_keys_base64).toHaveLength(3);
    const root = init.body.root_token as string;
    expect(await sealed(server.address)).toBe(false);
    expect((await call(server.address, 'POST', 'sys/mounts/kv', { token: root, body: { type: 'kv' } })).status).toBe(204);
    expect((await call(server.address, 'PUT', 'kv/app', { token: root, body: { password: 'from-before-the-restart' } })).status).toBe(204);
    expect(server.output()).not.toContain(PIN);

    await server.stop();
    server = await start(url, config);
    await until(async () => !(await sealed(server!.address)), 20_000);
    const read = await call(server.address, 'GET', 'kv/app', { token: root });
    expect(read.body.data).toEqual({ password: 'from-before-the-restart' });
    expect(await call(server.address, 'GET', 'sys/seal-status').then((r) => r.body)).toMatchObject({ t: 2, n: 3, type: 'pkcs11' });

    // The token deleted while unsealed: the root key is in memory, serving goes on.
    const tokens = join(token.dir, 'tokens');
    renameSync(tokens, `${tokens}.gone`);
    try {
      expect((await call(server.address, 'GET', 'kv/app', { token: root })).status).toBe(200);
      expect((await call(server.address, 'PUT', 'kv/app2', { token: root, body: { a: 'b' } })).status).toBe(204);
    } finally {
      renameSync(`${tokens}.gone`, tokens);
    }
    expect(server.output()).not.toContain(PIN);
  }, 120_000);

  it('a wrong PIN: the server starts sealed, seal-status answers, and the log says why on each retry without the PIN', async () => {
    const url = await createTestDatabase();
    server = await start(url, configFile('pin', PIN));
    expect((await call(server.address, 'PUT', 'sys/init', { body: { recovery_shares: 1, recovery_threshold: 1 } })).status).toBe(200);
    await server.stop();

    const wrongPin = 'wrong-pin-8812';
    server = await start(url, configFile('pin', wrongPin));
    await until(async () => (server!.output().match(/auto-unseal failed/g) ?? []).length >= 2, 20_000);
    expect(await call(server.address, 'GET', 'sys/seal-status').then((r) => r.body)).toMatchObject({ initialized: true, sealed: true, type: 'pkcs11' });
    const line = server
      .output()
      .split('\n')
      .find((l) => l.includes('auto-unseal failed'));
    expect(line).toMatch(/PIN/);
    expect(server.output()).not.toContain(wrongPin);
  }, 120_000);
  it('the CLI: operator init asks for recovery keys, status shows the recovery seal, unseal takes recovery keys after a seal', async () => {
    const url = await createTestDatabase();
    server = await start(url, configFile('cli', PIN));
    const env = { VAULT_ADDR: server.address };
    const init = await runCli(['operator', 'init', '-recovery-shares=3', '-recovery-threshold=2', '-format=json'], env);
    expect(init.code).toBe(0);
    const out = JSON.parse(init.stdout);
    expect(out).toMatchObject({ unseal_keys_b64: [], unseal_shares: 1, recovery_keys_shares: 3, recovery_keys_threshold: 2 });
    expect(out.recovery_keys_b64).toHaveLength(3);
    const status = await runCli(['status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/Seal Type\s+pkcs11/);
    expect(status.stdout).toMatch(/Recovery Seal Type\s+shamir/);
    expect((await runCli(['operator', 'seal'], { ...env, VAULT_TOKEN: out.root_token })).code).toBe(0);
    expect((await runCli(['operator', 'unseal', out.recovery_keys_b64[0]], env)).stdout).toMatch(/Unseal Progress\s+1\/2/);
    expect((await runCli(['operator', 'unseal', out.recovery_keys_b64[2]], env)).stdout).toMatch(/Sealed\s+false/);

    // generate-root with recovery keys: a new root token, OTP-encoded, decoded by the CLI.
    const attempt = await call(server.address, 'PUT', 'sys/generate-root/attempt', { body: {} });
    expect(attempt.body).toMatchObject({ started: true, required: 2, otp_length: 28 });
    const { nonce, otp } = attempt.body as { nonce: string; otp: string };
    await call(server.address, 'PUT', 'sys/generate-root/update', { body: { nonce, key: out.recovery_keys_b64[1] } });
    const done = await call(server.address, 'PUT', 'sys/generate-root/update', { body: { nonce, key: out.recovery_keys_b64[0] } });
    expect(done.body).toMatchObject({ complete: true });
    const decoded = await runCli(['operator', 'generate-root', `-decode=${done.body.encoded_token}`, `-otp=${otp}`], env);
    const newRoot = decoded.stdout.trim();
    expect(newRoot).toMatch(/^hvs\./);
    expect((await call(server.address, 'GET', 'auth/token/lookup-self', { token: newRoot })).body.data.policies).toEqual(['root']);
  }, 120_000);
  it('without the pkcs11js binding, a seal "pkcs11" stanza stops start-up with one message; without the stanza the server starts', async () => {
    const block = join(dir, 'block-pkcs11js.js');
    writeFileSync(
      block,
      `const Module = require('module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'pkcs11js') throw Object.assign(new Error("Cannot find module 'pkcs11js'"), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};
`,
    );
    const env = { SOFTHSM2_CONF: token.conf, NODE_OPTIONS: `--require ${block}` };
    const url = await createTestDatabase();
    const failed = await startServerProcess({ databaseUrl: url, args: ['--config', configFile('nobinding', PIN)], env }).then(
      () => '',
      (err: Error) => err.message,
    );
    expect(failed).toMatch(/seal "pkcs11": the PKCS#11 binding \(pkcs11js\) is not installed or could not be built/);
    expect(failed).not.toContain(PIN);
    server = await startServerProcess({ databaseUrl: url, env });
    expect((await call(server.address, 'GET', 'sys/seal-status')).body).toMatchObject({ type: 'shamir', initialized: false });
  }, 120_000);
});
