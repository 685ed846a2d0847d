/**
 * Database credentials across restarts: a restart mid-lease still revokes on time; kill -9 between
 * creating a database user and committing its lease: after the restart the orphan reconciler drops
 * the user. The lease commit is held back by a lock on the `leases` table, so the
 * kill lands in exactly that gap; the target is the run's embedded PostgreSQL (password auth).
 */
import { Client } from 'pg';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { until } from '../support/wait';

jest.setTimeout(180_000);

/** A killed server's leader lease runs out after ha_lease_ttl: kept short, so the restarted server leads (and runs the periodic pass) soon. */
const HA_SHORT = { SECRETHUB_HA_LEASE_TTL: '2s', SECRETHUB_HA_RENEW_INTERVAL: '1s' };

const CREATE = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`];

interface Setup {
  url: string;
  target: URL;
  key: string;
  as: { token: string };
}

describe('database credentials across restarts and a crash (e2e)', () => {
  let server: ServerProcess | undefined;
  afterAll(async () => server?.stop());

  /** A server on a fresh database with a `database` mount (these options) whose connection `pg` is a fresh target database, and `role`. */
  async function start(mountOptions: Record<string, string>, role: { name: string; default_ttl?: string; max_ttl?: string }): Promise<Setup> {
    const url = await createTestDatabase();
    const target = new URL(await createTestDatabase());
    server = await startServerProcess({ databaseUrl: url, env: HA_SHORT });
    const init = (await call(server.address, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })).body;
    await call(server.address, 'PUT', 'sys/unseal', { body: { key: init.keys[0] } });
    const as = { token: init.root_token as string };
    expect((await call(server.address, 'PUT', 'sys/mounts/database', { ...as, body: { type: 'database', options: mountOptions } })).status).toBe(204);
    const config = {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@${target.host}${target.pathname}`,
      username: decodeURIComponent(target.username),
      password: decodeURIComponent(target.password),
      allowed_roles: ['*'],
    };
    expect((await call(server.address, 'PUT', 'database/config/pg', { ...as, body: config })).status).toBe(204);
    const { name, ...ttls } = role;
    expect((await call(server.address, 'PUT', `database/roles/${name}`, { ...as, body: { db_name: 'pg', creation_statements: CREATE, ...ttls } })).status).toBe(
      204,
    );
    return { url, target, key: init.keys[0], as };
  }

  it('a restart mid-lease: the restarted server revokes the user when the lease expires', async () => {
    const { url, target, key, as } = await start({}, { name: 'brief', default_ttl: '20s', max_ttl: '1h' });
    const creds = await call(server!.address, 'GET', 'database/creds/brief', as);
    const expiresAt = Date.now() + 20_000;
    await server!.stop();
    server = await startServerProcess({ databaseUrl: url });
    await call(server.address, 'PUT', 'sys/unseal', { body: { key } });
    const admin = new Client({ connectionString: target.toString() });
    await admin.connect();
    try {
      const exists = async () => (await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [creds.body.data.username])).rows.length > 0;
      expect(Date.now()).toBeLessThan(expiresAt);
      expect(await exists()).toBe(true);
      await until(async () => !(await exists()), 40_000);
      // On time: within the expiry loop's tick (1 s), plus slack for a loaded machine.
      expect(Date.now() - expiresAt).toBeLessThan(5000);
    } finally {
      await admin.end();
    }
    await server.stop();
    server = undefined;
  });

  it('a user created just before kill -9, whose lease never committed, is dropped after the restart', async () => {
    const { url, target, key, as } = await start({ orphan_grace_period: '1s' }, { name: 'crash' });

    const storage = new Client({ connectionString: url });
    const admin = new Client({ connectionString: target.toString() });
    await storage.connect();
    await admin.connect();
    const crashUsers = async () =>
      (await admin.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-crash-%'")).rows.map((r) => r.rolname);
    try {
      await storage.query('BEGIN');
      await storage.query('LOCK TABLE leases IN EXCLUSIVE MODE');
      const pending = call(server!.address, 'GET', 'database/creds/crash', as).catch(() => undefined);
      await until(async () => (await crashUsers()).length === 1);
      await server!.kill9();
      server = undefined;
      await pending;
      // The dead server's INSERT still waits in its backend and would commit once the lock goes: end
      // those backends first, as if the process had died before sending it.
      await storage.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      await storage.query('ROLLBACK');
      const [orphan] = await crashUsers();
      expect((await storage.query("SELECT count(*)::int AS n FROM leases WHERE lease_id LIKE 'database/creds/crash/%'")).rows[0].n).toBe(0);

      await new Promise((r) => setTimeout(r, 1500));
      server = await startServerProcess({ databaseUrl: url, env: HA_SHORT });
      await call(server.address, 'PUT', 'sys/unseal', { body: { key } });
      // The killed process's leader lease expires (ha_lease_ttl); the pass the new leader runs at once
      // finds the user past its grace with no lease.
      await until(async () => !(await crashUsers()).includes(orphan)).catch((err) => {
        throw new Error(`${(err as Error).message}; server log:\n${server?.output()}`);
      });
      // The log line follows the DROP ROLE, through the child's stdout pipe: wait for it too.
      await until(async () => server!.output().includes(`dropped orphaned user ${orphan} (no lease)`)).catch(() => undefined);
      expect(server.output()).toContain(`dropped orphaned user ${orphan} (no lease)`);
      // The engine still works: a new user, with its lease.
      const creds = await call(server.address, 'GET', 'database/creds/crash', as);
      expect(creds.status).toBe(200);
      expect(await crashUsers()).toEqual([creds.body.data.username]);
    } finally {
      await storage.end();
      await admin.end();
    }
  });
});
