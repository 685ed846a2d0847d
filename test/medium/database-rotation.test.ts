/**
 * The `database` engine's rotations and background work against the run's embedded PostgreSQL
 * (password authentication): rotate-root and its write-ahead recovery after a crash at either
 * step, static roles with scheduled rotation, renew statements, and the orphan reconciler.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { EngineObjectRepository } from '../../src/shared/engine-objects.repository';
import type { StoredConnection } from '../../src/engines/database/plugins';
import { generateUsername, mountTag } from '../../src/engines/database/statement-template';
import type { StoredStaticRole } from '../../src/engines/database/credential-rotation';
import { createLogger } from '../../src/logger';
import { canLogInToPostgres, createTestDatabase, withCredentials } from '../support/database';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

const CREATE = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`, 'GRANT CONNECT ON DATABASE postgres TO "{{name}}";'];

describe('database engine rotations and reconciliation, PostgreSQL (medium)', () => {
  let k: TestKernel;
  let call: Call;
  let target: string;
  let admin: Client;
  let objects: EngineObjectRepository;
  const suffix = randomBytes(4).toString('hex');
  const logLines: string[] = [];
  const rootUser = `sh_root_${suffix}`;
  const staticUser = `sh_static_${suffix}`;

  const userExists = async (name: string) => (await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rows.length > 0;
  const mountUuid = (path: string) => k.mounts.get('secret', path)?.uuid as string;

  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel({ log: createLogger('info', (line) => logLines.push(line)) }));
    // Another writer of the same table (as another node would be): its writes invalidate the kernel's cache through the bus.
    objects = new EngineObjectRepository(k.dataSource, k.barrier, k.bus);
    target = await createTestDatabase();
    admin = new Client({ connectionString: target });
    await admin.connect();
    // A root user of our own: rotating the run's superuser password would break every other test.
    await admin.query(`CREATE ROLE ${rootUser} WITH LOGIN CREATEROLE PASSWORD 'initial-root-password-1'`);
    await admin.query(`GRANT CONNECT ON DATABASE postgres TO ${rootUser} WITH GRANT OPTION`);
    // PostgreSQL 16+: without this a CREATEROLE user may not DROP OWNED BY the users it creates (docs/operations.md).
    await admin.query(`ALTER ROLE ${rootUser} SET createrole_self_grant = 'set, inherit'`);
    await admin.query(`CREATE ROLE ${staticUser} WITH LOGIN PASSWORD 'initial-static-password-1'`);
    // PostgreSQL 16+: a CREATEROLE user changes only roles it administers.
    await admin.query(`GRANT ${staticUser} TO ${rootUser} WITH ADMIN OPTION`);
    const hostAndDb = `${new URL(target).host}${new URL(target).pathname}`;
    expect((await call('PUT', 'sys/mounts/database', { type: 'database' })).status).toBe(204);
    const config = await call('PUT', 'database/config/pg', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@${hostAndDb}`,
      username: rootUser,
      password: 'initial-root-password-1',
      allowed_roles: ['*'],
    });
    expect(config.status).toBe(204);
    expect(
      (
        await call('PUT', 'database/roles/app', {
          db_name: 'pg',
          creation_statements: CREATE,
          default_ttl: '1h',
          max_ttl: '2h',
          renew_statements: [`ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';`],
        })
      ).status,
    ).toBe(204);
  });
  afterAll(async () => {
    await admin.end();
    await k.close();
  });

  it('rotate-root: the old root password stops working and the engine keeps creating users', async () => {
    expect((await call('PUT', 'database/rotate-root/pg')).status).toBe(204);
    expect(await canLogInToPostgres(target, rootUser, 'initial-root-password-1')).toBe(false);
    const stored = await objects.get<StoredConnection>(mountUuid('database/'), 'connection', 'pg');
    expect(stored?.pendingPassword).toBeUndefined();
    expect(await canLogInToPostgres(target, rootUser, stored?.password as string)).toBe(true);
    const creds = await call('GET', 'database/creds/app');
    expect(creds.status).toBe(200);
    expect(await canLogInToPostgres(target, creds.json.data.username, creds.json.data.password)).toBe(true);
    expect((await call('GET', 'database/config/pg')).body).not.toContain(stored?.password as string);
    expect((await call('PUT', 'database/rotate-root/nope')).json.errors).toEqual(['unknown database "nope"']);
  });

  it('rotate-root cut short after the write-ahead record: the next pass applies the pending password', async () => {
    const uuid = mountUuid('database/');
    const before = (await objects.get<StoredConnection>(uuid, 'connection', 'pg')) as StoredConnection;
    // The state a kill -9 leaves between committing the record and changing the target.
    await objects.modify<StoredConnection>(uuid, 'connection', 'pg', (c) => ({
      ...c,
      pendingPassword: 'Pending-password-one-0123456789',
      pendingSince: Date.now(),
    }));
    expect((await call('PUT', 'database/config/pg', { allowed_roles: ['*'] })).json.errors).toEqual([
      'a root rotation of this connection is unfinished: run reset first',
    ]);
    await k.periodic.tick();
    const after = (await objects.get<StoredConnection>(uuid, 'connection', 'pg')) as StoredConnection;
    expect([after.password, after.pendingPassword]).toEqual(['Pending-password-one-0123456789', undefined]);
    expect(await canLogInToPostgres(target, rootUser, before.password)).toBe(false);
    expect(await canLogInToPostgres(target, rootUser, after.password)).toBe(true);
  });

  it('rotate-root cut short after the target changed: reset promotes the pending password', async () => {
    const uuid = mountUuid('database/');
    await objects.modify<StoredConnection>(uuid, 'connection', 'pg', (c) => ({
      ...c,
      pendingPassword: 'Pending-password-two-0123456789',
      pendingSince: Date.now(),
    }));
    // The target took the new password; the crash came before the promotion.
    await admin.query(`ALTER ROLE ${rootUser} WITH PASSWORD 'Pending-password-two-0123456789'`);
    expect((await call('PUT', 'database/reset/pg')).status).toBe(204);
    const after = (await objects.get<StoredConnection>(uuid, 'connection', 'pg')) as StoredConnection;
    expect([after.password, after.pendingPassword]).toEqual(['Pending-password-two-0123456789', undefined]);
    expect((await call('GET', 'database/creds/app')).status).toBe(200);
  });

  it('static roles: rotated at creation, on request and when due; the old password stops working', async () => {
    expect((await call('PUT', 'database/static-roles/svc', { db_name: 'pg', username: staticUser, rotation_period: '1s' })).json.errors).toEqual([
      'rotation_period must be 5 seconds or more',
    ]);
    expect(
      (await call('PUT', 'database/static-roles/svc', { db_name: 'pg', username: staticUser, rotation_period: '1h', rotation_schedule: '0 * * * *' })).json
        .errors,
    ).toEqual(['rotation_schedule is not supported; use rotation_period']);
    expect((await call('PUT', 'database/static-roles/svc', { db_name: 'pg', username: staticUser, rotation_period: '1h' })).status).toBe(204);
    expect(await canLogInToPostgres(target, staticUser, 'initial-static-password-1')).toBe(false);
    const first = (await call('GET', 'database/static-creds/svc')).json.data;
    expect(first).toMatchObject({ username: staticUser, rotation_period: 3600 });
    expect(first.ttl).toBeGreaterThan(3590);
    expect(await canLogInToPostgres(target, staticUser, first.password)).toBe(true);
    expect((await call('GET', 'database/static-roles/svc')).json.data).toMatchObject({
      db_name: 'pg',
      username: staticUser,
      rotation_period: 3600,
      credential_type: 'password',
    });
    expect((await call('GET', 'database/static-roles/svc')).body).not.toContain(first.password);
    expect((await call('GET', 'database/static-roles?list=true')).json.data.keys).toEqual(['svc']);

    expect((await call('PUT', 'database/rotate-role/svc')).status).toBe(204);
    const second = (await call('GET', 'database/static-creds/svc')).json.data;
    expect(second.password).not.toBe(first.password);
    expect(await canLogInToPostgres(target, staticUser, first.password)).toBe(false);
    expect(await canLogInToPostgres(target, staticUser, second.password)).toBe(true);

    // Due: the periodic pass rotates it.
    expect((await call('PUT', 'database/static-roles/svc', { rotation_period: '5s' })).status).toBe(204);
    await objects.modify<StoredStaticRole>(mountUuid('database/'), 'static-role', 'svc', (r) => ({ ...r, lastRotation: Date.now() - 6000 }));
    expect((await call('GET', 'database/static-creds/svc')).json.data.ttl).toBe(0);
    await k.periodic.tick();
    const third = (await call('GET', 'database/static-creds/svc')).json.data;
    expect(third.password).not.toBe(second.password);
    expect(await canLogInToPostgres(target, staticUser, third.password)).toBe(true);
    expect((await call('PUT', 'database/static-roles/svc', { username: 'someone_else' })).json.errors).toEqual(['cannot update static account username']);
  });

  it('a static role whose first rotation fails is not kept', async () => {
    const res = await call('PUT', 'database/static-roles/ghost', { db_name: 'pg', username: `sh_missing_${suffix}`, rotation_period: '1h' });
    expect(res.status).toBe(400);
    expect(res.json.errors[0]).toMatch(/^rotating the password failed on the target database: role … does not exist/);
    expect((await call('GET', 'database/static-roles/ghost')).status).toBe(404);
  });

  it('password_policy: creds and root rotation use the policy, quotes and backslashes included', async () => {
    const policy = JSON.stringify({
      length: 24,
      rule: [{ charset: { charset: 'abcdefghijklmnopqrstuvwxyz', 'min-chars': 1 } }, { charset: { charset: `'\\"!@#$%`, 'min-chars': 4 } }],
    });
    expect((await call('PUT', 'sys/policies/password/quoted', { policy })).status).toBe(204);
    expect((await call('PUT', 'database/config/pg', { password_policy: 'nope', verify_connection: false })).json.errors).toEqual([
      'no password policy found ("nope")',
    ]);
    expect((await call('PUT', 'database/config/pg', { password_policy: 'quoted', verify_connection: false })).status).toBe(204);
    expect((await call('GET', 'database/config/pg')).json.data.password_policy).toBe('quoted');
    const creds = (await call('GET', 'database/creds/app')).json.data;
    expect(creds.password).toMatch(/^[a-z'\\"!@#$%]{24}$/);
    expect(creds.password.replace(/[a-z]/g, '').length).toBeGreaterThanOrEqual(4);
    expect(await canLogInToPostgres(target, creds.username, creds.password)).toBe(true);
    expect((await call('PUT', 'database/rotate-root/pg')).status).toBe(204);
    const root = (await objects.get<StoredConnection>(mountUuid('database/'), 'connection', 'pg')) as StoredConnection;
    expect(root.password).toMatch(/^[a-z'\\"!@#$%]{24}$/);
    expect(await canLogInToPostgres(target, rootUser, root.password)).toBe(true);
    expect((await call('GET', 'database/creds/app')).status).toBe(200);
    expect((await call('PUT', 'database/config/pg', { password_policy: '', verify_connection: false })).status).toBe(204);
  });

  it('renew statements run with the new expiry', async () => {
    const creds = await call('GET', 'database/creds/app');
    const renewed = await call('PUT', 'sys/leases/renew', { lease_id: creds.json.lease_id, increment: 600 });
    expect(renewed.status).toBe(200);
    const { rows } = await admin.query<{ until: Date }>('SELECT rolvaliduntil AS until FROM pg_roles WHERE rolname = $1', [creds.json.data.username]);
    expect(Math.abs(rows[0].until.getTime() - (Date.now() + 600_000))).toBeLessThan(10_000);
    expect(renewed.json.lease_duration).toBeGreaterThanOrEqual(599);
    // Without an increment a renewal grants the TTL the lease was issued with (the role's 1h), not the last increment.
    const again = await call('PUT', 'sys/leases/renew', { lease_id: creds.json.lease_id });
    expect(again.json.lease_duration).toBeGreaterThanOrEqual(3599);
  });

  it("the reconciler drops this mount's old users without a lease, and nothing else", async () => {
    expect((await call('PUT', 'sys/mounts/dbo', { type: 'database', options: { orphan_grace_period: '2s' } })).status).toBe(204);
    expect((await call('PUT', 'sys/mounts/dbx', { type: 'database', options: { orphan_grace_period: 'soon' } })).json.errors).toEqual([
      'orphan_grace_period must be a duration such as "15m"',
    ]);
    const stored = (await objects.get<StoredConnection>(mountUuid('database/'), 'connection', 'pg')) as StoredConnection;
    const hostAndDb = `${new URL(target).host}${new URL(target).pathname}`;
    expect(
      (
        await call('PUT', 'dbo/config/pg', {
          plugin_name: 'postgresql-database-plugin',
          connection_url: `postgresql://{{username}}:{{password}}@${hostAndDb}`,
          username: rootUser,
          password: stored.password,
          allowed_roles: ['*'],
        })
      ).status,
    ).toBe(204);
    expect((await call('PUT', 'dbo/roles/app', { db_name: 'pg', creation_statements: CREATE })).status).toBe(204);
    const tag = mountTag(mountUuid('dbo/'));
    const leased = (await call('GET', 'dbo/creds/app')).json;
    // As a kill -9 between CREATE ROLE and the lease commit leaves it: this mount's form, no lease.
    const orphan = generateUsername('app', 63, tag, Date.now() - 60_000);
    const young = generateUsername('app', 63, tag, Date.now() + 60_000);
    const otherMount = generateUsername('app', 63, tag === 'ffff' ? 'eeee' : 'ffff', Date.now() - 60_000);
    const human = `v-app-${suffix}`;
    // Created as the engine's root user, as the engine would have.
    const asRoot = new Client({ connectionString: withCredentials(target, rootUser, stored.password) });
    await asRoot.connect();
    for (const name of [orphan, young, otherMount, human]) await asRoot.query(`CREATE ROLE "${name}" LOGIN`);
    await asRoot.end();
    await k.periodic.tick();
    expect(logLines.filter((l) => l.includes('dbo/config/pg'))).toEqual([expect.stringContaining(`dropped orphaned user ${orphan} (no lease)`)]);
    expect(await userExists(orphan)).toBe(false);
    for (const kept of [young, otherMount, human, leased.data.username]) expect(await userExists(kept)).toBe(true);
    // The lease record dropped without the engine (revoke-force): once past the grace, the user goes too.
    expect((await call('PUT', `sys/leases/revoke-force/dbo/creds/app`)).status).toBe(204);
    await new Promise((r) => setTimeout(r, 2500));
    await k.periodic.tick();
    expect(await userExists(leased.data.username)).toBe(false);
    for (const name of [young, otherMount, human]) await admin.query(`DROP ROLE "${name}"`);
  });
});
