/**
 * Mutual TLS end to end, with certificates from SecretHub's own PKI: the built server is restarted
 * behind an HTTPS listener whose certificate its `pki` engine issued; an application holding a
 * client certificate from the same PKI (directly from the root, and through an intermediate it
 * sends along) logs in through the `cert` auth method over the real TLS connection and reads a
 * dynamic PostgreSQL credential that really logs in. Refusals and renewal binding over the wire.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';
import { call } from '../support/http';
import { canLogInToPostgres, createTestDatabase } from '../support/database';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { httpsCall } from '../support/tls';

jest.setTimeout(180_000);

const CREATE = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`;

interface Issued {
  certificate: string;
  private_key: string;
  issuing_ca: string;
}

describe('mTLS: cert auth over the HTTPS listener, certificates from our PKI (e2e)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-mtls-'));
  let server: ServerProcess;
  let rootPem: string;
  let rootToken: string;
  let target: string;
  /** A client certificate of `role` on `mount`, as the application would hold it. */
  let issue: (mount: string, role: string, commonName: string) => Promise<Issued>;
  const https = (path: string, options: Parameters<typeof httpsCall>[1] = {}) => httpsCall(`${server.address}/v1/${path}`, { ca: rootPem, ...options });

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    target = await createTestDatabase();
    // 1. Plain HTTP: initialise, build the root CA and the listener's certificate.
    server = await startServerProcess({ databaseUrl });
    const plain = (method: string, path: string, body?: unknown) => call(server.address, method, path, { token: rootToken, body });
    const init = await plain('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 });
    const unsealKey = init.body.keys_base64[0] as string;
    rootToken = init.body.root_token;
    expect((await plain('PUT', 'sys/unseal', { key: unsealKey })).body.sealed).toBe(false);
    expect((await plain('PUT', 'sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: '87600h' } })).status).toBe(204);
    rootPem = (await plain('PUT', 'pki/root/generate/internal', { common_name: 'SecretHub Test Root', ttl: '8760h', key_type: 'ec', key_bits: 256 })).body.data
      .certificate;
    expect(
      (
        await plain('PUT', 'pki/roles/listener', {
          allowed_domains: ['localhost'],
          allow_bare_domains: true,
          allow_ip_sans: true,
          server_flag: true,
          client_flag: false,
          key_type: 'ec',
          key_bits: 256,
        })
      ).status,
    ).toBe(204);
    const listener = (await plain('PUT', 'pki/issue/listener', { common_name: 'localhost', ip_sans: '127.0.0.1', ttl: '24h' })).body.data as Issued;
    writeFileSync(join(dir, 'server.pem'), listener.certificate);
    writeFileSync(join(dir, 'server-key.pem'), listener.private_key, { mode: 0o600 });
    writeFileSync(
      join(dir, 'listener.hcl'),
      `listener "tcp" {\n  tls_cert_file = "${join(dir, 'server.pem')}"\n  tls_key_file = "${join(dir, 'server-key.pem')}"\n}\n`,
    );
    expect(await server.stop()).toBe(0);

    // 2. The same storage behind HTTPS with that certificate (client certificates requested, not required).
    server = await startServerProcess({ databaseUrl, args: ['--config', join(dir, 'listener.hcl')] });
    expect(server.address).toMatch(/^https:/);
    expect((await https('sys/unseal', { method: 'PUT', body: { key: unsealKey } })).body.sealed).toBe(false);
    const admin = (method: string, path: string, body?: unknown) => https(path, { method, body, token: rootToken });
    issue = async (mount, role, commonName) => {
      const res = await admin('PUT', `${mount}/issue/${role}`, { common_name: commonName, ttl: '1h' });
      expect(res.status).toBe(200);
      return res.body.data as Issued;
    };

    // An intermediate CA under the root, for applications that send their chain.
    expect((await admin('PUT', 'sys/mounts/pki_int', { type: 'pki', config: { max_lease_ttl: '8760h' } })).status).toBe(204);
    const csr = (await admin('PUT', 'pki_int/intermediate/generate/internal', { common_name: 'SecretHub Test Apps CA', key_type: 'ec', key_bits: 256 })).body
      .data.csr;
    const intermediate = (await admin('PUT', 'pki/root/sign-intermediate', { csr, ttl: '720h' })).body.data.certificate;
    expect((await admin('PUT', 'pki_int/intermediate/set-signed', { certificate: intermediate })).status).toBe(200);
    for (const mount of ['pki', 'pki_int']) {
      expect(
        (await admin('PUT', `${mount}/roles/app`, { allow_any_name: true, server_flag: false, client_flag: true, key_type: 'ec', key_bits: 256 })).status,
      ).toBe(204);
    }

    // The application's access: cert auth trusting the root, a policy, a dynamic database role.
    expect((await admin('PUT', 'sys/policies/acl/payments', { policy: 'path "database/creds/payments" { capabilities = ["read"] }' })).status).toBe(204);
    expect((await admin('PUT', 'sys/auth/cert', { type: 'cert' })).status).toBe(204);
    expect(
      (
        await admin('PUT', 'auth/cert/certs/payments', {
          certificate: rootPem,
          allowed_common_names: ['payments.svc'],
          token_policies: ['payments'],
          token_ttl: '30m',
        })
      ).status,
    ).toBe(204);
    expect((await admin('PUT', 'sys/mounts/database', { type: 'database' })).status).toBe(204);
    const t = new URL(target);
    expect(
      (
        await admin('PUT', 'database/config/pg', {
          plugin_name: 'postgresql-database-plugin',
          connection_url: `postgresql://{{username}}:{{password}}@${t.host}${t.pathname}`,
          username: decodeURIComponent(t.username),
          password: decodeURIComponent(t.password),
          allowed_roles: ['payments'],
        })
      ).status,
    ).toBe(204);
    expect((await admin('PUT', 'database/roles/payments', { db_name: 'pg', creation_statements: [CREATE], default_ttl: '1h' })).status).toBe(204);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an application logs in with its client certificate and reads a database credential that works', async () => {
    const app = await issue('pki', 'app', 'payments.svc');
    const tls = { cert: app.certificate, key: app.private_key };
    const login = await https('auth/cert/login', { ...tls, method: 'PUT', body: {} });
    expect(login.status).toBe(200);
    expect(login.body.auth).toMatchObject({ metadata: { cert_name: 'payments', common_name: 'payments.svc' }, lease_duration: 1800 });
    const token = login.body.auth.client_token as string;
    const creds = await https('database/creds/payments', { ...tls, token });
    expect(creds.status).toBe(200);
    expect(creds.body.lease_id).toMatch(/^database\/creds\/payments\//);
    expect(await canLogInToPostgres(target, creds.body.data.username, creds.body.data.password)).toBe(true);
    // The token is the application's, not the root's: nothing else.
    expect((await https('sys/mounts', { token })).status).toBe(403);
  });

  it('through an intermediate the client sends with its certificate', async () => {
    const app = await issue('pki_int', 'app', 'payments.svc');
    const withChain = await https('auth/cert/login', { cert: app.certificate + '\n' + app.issuing_ca, key: app.private_key, method: 'PUT', body: {} });
    expect(withChain.status).toBe(200);
    // Without the intermediate there is no path to the trusted root.
    const leafOnly = await https('auth/cert/login', { cert: app.certificate, key: app.private_key, method: 'PUT', body: {} });
    expect([leafOnly.status, leafOnly.body.errors]).toEqual([400, ['invalid certificate or no client certificate supplied']]);
  });

  it('refused over the wire: no certificate, another common name, a revoked certificate', async () => {
    const refused = { status: 400, body: { errors: ['invalid certificate or no client certificate supplied'] } };
    expect(await https('auth/cert/login', { method: 'PUT', body: {} })).toEqual(refused);
    const other = await issue('pki', 'app', 'billing.svc');
    expect(await https('auth/cert/login', { cert: other.certificate, key: other.private_key, method: 'PUT', body: {} })).toEqual(refused);
    const app = await issue('pki', 'app', 'payments.svc');
    const serial = (await https('auth/cert/login', { cert: app.certificate, key: app.private_key, method: 'PUT', body: {} })).body.auth.metadata
      .serial_number as string;
    const hex = BigInt(serial).toString(16).padStart(2, '0');
    const vaultSerial = (hex.length % 2 ? `0${hex}` : hex).match(/../g)!.join(':');
    expect((await https('pki/revoke', { method: 'PUT', token: rootToken, body: { serial_number: vaultSerial } })).status).toBe(200);
    const crlPem = (await https('pki/cert/crl')).body.data.certificate as string;
    expect((await https('auth/cert/crls/root', { method: 'PUT', token: rootToken, body: { crl: crlPem } })).status).toBe(204);
    expect(await https('auth/cert/login', { cert: app.certificate, key: app.private_key, method: 'PUT', body: {} })).toEqual(refused);
  });

  it('the CLI: login -method=cert with -client-cert, -client-key and -ca-cert', async () => {
    const app = await issue('pki', 'app', 'payments.svc');
    const files = { cert: join(dir, 'app.pem'), key: join(dir, 'app-key.pem'), ca: join(dir, 'root.pem') };
    writeFileSync(files.cert, app.certificate);
    writeFileSync(files.key, app.private_key, { mode: 0o600 });
    writeFileSync(files.ca, rootPem);
    const env = { VAULT_ADDR: server.address };
    const res = await runCli(
      ['login', '-method=cert', `-client-cert=${files.cert}`, `-client-key=${files.key}`, `-ca-cert=${files.ca}`, '-format=json', '-no-store', 'name=payments'],
      env,
    );
    expect(res.code).toBe(0);
    const auth = JSON.parse(res.stdout).auth;
    expect(auth.metadata).toMatchObject({ cert_name: 'payments', common_name: 'payments.svc' });
    expect((await https('database/creds/payments', { cert: app.certificate, key: app.private_key, token: auth.client_token })).status).toBe(200);
    const without = await runCli(['login', '-method=cert', `-ca-cert=${files.ca}`, '-no-store'], env);
    expect(without.code).not.toBe(0);
    expect(without.stderr).toContain('invalid certificate or no client certificate supplied');
  });

  it('a renewal presents the login certificate: the same CN with another certificate gets 403', async () => {
    const first = await issue('pki', 'app', 'payments.svc');
    const second = await issue('pki', 'app', 'payments.svc');
    const token = (await https('auth/cert/login', { cert: first.certificate, key: first.private_key, method: 'PUT', body: {} })).body.auth
      .client_token as string;
    expect((await https('auth/token/renew-self', { cert: first.certificate, key: first.private_key, method: 'PUT', token, body: {} })).status).toBe(200);
    const fromOther = await https('auth/token/renew-self', { cert: second.certificate, key: second.private_key, method: 'PUT', token, body: {} });
    expect([fromOther.status, fromOther.body.errors]).toEqual([403, ['permission denied']]);
  });
});
