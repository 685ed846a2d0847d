/**
 * The `database` engine's MySQL/MariaDB plugin against the machine's MariaDB (127.0.0.1:3306, root,
 * empty password): created users log in with their password and not after revocation or expiry.
 * Without a reachable MariaDB the tests are skipped with the reason, except under CI=true, where they fail (support/services.ts).
 */
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { generateUsername, mountTag } from '../../src/engines/database/statement-template';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';
import { describeWithService, MARIADB } from '../support/services';
import { until } from '../support/wait';

jest.setTimeout(120_000);

const { host: HOST, port: PORT } = MARIADB;
const CREATE = ["CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';", "GRANT SELECT ON mysql.user TO '{{name}}'@'%';"];

async function canLogIn(user: string, password: string): Promise<boolean> {
  try {
    const c = await createConnection({ host: HOST, port: PORT, user, password, connectTimeout: 5000 });
    await c.query('SELECT 1');
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function asRoot(sql: string): Promise<void> {
  const c = await createConnection({ host: HOST, port: PORT, user: 'root', password: '' });
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function userExists(name: string): Promise<boolean> {
  const c = await createConnection({ host: HOST, port: PORT, user: 'root', password: '' });
  const [rows] = await c.query('SELECT 1 FROM mysql.user WHERE User = ?', [name]);
  await c.end();
  return (rows as unknown[]).length > 0;
}

describeWithService('mariadb', 'database engine, MySQL/MariaDB (medium)', () => {
  let k: TestKernel | undefined;
  let call: Call;
  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    expect((await call('PUT', 'sys/mounts/mysql', { type: 'database' })).status).toBe(204);
    const config = await call('PUT', 'mysql/config/maria', {
      plugin_name: 'mysql-database-plugin',
      connection_url: `{{username}}:{{password}}@tcp(${HOST}:${PORT})/`,
      username: 'root',
      password: '',
      allowed_roles: ['*'],
    });
    expect(config.status).toBe(204);
    expect((await call('PUT', 'mysql/roles/app', { db_name: 'maria', creation_statements: CREATE, default_ttl: '1h' })).status).toBe(204);
    expect((await call('PUT', 'mysql/roles/short', { db_name: 'maria', creation_statements: CREATE, default_ttl: '1s', max_ttl: '1s' })).status).toBe(204);
  });
  afterAll(async () => k?.close());

  it('creds log in; after revoke the user is gone', async () => {
    const creds = await call('GET', 'mysql/creds/app');
    expect(creds.status).toBe(200);
    const { username, password } = creds.json.data as { username: string; password: string };
    expect(username.length).toBeLessThanOrEqual(32);
    expect(await canLogIn(username, password)).toBe(true);
    expect(await canLogIn(username, 'wrong-password-123')).toBe(false);
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: creds.json.lease_id })).status).toBe(204);
    expect(await canLogIn(username, password)).toBe(false);
    expect(await userExists(username)).toBe(false);
  });

  it('an expired lease drops the user', async () => {
    const creds = await call('GET', 'mysql/creds/short');
    const { username, password } = creds.json.data as { username: string; password: string };
    expect(await canLogIn(username, password)).toBe(true);
    await until(async () => !(await userExists(username)));
    expect(await canLogIn(username, password)).toBe(false);
  });

  it('a creation that fails part-way leaves no user and no lease; double-quoted names are refused at role write', async () => {
    await call('PUT', 'mysql/roles/broken', { db_name: 'maria', creation_statements: [CREATE[0], "GRANT NO_SUCH_PRIVILEGE ON *.* TO '{{name}}'@'%';"] });
    const before = await createConnection({ host: HOST, port: PORT, user: 'root', password: '' });
    const [[{ n: usersBefore }]] = (await before.query("SELECT count(*) AS n FROM mysql.user WHERE User LIKE 'v-broken-%'")) as unknown as [[{ n: number }]];
    await before.end();
    expect((await call('GET', 'mysql/creds/broken')).status).toBe(400);
    const after = await createConnection({ host: HOST, port: PORT, user: 'root', password: '' });
    const [[{ n: usersAfter }]] = (await after.query("SELECT count(*) AS n FROM mysql.user WHERE User LIKE 'v-broken-%'")) as unknown as [[{ n: number }]];
    await after.end();
    expect(Number(usersAfter)).toBe(Number(usersBefore));
    const [{ n }] = await k!.dataSource.query("SELECT count(*)::int AS n FROM leases WHERE lease_id LIKE 'mysql/creds/broken/%'");
    expect(n).toBe(0);
    expect((await call('PUT', 'mysql/roles/dq', { db_name: 'maria', creation_statements: ['DROP USER "{{name}}"'] })).status).toBe(400);
  });

  it('rotate-root, static roles and the orphan reconciler with a root user of its own', async () => {
    const suffix = randomBytes(4).toString('hex');
    const admin = `sh_admin_${suffix}`;
    const service = `sh_static_${suffix}`;
    // Not the machine's root: rotating its password would lock every other test out.
    await asRoot(`CREATE USER '${admin}'@'%' IDENTIFIED BY 'initial-admin-password-1'`);
    await asRoot(`GRANT CREATE USER, SELECT ON *.* TO '${admin}'@'%' WITH GRANT OPTION`);
    await asRoot(`CREATE USER '${service}'@'%' IDENTIFIED BY 'initial-static-password-1'`);
    try {
      expect((await call('PUT', 'sys/mounts/mysql2', { type: 'database', options: { orphan_grace_period: '1s' } })).status).toBe(204);
      const config = {
        plugin_name: 'mysql-database-plugin',
        connection_url: `{{username}}:{{password}}@tcp(${HOST}:${PORT})/`,
        username: admin,
        password: 'initial-admin-password-1',
        allowed_roles: ['*'],
      };
      expect((await call('PUT', 'mysql2/config/maria', config)).status).toBe(204);
      expect((await call('PUT', 'mysql2/rotate-root/maria')).status).toBe(204);
      expect(await canLogIn(admin, 'initial-admin-password-1')).toBe(false);
      expect((await call('PUT', 'mysql2/roles/app', { db_name: 'maria', creation_statements: [CREATE[0]] })).status).toBe(204);
      const creds = (await call('GET', 'mysql2/creds/app')).json;
      expect(await canLogIn(creds.data.username, creds.data.password)).toBe(true);

      expect((await call('PUT', 'mysql2/static-roles/svc', { db_name: 'maria', username: service, rotation_period: '1h' })).status).toBe(204);
      expect(await canLogIn(service, 'initial-static-password-1')).toBe(false);
      const first = (await call('GET', 'mysql2/static-creds/svc')).json.data;
      expect(await canLogIn(service, first.password)).toBe(true);
      expect((await call('PUT', 'mysql2/rotate-role/svc')).status).toBe(204);
      const second = (await call('GET', 'mysql2/static-creds/svc')).json.data;
      expect(await canLogIn(service, first.password)).toBe(false);
      expect(await canLogIn(service, second.password)).toBe(true);

      const tag = mountTag(k!.mounts.get('secret', 'mysql2/')?.uuid as string);
      const orphan = generateUsername('app', 32, tag, Date.now() - 60_000);
      await asRoot(`CREATE USER '${orphan}'@'%' IDENTIFIED BY 'orphan-password-1'`);
      await k!.periodic.tick();
      expect(await userExists(orphan)).toBe(false);
      expect(await userExists(creds.data.username)).toBe(true);
      expect((await call('PUT', 'sys/leases/revoke-prefix/mysql2/')).status).toBe(204);
      expect(await userExists(creds.data.username)).toBe(false);
    } finally {
      await asRoot(`DROP USER IF EXISTS '${admin}'@'%', '${service}'@'%'`);
    }
  });
});
