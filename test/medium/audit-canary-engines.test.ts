/**
 * The audit canary (security.md "Audit") through the auth methods and secrets engines: a random
 * canary sent as a password, secret ID, root credential, wrong credential or login hint, and the
 * secrets the server generates (login tokens, secret IDs, database and RabbitMQ passwords, PKI
 * private keys), reach no audit table, no file device line, no server log line (debug level) and
 * no error response. A success answer that hands a secret to its caller (login, creds, issue) may
 * hold it; a success answer that should not (reading a user or a connection) is checked as well.
 *
 * Real engines: PostgreSQL is the run's own server (test/support/global-setup.ts), where the
 * canary is the real password of a role created for this file (password authentication, so a
 * wrong canary is really refused); RabbitMQ is the machine's (test/support/rabbitmq.ts): its error
 * paths run in any case; the working connection needs the management API (skipped with the reason
 * without it, failing under CI=true).
 */
import { createPublicKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { Client } from 'pg';
import type { PeerCertificate } from '../../src/framework/route';
import { createLogger } from '../../src/logger';
import { openAuditedKernel, type Call } from '../support/audit';
import { newCanary, pemForms, watchCanary, type CanaryWatch } from '../support/canary';
import { canLogInToPostgres, createTestDatabase } from '../support/database';
import type { TestKernel } from '../support/kernel';
import { deleteUsers, management, MANAGEMENT_URI } from '../support/rabbitmq';
import { itWithService } from '../support/services';

jest.setTimeout(120_000);

const CANARY = newCanary();
const INVALID_CERT = ['invalid certificate or no client certificate supplied'];

describe('audit canary through auth methods and engines (medium)', () => {
  let k: TestKernel;
  let call: Call;
  let watch: CanaryWatch;
  let secrets: CanaryWatch['secrets'];
  const logLines: string[] = [];

  beforeAll(async () => {
    const log = createLogger('debug', (line) => logLines.push(line));
    let plain: Call;
    ({ k, call: plain } = await openAuditedKernel({ databaseDevice: true, log }));
    watch = await watchCanary(k, plain, CANARY, logLines);
    ({ call, secrets } = watch);
  });
  afterAll(async () => k?.close());

  it('userpass: the canary as a password (create, login right and wrong, unknown user, too long)', async () => {
    expect((await call('PUT', 'sys/auth/userpass', { type: 'userpass' })).status).toBe(204);
    expect((await call('PUT', 'auth/userpass/users/alice', { password: CANARY, token_policies: ['default'] })).status).toBe(204);
    const read = await call('GET', 'auth/userpass/users/alice');
    expect(read.status).toBe(200);
    expect(read.body).not.toContain(CANARY);
    await watch.expectHashed(watch.keepAuth('userpass', await call('PUT', 'auth/userpass/login/alice', { password: CANARY }, '')));
    const invalid = { status: 400, errors: ['invalid username or password'] };
    for (const [user, password] of [
      ['alice', `${CANARY}-wrong`],
      ['nobody', CANARY],
      ['Alice ', `x${CANARY}`],
    ]) {
      const res = await call('PUT', `auth/userpass/login/${encodeURIComponent(user)}`, { password }, '');
      expect({ status: res.status, errors: res.json.errors }).toEqual(invalid);
    }
    expect((await call('PUT', 'auth/userpass/users/alice/password', { password: `${CANARY}-2` })).status).toBe(204);
    expect((await call('PUT', 'auth/userpass/users/nobody/password', { password: CANARY })).status).toBe(400);
    expect((await call('PUT', 'auth/userpass/users/bob', { password: CANARY.repeat(200) })).status).toBe(400);
    expect((await call('PUT', 'auth/userpass/users/bob', { password: [CANARY] })).status).toBe(400);
    await watch.check();
  });

  it('approle: the canary as a custom secret_id and in its metadata; login right and wrong; lookup, destroy', async () => {
    expect((await call('PUT', 'sys/auth/approle', { type: 'approle' })).status).toBe(204);
    expect((await call('PUT', 'auth/approle/role/app', { token_policies: ['default'] })).status).toBe(204);
    const roleId = (await call('GET', 'auth/approle/role/app/role-id')).json.data.role_id as string;
    secrets['approle role_id'] = roleId;
    const metadata = JSON.stringify({ owner: CANARY });
    const custom = await call('PUT', 'auth/approle/role/app/custom-secret-id', { secret_id: CANARY, metadata });
    expect([custom.status, custom.json.data?.secret_id]).toEqual([200, CANARY]);
    secrets['approle secret_id accessor'] = custom.json.data.secret_id_accessor;
    expect((await call('PUT', 'auth/approle/role/app/custom-secret-id', { secret_id: CANARY })).json.errors).toEqual(['SecretID is already registered']);
    expect((await call('PUT', 'auth/approle/role/app/custom-secret-id', { secret_id: CANARY.repeat(60) })).status).toBe(400);
    expect(
      (await call('PUT', 'auth/approle/role/app/custom-secret-id', { secret_id: `${CANARY}-m`, metadata: `{"owner": ${JSON.stringify(CANARY)}, "n": 1}` }))
        .status,
    ).toBe(400);
    expect((await call('PUT', 'auth/approle/role/app/custom-secret-id', { secret_id: `${CANARY}-m`, metadata: `{"owner": "${CANARY}"` })).status).toBe(400);
    expect((await call('PUT', 'auth/approle/role/nope/custom-secret-id', { secret_id: CANARY })).status).toBe(400);
    const generated = await call('PUT', 'auth/approle/role/app/secret-id', { metadata });
    expect(generated.status).toBe(200);
    secrets['approle generated secret_id'] = generated.json.data.secret_id;
    await watch.expectHashed(generated.json.data.secret_id);

    const token = watch.keepAuth('approle', await call('PUT', 'auth/approle/login', { role_id: roleId, secret_id: CANARY }, ''));
    // The metadata is the token's: returned to its holder, HMAC'd in every entry that names the token.
    expect((await call('GET', 'auth/token/lookup-self', undefined, token)).json.data.meta).toEqual({ owner: CANARY, role_name: 'app' });
    expect((await call('PUT', 'secret/data/by-approle', { data: { v: 1 } }, token)).status).toBe(403);
    watch.keepAuth('approle generated', await call('PUT', 'auth/approle/login', { role_id: roleId, secret_id: generated.json.data.secret_id }, ''));
    for (const body of [{ role_id: roleId, secret_id: `${CANARY}-wrong` }, { role_id: CANARY, secret_id: CANARY }, { role_id: roleId }]) {
      const res = await call('PUT', 'auth/approle/login', body, '');
      expect([res.status, res.json.errors]).toEqual([400, ['invalid role or secret ID']]);
    }
    expect((await call('PUT', 'auth/approle/role/app/secret-id/lookup', { secret_id: CANARY })).json.data.metadata).toEqual({ owner: CANARY });
    expect((await call('PUT', 'auth/approle/role/app/secret-id/lookup', { secret_id: `${CANARY}-none` })).status).toBe(204);
    expect((await call('PUT', 'auth/approle/role/app/secret-id-accessor/lookup', { secret_id_accessor: CANARY })).status).toBe(404);
    expect((await call('PUT', 'auth/approle/role/app/secret-id/destroy', { secret_id: CANARY })).status).toBe(204);
    expect((await call('PUT', 'auth/approle/login', { role_id: roleId, secret_id: CANARY }, '')).status).toBe(400);
    await watch.check();
  });

  it('pki and cert auth: exported CA key and issued keys stay out; refused cert logins echo nothing', async () => {
    expect((await call('PUT', 'sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: '87600h' } })).status).toBe(204);
    const root = await call('PUT', 'pki/root/generate/exported', { common_name: 'Canary Root', ttl: '8760h', key_type: 'ec', key_bits: 256 });
    expect(root.status).toBe(200);
    const rootPem = root.json.data.certificate as string;
    secrets['CA private key'] = pemForms(root.json.data.private_key);
    await watch.expectHashed(root.json.data.private_key);
    expect((await call('PUT', 'pki/roles/client', { allow_any_name: true, server_flag: false, client_flag: true, key_type: 'ec', key_bits: 256 })).status).toBe(
      204,
    );
    const issue = async (commonName: string, extra: Record<string, unknown> = {}) => {
      const res = await call('PUT', 'pki/issue/client', { common_name: commonName, ttl: '1h', ...extra });
      expect(res.status).toBe(200);
      secrets[`issued key ${commonName} ${JSON.stringify(extra)}`] = pemForms(res.json.data.private_key);
      await watch.expectHashed(res.json.data.private_key);
      return res.json.data as { certificate: string; private_key: string };
    };
    const app1 = await issue('app1');
    // The key returned is the certificate's.
    expect(createPublicKey(app1.private_key).export({ format: 'der', type: 'spki' })).toEqual(
      new X509Certificate(app1.certificate).publicKey.export({ format: 'der', type: 'spki' }),
    );
    await issue('app1-bundle', { format: 'pem_bundle' });
    await issue('app1-der', { format: 'der', private_key_format: 'pkcs8' });
    const app2 = await issue('app2');
    expect((await call('PUT', 'pki/issue/client', { common_name: 'x', ttl: CANARY })).status).toBe(400);
    expect((await call('PUT', 'pki/sign/client', { csr: CANARY })).status).toBe(400);
    expect((await call('PUT', 'pki/issue/nope', { common_name: 'x' })).status).toBe(400);
    // Issuer keys sent in (keys/import, config/ca) and handed out (keys/generate/exported): hashed in the audit, never echoed.
    const imported = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    secrets['imported issuer key'] = pemForms(imported);
    expect((await call('PUT', 'pki/keys/import', { pem_bundle: imported, key_name: 'imported' })).status).toBe(200);
    await watch.expectHashed(imported);
    expect((await call('PUT', 'pki/config/ca', { pem_bundle: `${imported}${rootPem}` })).status).toBe(200);
    const generated = await call('PUT', 'pki/keys/generate/exported', { key_type: 'ec' });
    secrets['generated issuer key'] = pemForms(generated.json.data.private_key);
    await watch.expectHashed(generated.json.data.private_key);
    expect((await call('GET', 'pki/key/imported')).body).not.toContain('PRIVATE');
    expect((await call('PUT', 'pki/issuers/import/cert', { pem_bundle: `${imported}${rootPem}` })).status).toBe(400);
    expect((await call('PUT', 'pki/config/ca', { pem_bundle: `${CANARY}${'-'.repeat(80)}` })).status).toBe(400);
    expect((await call('PUT', 'pki/keys/import', { pem_bundle: `-----BEGIN PRIVATE KEY-----\n${CANARY}\n-----END PRIVATE KEY-----\n` })).status).toBe(400);
    expect((await call('PUT', 'pki/config/ca', { pem_bundle: `${imported.replace(/\n(.{8})/, '\n$1!')}${rootPem}` })).status).toBe(400);

    expect((await call('PUT', 'sys/auth/cert', { type: 'cert' })).status).toBe(204);
    expect(
      (await call('PUT', 'auth/cert/certs/app', { certificate: rootPem, allowed_common_names: ['app1'], token_policies: ['default'], token_ttl: '1h' })).status,
    ).toBe(204);
    expect((await call('PUT', 'auth/cert/certs/bad', { certificate: CANARY })).status).toBe(400);
    const peer = (pem: string): PeerCertificate => ({ der: Buffer.from(new X509Certificate(pem).raw), chainDer: [], authorized: false });
    const login = (pem: string | undefined, body: Record<string, unknown>) =>
      call('PUT', 'auth/cert/login', body, '', pem ? { peerCertificate: peer(pem) } : {});
    watch.keepAuth('cert', await login(app1.certificate, {}));
    for (const [pem, body] of [
      [app2.certificate, {}],
      [app1.certificate, { name: CANARY }],
      [undefined, { name: 'app', password: CANARY }],
      [app2.certificate, { name: 'app', secret: CANARY }],
    ] as const) {
      const res = await login(pem, body);
      expect([res.status, res.json.errors]).toEqual([400, INVALID_CERT]);
    }
    await watch.check();
  });

  it('database (PostgreSQL): the canary as the root password, in the URL and the password field; creds; rotate-root', async () => {
    const target = new URL(await createTestDatabase());
    const root = `canary_root_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: target.toString() });
    await admin.connect();
    try {
      // CREATEROLE is enough for the default creation, a DROP ROLE revocation and its own password.
      await admin.query(`CREATE ROLE ${root} WITH LOGIN CREATEROLE PASSWORD '${CANARY}'`);
      const hostDb = `${target.host}${target.pathname}`;
      const templated = `postgresql://{{username}}:{{password}}@${hostDb}`;
      expect((await call('PUT', 'sys/mounts/database', { type: 'database' })).status).toBe(204);
      const config = (name: string, body: Record<string, unknown>) =>
        call('PUT', `database/config/${name}`, { plugin_name: 'postgresql-database-plugin', allowed_roles: ['app'], ...body });

      expect((await config('pg', { connection_url: templated, username: root, password: CANARY })).status).toBe(204);
      // (Its own application_name: not the pool the templated connection's URL opened with the same password.)
      expect((await config('inline', { connection_url: `postgresql://${root}:${CANARY}@${hostDb}?application_name=inline`, username: root })).status).toBe(204);
      // The PostgreSQL driver also takes the password as a query parameter.
      expect((await config('query', { connection_url: `postgresql://${root}@${hostDb}?password=${CANARY}&application_name=canary` })).status).toBe(204);
      for (const [name, body] of [
        ['wrong', { connection_url: templated, username: root, password: `${CANARY}-wrong` }],
        ['inline-wrong', { connection_url: `postgresql://${root}:${CANARY}-wrong@${hostDb}` }],
        ['refused', { connection_url: `postgresql://${root}:${CANARY}@127.0.0.1:1/none` }],
        ['bad-url', { connection_url: `postgresql://${root}:${CANARY}@[${hostDb}` }],
        ['bad-port', { connection_url: `postgresql://${root}:${CANARY}@127.0.0.1:99999/none` }],
      ] as const) {
        const res = await config(name, body);
        expect([name, res.status]).toEqual([name, 400]);
      }
      // Reads never show the root password, wherever it was given (Vault masks it in connection_url).
      for (const name of ['pg', 'inline', 'query']) {
        const read = await call('GET', `database/config/${name}`);
        expect(read.status).toBe(200);
        expect(read.body).not.toContain(CANARY);
      }
      const revocation = ['DROP ROLE IF EXISTS "{{name}}";'];
      const creation = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`];
      expect(
        (
          await call('PUT', 'database/roles/app', {
            db_name: 'pg',
            creation_statements: creation,
            revocation_statements: revocation,
            default_ttl: '1h',
            max_ttl: '2h',
          })
        ).status,
      ).toBe(204);
      const creds = async () => {
        const res = await call('GET', 'database/creds/app');
        expect(res.status).toBe(200);
        const { username, password } = res.json.data as { username: string; password: string };
        secrets[`database password of ${username}`] = password;
        await watch.expectHashed(password);
        expect(await canLogInToPostgres(target.toString(), username, password)).toBe(true);
        return res.json.lease_id as string;
      };
      const lease = await creds();
      expect((await call('PUT', 'sys/leases/lookup', { lease_id: lease })).status).toBe(200);
      expect((await call('PUT', 'sys/leases/renew', { lease_id: lease, increment: '30m' })).status).toBe(200);
      expect((await call('PUT', 'sys/leases/revoke', { lease_id: lease })).status).toBe(204);

      expect((await call('PUT', 'database/rotate-root/pg')).status).toBe(204);
      expect(await canLogInToPostgres(target.toString(), root, CANARY)).toBe(false);
      expect((await call('GET', 'database/config/pg')).body).not.toContain(CANARY);
      // The rotated password (known only to the engine) works: creds still come.
      expect((await call('PUT', 'sys/leases/revoke', { lease_id: await creds() })).status).toBe(204);
      // The inline URL still holds the canary, which no longer logs in: its rotation fails (and stays pending).
      expect((await call('PUT', 'database/rotate-root/inline')).status).toBe(400);
      expect((await call('PUT', 'database/reset/inline')).status).toBe(400);
      await watch.check();
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${root}`).catch(() => undefined);
      await admin.end();
    }
  });

  it('rabbitmq: the canary as the management password, refused or not verified, is in no answer, log or entry', async () => {
    expect((await call('PUT', 'sys/mounts/rabbitmq', { type: 'rabbitmq' })).status).toBe(204);
    expect((await call('PUT', 'rabbitmq/roles/app', { vhosts: JSON.stringify({ '/': { configure: '', write: '', read: '.*' } }) })).status).toBe(204);
    // Refused by RabbitMQ (401) or unreachable: a 400 either way, without the password.
    expect((await call('PUT', 'rabbitmq/config/connection', { connection_uri: MANAGEMENT_URI, username: 'guest', password: CANARY })).status).toBe(400);
    expect(
      (
        await call('PUT', 'rabbitmq/config/connection', {
          connection_uri: MANAGEMENT_URI.replace('//', `//guest:${CANARY}@`),
          username: 'guest',
          password: CANARY,
        })
      ).status,
    ).toBe(400);
    expect(
      (await call('PUT', 'rabbitmq/config/connection', { connection_uri: MANAGEMENT_URI, username: 'guest', password: CANARY, verify_connection: false }))
        .status,
    ).toBe(204);
    expect((await call('GET', 'rabbitmq/config/connection')).body).not.toContain(CANARY);
    expect((await call('GET', 'rabbitmq/creds/app')).status).toBe(400);
    await watch.check();
  });

  itWithService(
    'rabbitmq',
    'rabbitmq: a working connection with the canary as the management password; the generated password is audited as an HMAC',
    async () => {
      expect((await call('PUT', 'sys/mounts/rabbitmq-live', { type: 'rabbitmq' })).status).toBe(204);
      expect((await call('PUT', 'rabbitmq-live/roles/app', { vhosts: JSON.stringify({ '/': { configure: '', write: '', read: '.*' } }) })).status).toBe(204);
      const adminUser = `sh-canary-${randomBytes(4).toString('hex')}`;
      const created: string[] = [adminUser];
      try {
        expect((await management('PUT', `api/users/${adminUser}`, { password: CANARY, tags: 'administrator' })).status).toBeLessThan(300);
        expect((await call('PUT', 'rabbitmq-live/config/connection', { connection_uri: MANAGEMENT_URI, username: adminUser, password: CANARY })).status).toBe(
          204,
        );
        const creds = await call('GET', 'rabbitmq-live/creds/app');
        expect(creds.status).toBe(200);
        created.push(creds.json.data.username);
        secrets['rabbitmq password'] = creds.json.data.password;
        await watch.expectHashed(creds.json.data.password);
        expect((await call('PUT', 'sys/leases/revoke', { lease_id: creds.json.lease_id })).status).toBe(204);
      } finally {
        await deleteUsers(created);
      }
      await watch.check();
    },
  );
});
