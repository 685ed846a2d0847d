/**
 * The `database` engine's PostgreSQL plugin against the run's embedded PostgreSQL, which uses
 * password (SCRAM) authentication: created credentials really log in, and after revocation or
 * expiry they really cannot. Through the audited pipeline, with leases.
 */
import { Client } from 'pg';
import { canLogInToPostgres, createTestDatabase } from '../support/database';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';
import { until } from '../support/wait';

jest.setTimeout(120_000);

const CREATE = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`, 'GRANT CONNECT ON DATABASE postgres TO "{{name}}";'];

describe('database engine, PostgreSQL (medium)', () => {
  let k: TestKernel;
  let call: Call;
  let target: string;
  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    target = await createTestDatabase();
    const admin = new URL(target);
    const connectionUrl = `postgresql://{{username}}:{{password}}@${admin.host}${admin.pathname}`;
    expect((await call('PUT', 'sys/mounts/database', { type: 'database' })).status).toBe(204);
    const config = await call('PUT', 'database/config/pg', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: connectionUrl,
      username: decodeURIComponent(admin.username),
      password: decodeURIComponent(admin.password),
      allowed_roles: ['app', 'short'],
    });
    expect(config.status).toBe(204);
    expect((await call('PUT', 'database/roles/app', { db_name: 'pg', creation_statements: CREATE, default_ttl: '1h', max_ttl: '2h' })).status).toBe(204);
    expect((await call('PUT', 'database/roles/short', { db_name: 'pg', creation_statements: CREATE, default_ttl: '2s', max_ttl: '2s' })).status).toBe(204);
  });
  afterAll(async () => k.close());

  it('config never reads back the password; unknown plugins and unverifiable connections are refused', async () => {
    const read = await call('GET', 'database/config/pg');
    expect(read.json.data).toMatchObject({ plugin_name: 'postgresql-database-plugin', allowed_roles: ['app', 'short'] });
    expect(read.body).not.toContain(decodeURIComponent(new URL(target).password));
    expect((await call('PUT', 'database/config/x', { plugin_name: 'oracle-database-plugin', connection_url: 'x' })).json.errors[0]).toContain(
      'unknown plugin_name',
    );
    const bad = await call('PUT', 'database/config/bad', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: 'postgresql://{{username}}:{{password}}@127.0.0.1:1/none',
      username: 'u',
      password: 'secret-root-pw',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).not.toContain('secret-root-pw');
  });

  it('creds log in; after revoke they cannot; the lease is tracked', async () => {
    const creds = await call('GET', 'database/creds/app');
    expect(creds.status).toBe(200);
    const { username, password } = creds.json.data as { username: string; password: string };
    expect(username).toMatch(/^v-app-/);
    expect(creds.json).toMatchObject({ renewable: true, lease_duration: 3600, lease_id: expect.stringMatching(/^database\/creds\/app\//) });
    expect(await canLogInToPostgres(target, username, password)).toBe(true);
    expect(await canLogInToPostgres(target, username, 'wrong-password-123')).toBe(false);
    // The client's address is kept only as barrier ciphertext bound to the lease.
    const [{ source_ip: sealed }] = await k.dataSource.query('SELECT source_ip FROM leases WHERE lease_id = $1', [creds.json.lease_id]);
    expect(sealed).not.toContain('192.0.2.10');
    expect(k.barrier.decrypt(`leases/source_ip/${creds.json.lease_id}`, Buffer.from(sealed, 'base64')).toString('utf8')).toBe('192.0.2.10');
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: creds.json.lease_id })).status).toBe(204);
    expect(await canLogInToPostgres(target, username, password)).toBe(false);
  });

  it('an expired lease is revoked by the expiration manager and the user can no longer log in', async () => {
    const creds = await call('GET', 'database/creds/short');
    const { username, password } = creds.json.data as { username: string; password: string };
    expect(await canLogInToPostgres(target, username, password)).toBe(true);
    const reason = async () =>
      (
        (await k.dataSource.query('SELECT revocation_reason FROM leases WHERE lease_id = $1', [creds.json.lease_id])) as { revocation_reason: string | null }[]
      )[0].revocation_reason;
    await until(async () => (await reason()) === 'expired');
    expect(await canLogInToPostgres(target, username, password)).toBe(false);
    // Dropped, not only past VALID UNTIL.
    const admin = new Client({ connectionString: target });
    await admin.connect();
    const { rows } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username]);
    await admin.end();
    expect(rows).toHaveLength(0);
  });

  it('a role not allowed on the connection, and injection attempts in names and statements, fail safely', async () => {
    await call('PUT', 'database/roles/other', { db_name: 'pg', creation_statements: CREATE });
    expect((await call('GET', 'database/creds/other')).json.errors).toEqual(['"other" is not an allowed role']);
    expect((await call('PUT', 'database/roles/x";DROP', { db_name: 'pg', creation_statements: CREATE })).status).toBe(400);
    await call('PUT', 'database/config/pg', { allowed_roles: ['*'], verify_connection: false });
    const typo = await call('PUT', 'database/roles/typo', { db_name: 'pg', creation_statements: ['CREATE ROLE "{{nmae}}"'] });
    expect([typo.status, typo.json.errors]).toEqual([400, ['invalid statement template: unknown placeholder {{nmae}} in a statement']]);
    // A statement that fails on the target leaves no lease and no half-created user (one transaction).
    await call('PUT', 'database/roles/broken', { db_name: 'pg', creation_statements: [CREATE[0], 'SELECT no_such_function();'] });
    expect((await call('GET', 'database/creds/broken')).status).toBe(400);
    const [{ n }] = await k.dataSource.query("SELECT count(*)::int AS n FROM leases WHERE lease_id LIKE 'database/creds/broken/%'");
    expect(n).toBe(0);
    const admin = new Client({ connectionString: target });
    await admin.connect();
    const [{ users }] = (await admin.query("SELECT count(*)::int AS users FROM pg_roles WHERE rolname LIKE 'v-broken-%'")).rows;
    await admin.end();
    expect(users).toBe(0);
  });
});
