/**
 * sys/generate-root over HTTP (Shamir seal) and `secrethub operator generate-root`: Vault's wire
 * shapes and error texts, OTP decoding, the new token working as root, progress reset on a wrong
 * share and at seal, and the listener flag that puts start/cancel behind a sudo token.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRootToken } from '../../src/crypto/root-token-otp';
import { runCli } from '../support/cli';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

const IDLE = {
  nonce: '',
  started: false,
  progress: 0,
  required: 2,
  complete: false,
  encoded_token: '',
  encoded_root_token: '',
  pgp_fingerprint: '',
  otp: '',
  otp_length: 28,
};

/** Inits 3 shares / threshold 2 and unseals. */
async function initShamir(a: string): Promise<{ keys: string[]; keysB64: string[]; rootToken: string }> {
  const init = (await call(a, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 2 } })).body;
  await call(a, 'PUT', 'sys/unseal', { body: { key: init.keys[0] } });
  expect((await call(a, 'PUT', 'sys/unseal', { body: { key: init.keys[1] } })).body.sealed).toBe(false);
  return { keys: init.keys, keysB64: init.keys_base64, rootToken: init.root_token };
}

describe('sys/generate-root (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  let keys: string[];
  let keysB64: string[];
  let rootToken: string;

  beforeAll(async () => {
    server = await startServerProcess({ databaseUrl: await createTestDatabase() });
    a = server.address;
    ({ keys, keysB64, rootToken } = await initShamir(a));
  });
  afterAll(async () => server?.stop());

  it('status, start with a server-made OTP (shown once), one attempt at a time, cancel 204: all unauthenticated by default', async () => {
    const idle = await call(a, 'GET', 'sys/generate-root/attempt');
    expect(idle.status).toBe(200);
    expect(idle.body).toEqual(IDLE);

    expect((await call(a, 'PUT', 'sys/generate-root/attempt', { body: { otp: 'short' } })).body).toEqual({ errors: ['OTP string is wrong length'] });
    const pgp = await call(a, 'PUT', 'sys/generate-root/attempt', { body: { pgp_key: 'mQENBF...' } });
    expect(pgp.status).toBe(400);
    expect(pgp.body.errors[0]).toContain('not supported');

    const started = await call(a, 'POST', 'sys/generate-root/attempt', { body: {} });
    expect(started.status).toBe(200);
    expect(Object.keys(started.body).sort()).toEqual(Object.keys(IDLE).sort());
    expect(started.body).toMatchObject({ started: true, progress: 0, required: 2, complete: false, otp_length: 28 });
    expect(started.body.nonce).toMatch(/^[0-9a-f-]{36}$/);
    expect(started.body.otp).toMatch(/^[0-9A-Za-z]{28}$/);
    expect((await call(a, 'GET', 'sys/generate-root/attempt')).body).toEqual({ ...IDLE, nonce: started.body.nonce, started: true });

    expect((await call(a, 'PUT', 'sys/generate-root/attempt', { body: {} })).body).toEqual({ errors: ['root generation already in progress'] });
    const cancelled = await call(a, 'DELETE', 'sys/generate-root/attempt');
    expect(cancelled.status).toBe(204);
    expect(cancelled.text).toBe('');
    expect((await call(a, 'GET', 'sys/generate-root/attempt')).body).toEqual(IDLE);
    expect((await call(a, 'PUT', 'sys/generate-root/update', { body: { key: keys[0], nonce: started.body.nonce } })).body).toEqual({
      errors: ['no root generation in progress'],
    });
  });

  it('shares: wrong nonce, duplicate, a wrong share resets progress and keeps the nonce; the decoded token is root', async () => {
    const otp = (await runCli(['operator', 'generate-root', '-generate-otp'], { VAULT_ADDR: a })).stdout.trim();
    expect(otp).toMatch(/^[0-9A-Za-z]{28}$/);
    const started = await call(a, 'PUT', 'sys/generate-root/attempt', { body: { otp } });
    expect(started.body.otp).toBe('');
    const nonce: string = started.body.nonce;
    const update = (key: string | undefined, n = nonce) => call(a, 'PUT', 'sys/generate-root/update', { body: { key, nonce: n } });

    expect((await update(undefined)).body).toEqual({ errors: ["'key' must be specified in request body as JSON"] });
    expect((await update('not a key!')).body).toEqual({ errors: ["'key' must be a valid hex or base64 string"] });
    expect((await update(keys[0], 'other')).body).toEqual({
      errors: [`incorrect nonce supplied; nonce for this root generation operation is "${nonce}"`],
    });
    const first = await update(keys[0]);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ ...IDLE, nonce, started: true, progress: 1, otp_length: 0 });
    // The same share in base64 is still the same share.
    expect((await update(keysB64[0])).body).toEqual({ errors: ['given key has already been provided during this generation operation'] });
    expect((await call(a, 'GET', 'sys/generate-root/attempt')).body.progress).toBe(1);

    const wrong = Buffer.from(keys[1], 'hex');
    wrong[0] ^= 0x55;
    expect((await update(wrong.toString('hex'))).body).toEqual({
      errors: ['root generation aborted: unable to authenticate: failed to decrypt keys from storage: cipher: message authentication failed'],
    });
    expect((await call(a, 'GET', 'sys/generate-root/attempt')).body).toEqual({ ...IDLE, nonce, started: true, progress: 0 });

    await update(keys[2]);
    const done = await update(keysB64[1]);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ nonce, started: true, progress: 2, required: 2, complete: true, pgp_fingerprint: '', otp: '', otp_length: 0 });
    expect(done.body.encoded_token).toMatch(/^[A-Za-z0-9+/]{38}$/);
    expect(done.body.encoded_root_token).toBe(done.body.encoded_token);
    expect((await call(a, 'GET', 'sys/generate-root/attempt')).body).toEqual(IDLE);

    const decoded = await runCli(['operator', 'generate-root', `-decode=${done.body.encoded_token}`, `-otp=${otp}`], { VAULT_ADDR: a });
    expect(decoded.code).toBe(0);
    const token = decoded.stdout.trim();
    expect(token).toBe(decodeRootToken(done.body.encoded_token, otp, 28));
    expect(token).toMatch(/^hvs\.[0-9A-Za-z]{24}$/);
    expect(token).not.toBe(rootToken);
    const asJson = await runCli(['operator', 'generate-root', '-format=json', '-decode=-', `-otp=${otp}`], { VAULT_ADDR: a }, done.body.encoded_token);
    expect(JSON.parse(asJson.stdout)).toEqual({ token });

    const self = await call(a, 'GET', 'auth/token/lookup-self', { token });
    expect(self.status).toBe(200);
    expect(self.body.data).toMatchObject({ policies: ['root'], ttl: 0, orphan: true, display_name: 'root' });
    // Root may do sudo things.
    expect((await call(a, 'PUT', 'sys/policy/made-by-new-root', { token, body: { policy: 'path "x" { capabilities = ["read"] }' } })).status).toBe(204);
  });

  it('the CLI: -init, -status, a share by argument with -nonce and one by prompt, the table, -cancel', async () => {
    const env = { VAULT_ADDR: a };
    const missing = await runCli(['operator', 'generate-root', keys[0]], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No root generation is in progress');

    const init = await runCli(['operator', 'generate-root', '-init', '-format=json'], env);
    expect(init.code).toBe(0);
    const started = JSON.parse(init.stdout);
    expect(started.otp).toMatch(/^[0-9A-Za-z]{28}$/);
    const status = await runCli(['operator', 'generate-root', '-status'], env);
    expect(status.stdout).toMatch(/Nonce\s+[0-9a-f-]{36}/);
    expect(status.stdout).toMatch(/Progress\s+0\/2/);
    expect(status.stdout).toMatch(/OTP Length\s+28/);

    expect((await runCli(['operator', 'generate-root', keys[0]], env)).stderr).toContain('Missing nonce value: specify it via the -nonce flag');
    const one = await runCli(['operator', 'generate-root', `-nonce=${started.nonce}`, keys[0]], env);
    expect(one.stdout).toMatch(/Progress\s+1\/2/);
    // No key argument: the nonce comes from the status, the share from the hidden prompt (stdin here).
    const two = await runCli(['operator', 'generate-root'], env, `${keys[1]}\n`);
    expect(two.code).toBe(0);
    expect(two.stderr).toContain(`Operation nonce: ${started.nonce}`);
    expect(two.stdout).not.toContain(keys[1]);
    const encoded = /Encoded Token\s+(\S+)/.exec(two.stdout)?.[1] ?? '';
    const token = decodeRootToken(encoded, started.otp, 28);
    expect((await call(a, 'GET', 'auth/token/lookup-self', { token })).body.data.policies).toEqual(['root']);

    await runCli(['operator', 'generate-root', '-init'], env);
    const cancel = await runCli(['operator', 'generate-root', '-cancel'], env);
    expect(cancel.stdout).toContain('Success! Root token generation canceled');
    expect((await call(a, 'GET', 'sys/generate-root/attempt')).body.started).toBe(false);
  });

  it('while sealed the endpoints answer 503; the attempt is shared by every process, so it outlives the seal of one process until cancelled', async () => {
    const started = (await call(a, 'PUT', 'sys/generate-root/attempt', { body: {} })).body;
    await call(a, 'PUT', 'sys/generate-root/update', { body: { key: keys[0], nonce: started.nonce } });
    expect((await call(a, 'PUT', 'sys/seal', { token: rootToken })).status).toBe(204);
    expect((await call(a, 'GET', 'sys/generate-root/attempt')).status).toBe(503);
    expect((await call(a, 'PUT', 'sys/generate-root/update', { body: { key: keys[1], nonce: started.nonce } })).status).toBe(503);
    await call(a, 'PUT', 'sys/unseal', { body: { key: keys[0] } });
    await call(a, 'PUT', 'sys/unseal', { body: { key: keys[1] } });
    expect((await call(a, 'GET', 'sys/generate-root/attempt')).body).toMatchObject({ nonce: started.nonce, started: true, progress: 1 });
    expect((await call(a, 'DELETE', 'sys/generate-root/attempt')).status).toBe(204);
    expect((await call(a, 'GET', 'sys/generate-root/attempt')).body).toEqual(IDLE);
  });
});

describe('sys/generate-root with disable_unauthed_generate_root_endpoints (e2e)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrethub-genroot-'));
    writeFileSync(join(dir, 'listener.hcl'), 'listener "tcp" {\n  disable_unauthed_generate_root_endpoints = true\n}\n');
    server = await startServerProcess({ databaseUrl: await createTestDatabase(), args: ['--config', join(dir, 'listener.hcl')] });
  });
  afterAll(async () => server?.stop());

  it('start and cancel need a sudo token; status and shares do not', async () => {
    const a = server.address;
    const { keys, rootToken } = await initShamir(a);
    expect((await call(a, 'PUT', 'sys/generate-root/attempt', { body: {} })).status).toBe(403);
    expect((await call(a, 'GET', 'sys/generate-root/attempt')).body.started).toBe(false);
    const started = await call(a, 'PUT', 'sys/generate-root/attempt', { token: rootToken, body: {} });
    expect(started.status).toBe(200);
    expect((await call(a, 'DELETE', 'sys/generate-root/attempt')).status).toBe(403);
    const progress = await call(a, 'PUT', 'sys/generate-root/update', { body: { key: keys[0], nonce: started.body.nonce } });
    expect(progress.body.progress).toBe(1);
    expect((await call(a, 'DELETE', 'sys/generate-root/attempt', { token: rootToken })).status).toBe(204);
    const sanitized = await call(a, 'GET', 'sys/config/state/sanitized', { token: rootToken });
    expect(JSON.stringify(sanitized.body)).toContain('"disable_unauthed_generate_root_endpoints":true');
  });
});
