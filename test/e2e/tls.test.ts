/**
 * The built server behind an HTTPS listener, configured by a file as an operator would, and the
 * CLI with Vault's TLS options (env and flags): server verification, mutual TLS, fail-fast config.
 * The client certificate reaching the pipeline is asserted in test/medium/tls-listener.test.ts.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createTestDatabase } from '../support/database';
import { runCli } from '../support/cli';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { httpsCall, makeTestPki, type TestPki } from '../support/tls';

jest.setTimeout(180_000);

let pki: TestPki;

function configFile(name: string, settings: Record<string, string | boolean>): string {
  const lines = Object.entries(settings).map(([k, v]) => `  ${k} = ${typeof v === 'boolean' ? v : JSON.stringify(v)}`);
  const path = join(pki.dir, `${name}.hcl`);
  writeFileSync(path, `listener "tcp" {\n${lines.join('\n')}\n}\n`);
  return path;
}

/** Initialises (one share) and unseals over HTTPS, so that `secrethub status` exits 0; returns the root token. */
async function initAndUnseal(address: string, tls: { ca: string; cert?: string; key?: string }): Promise<string> {
  const init = await httpsCall(`${address}/v1/sys/init`, { ...tls, method: 'PUT', body: { secret_shares: 1, secret_threshold: 1 } });
  expect(init.status).toBe(200);
  const unseal = await httpsCall(`${address}/v1/sys/unseal`, { ...tls, method: 'PUT', body: { key: init.body.keys_base64[0] } });
  expect(unseal.body.sealed).toBe(false);
  return init.body.root_token as string;
}

beforeAll(() => (pki = makeTestPki()));
afterAll(() => pki?.cleanup());

describe('HTTPS listener, client certificates requested (default)', () => {
  let server: ServerProcess;
  let ca: string;
  let rootToken: string;
  beforeAll(async () => {
    ca = pki.read(pki.caCert);
    const config = configFile('server', { tls_cert_file: pki.serverCert, tls_key_file: pki.serverKey, tls_client_ca_file: pki.clientCaCert });
    server = await startServerProcess({ databaseUrl: await createTestDatabase(), args: ['--config', config] });
  });
  afterAll(async () => server?.stop());

  it('serves the API over HTTPS to a client trusting the CA, without a client certificate', async () => {
    expect(server.address).toMatch(/^https:/);
    expect(server.output()).toContain(`listening on ${server.address}`);
    const status = await httpsCall(`${server.address}/v1/sys/seal-status`, { ca });
    expect(status).toMatchObject({ status: 200, body: { initialized: false, sealed: true } });
    rootToken = await initAndUnseal(server.address, { ca });
    expect(await httpsCall(`${server.address}/v1/sys/health`, { ca })).toMatchObject({ status: 200, body: { initialized: true, sealed: false } });
  });

  it('plain HTTP to the TLS port gets no answer; a client without the CA refuses the server', async () => {
    await expect(fetch(`http://127.0.0.1:${server.port}/v1/sys/health`)).rejects.toThrow();
    await expect(httpsCall(`${server.address}/v1/sys/health`)).rejects.toMatchObject({ code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' });
  });

  it('the CLI verifies the server with VAULT_CACERT, -ca-cert or VAULT_CAPATH, and refuses it without', async () => {
    const env = { VAULT_ADDR: server.address };
    const viaEnv = await runCli(['status'], { ...env, VAULT_CACERT: pki.caCert });
    expect(viaEnv.code).toBe(0);
    expect(viaEnv.stdout).toMatch(/Sealed\s+false/);
    expect((await runCli(['status', `-ca-cert=${pki.caCert}`], env)).code).toBe(0);
    expect((await runCli(['-ca-cert', pki.caCert, 'status', '-format=json'], env)).code).toBe(0);
    const caDir = join(pki.dir, 'ca-dir');
    mkdirSync(join(caDir, 'nested'), { recursive: true });
    copyFileSync(pki.caCert, join(caDir, 'nested', 'root.pem'));
    copyFileSync(pki.clientCaCert, join(caDir, 'other.pem'));
    expect((await runCli(['status'], { ...env, VAULT_CAPATH: caDir })).code).toBe(0);

    const untrusted = await runCli(['status'], env);
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toContain(`cannot reach ${server.address}: unable to get local issuer certificate`);
  });

  it('the CLI: skip-verify (env, flag, and the flag overriding the env), server name, a token over HTTPS', async () => {
    const env = { VAULT_ADDR: server.address };
    expect((await runCli(['status'], { ...env, VAULT_SKIP_VERIFY: 'true' })).code).toBe(0);
    expect((await runCli(['status', '-tls-skip-verify'], env)).code).toBe(0);
    expect((await runCli(['status', '-tls-skip-verify=false'], { ...env, VAULT_SKIP_VERIFY: '1' })).code).toBe(2);
    expect((await runCli(['status'], { ...env, VAULT_SKIP_VERIFY: 'yes' })).stderr).toContain('could not parse VAULT_SKIP_VERIFY');

    const withCa = { ...env, VAULT_CACERT: pki.caCert };
    expect((await runCli(['status', '-tls-server-name=localhost'], withCa)).code).toBe(0);
    const wrongName = await runCli(['status'], { ...withCa, VAULT_TLS_SERVER_NAME: 'vault.example.com' });
    expect(wrongName.code).toBe(2);
    expect(wrongName.stderr).toMatch(/vault\.example\.com.*is not in the cert's altnames/);

    const login = await runCli(['login', '-no-store', '-format=json', rootToken], withCa);
    expect(login.code).toBe(0);
    expect(JSON.parse(login.stdout).data.policies).toEqual(['root']);
    const lookup = await runCli(['token', 'lookup', '-format=json'], { ...withCa, VAULT_TOKEN: rootToken });
    expect(lookup.code).toBe(0);

    // A bad trust setting is a local error (exit 1) naming it, whatever the command.
    const missing = await runCli(['status', '-ca-cert=/nonexistent/ca.pem'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('-ca-cert: cannot read /nonexistent/ca.pem (ENOENT)');
  });
});

describe('HTTPS listener with tls_require_and_verify_client_cert', () => {
  let server: ServerProcess;
  let ca: string;
  let client: { cert: string; key: string };
  beforeAll(async () => {
    ca = pki.read(pki.caCert);
    client = { cert: pki.read(pki.clientCert), key: pki.read(pki.clientKey) };
    const config = configFile('mtls', {
      tls_cert_file: pki.serverCert,
      tls_key_file: pki.serverKey,
      tls_client_ca_file: pki.clientCaCert,
      tls_require_and_verify_client_cert: true,
      tls_min_version: 'tls12',
    });
    server = await startServerProcess({ databaseUrl: await createTestDatabase(), args: ['--config', config] });
    await initAndUnseal(server.address, { ca, ...client });
  });
  afterAll(async () => server?.stop());

  it('without a client certificate, or with one of an unrelated CA, the handshake fails; the good one works', async () => {
    await expect(httpsCall(`${server.address}/v1/sys/health`, { ca })).rejects.toThrow();
    await expect(
      httpsCall(`${server.address}/v1/sys/health`, { ca, cert: pki.read(pki.otherClientCert), key: pki.read(pki.otherClientKey) }),
    ).rejects.toThrow();
    expect(await httpsCall(`${server.address}/v1/sys/health`, { ca, ...client })).toMatchObject({ status: 200, body: { sealed: false } });
  });

  it('the CLI presents its certificate with -client-cert/-client-key or VAULT_CLIENT_CERT/VAULT_CLIENT_KEY', async () => {
    const env = { VAULT_ADDR: server.address, VAULT_CACERT: pki.caCert };
    expect((await runCli(['status', `-client-cert=${pki.clientCert}`, `-client-key=${pki.clientKey}`], env)).code).toBe(0);
    expect((await runCli(['status'], { ...env, VAULT_CLIENT_CERT: pki.clientCert, VAULT_CLIENT_KEY: pki.clientKey })).code).toBe(0);

    const without = await runCli(['status'], env);
    expect(without.code).toBe(2);
    expect(without.stderr).toContain(`cannot reach ${server.address}`);
    expect((await runCli(['status', `-client-cert=${pki.otherClientCert}`, `-client-key=${pki.otherClientKey}`], env)).code).toBe(2);
    const half = await runCli(['status', `-client-cert=${pki.clientCert}`], env);
    expect(half.code).toBe(1);
    expect(half.stderr).toContain('both a client certificate (-client-cert) and its key (-client-key) must be given');
  });
});

describe('fail-fast configuration', () => {
  it('a key that does not match the certificate stops the server before it starts, without printing the key', async () => {
    const config = configFile('mismatch', { tls_cert_file: pki.serverCert, tls_key_file: pki.clientKey });
    const keyLine = pki.read(pki.clientKey).split('\n')[1];
    const started = startServerProcess({ databaseUrl: await createTestDatabase(), args: ['--config', config] });
    const error: Error = await started.then(
      async (s) => {
        await s.stop();
        throw new Error('the server started');
      },
      (e: Error) => e,
    );
    expect(error.message).toMatch(/exited with 1 before listening/);
    expect(error.message).toContain(`listener "tcp".tls_key_file: ${pki.clientKey} does not belong to the first certificate in ${pki.serverCert}`);
    expect(error.message).not.toContain(keyLine);
    expect(error.message).not.toContain('migration applied');
  });
});

describe('server --dev-tls', () => {
  it('serves HTTPS with a throw-away CA it prints (VAULT_CACERT), which clients verify; the files go at exit', async () => {
    const server = await startServerProcess({ databaseUrl: await createTestDatabase(), args: ['--dev-tls'], readyText: 'should NOT be used' });
    try {
      expect(server.address).toMatch(/^https:/);
      const caFile = /export VAULT_CACERT='([^']+)'/.exec(server.output())?.[1] as string;
      expect(caFile).toMatch(/vault-ca\.pem$/);
      expect(server.output()).toContain(`export SECRETHUB_CACERT='${caFile}'`);
      expect(server.output()).toContain(`export SECRETHUB_ADDR='${server.address}'`);
      const dir = dirname(caFile);
      expect(statSync(join(dir, 'vault-key.pem')).mode & 0o777).toBe(0o600);
      const ca = readFileSync(caFile, 'utf8');
      expect(await httpsCall(`${server.address}/v1/sys/health`, { ca })).toMatchObject({ status: 200, body: { initialized: true, sealed: false } });
      // localhost is named too; without the CA the server is refused.
      expect((await httpsCall(`https://localhost:${server.port}/v1/sys/health`, { ca })).status).toBe(200);
      await expect(httpsCall(`${server.address}/v1/sys/health`)).rejects.toMatchObject({ code: 'SELF_SIGNED_CERT_IN_CHAIN' });
      const status = await runCli(['status', `-ca-cert=${caFile}`], { VAULT_ADDR: server.address });
      expect(status.code).toBe(0);
      // The printed SECRETHUB_* pair alone is enough for the CLI; without a CA it is refused.
      expect((await runCli(['status'], { SECRETHUB_ADDR: server.address, SECRETHUB_CACERT: caFile })).code).toBe(0);
      const unverified = await runCli(['status'], { SECRETHUB_ADDR: server.address });
      expect(unverified.code).toBe(2);
      expect(unverified.stderr).toMatch(/certificate/i);
      expect(await server.stop()).toBe(0);
      expect(existsSync(dir)).toBe(false);
    } finally {
      await server.stop();
    }
  });

  it('--dev-tls-cert-dir keeps the files where asked', async () => {
    const dir = join(pki.dir, 'dev-tls-kept');
    const server = await startServerProcess({
      databaseUrl: await createTestDatabase(),
      args: ['--dev-tls', '--dev-tls-cert-dir', dir],
      readyText: 'should NOT be used',
    });
    expect(server.output()).toContain(`export VAULT_CACERT='${join(dir, 'vault-ca.pem')}'`);
    expect(await server.stop()).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['vault-ca.pem', 'vault-cert.pem', 'vault-key.pem']);
  });
});
