/**
 * Session state on a connection of its own: the migration lock is taken and released on one
 * connection, and with a session URL (PgBouncer in front of the pool) the session advisory locks
 * and named statements stay correct while the pool's server sessions are shared.
 */
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { MIGRATION_LOCK, openDatabase } from '../../src/database/data-source';
import { runStatement, statement, withTryAdvisoryLock } from '../../src/database/sql';
import { createTestDatabase } from '../support/database';
import { describeWithPgBouncer, startPgBouncer, type PgBouncer } from '../support/pgbouncer';
import { until } from '../support/wait';

interface AdvisoryHolder {
  pid: number;
  granted: boolean;
  application_name: string;
}

/** Who holds or waits for the advisory lock with bigint key `key` (hashtext keys fit in objid as well). */
async function advisoryHolders(db: Client, key: number): Promise<AdvisoryHolder[]> {
  const { rows } = await db.query<AdvisoryHolder>(
    `SELECT l.pid, l.granted, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND l.objid = ($1::bigint & 4294967295)::oid ORDER BY l.granted DESC`,
    [key],
  );
  return rows;
}

describe('session connection (medium)', () => {
  let url: string;
  let admin: Client;

  beforeAll(async () => {
    url = await createTestDatabase();
    admin = new Client({ connectionString: url });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
  });

  it('takes the migration lock on a connection of its own, waits for it, and releases it on that same connection', async () => {
    await admin.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    let opened: DataSource | undefined;
    const opening = openDatabase(url, { poolSize: 3 }).then((o) => (opened = o.dataSource));
    let waiter: AdvisoryHolder | undefined;
    await until(async () => (waiter = (await advisoryHolders(admin, MIGRATION_LOCK)).find((h) => !h.granted)) !== undefined);
    expect(waiter?.application_name).toBe('secrethub-migrator');
    expect(opened).toBeUndefined();
    await admin.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    await opening;
    try {
      // The pool stays open, yet no session of it (nor the migrator's) holds the lock.
      expect(await advisoryHolders(admin, MIGRATION_LOCK)).toEqual([]);
      const { rows } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [waiter?.pid]);
      expect(rows).toEqual([]);
      const [{ n }] = (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations')).rows;
      expect(n).toBeGreaterThan(0);
    } finally {
      await opened?.destroy();
    }
  });

  describeWithPgBouncer('behind PgBouncer in transaction mode', () => {
    let bouncer: PgBouncer;
    let dataSource: DataSource;

    beforeAll(async () => {
      bouncer = await startPgBouncer(url, 2);
      ({ dataSource } = await openDatabase(bouncer.url, { poolSize: 6, connections: { sessionUrl: url, preparedStatements: false } }));
    });

    afterAll(async () => {
      await dataSource?.destroy();
      await bouncer?.stop();
    });

    it('holds a session advisory lock on one direct connection for the whole of the work', async () => {
      const key = (await admin.query<{ k: number }>("SELECT hashtext('secrethub.test-lock') AS k")).rows[0].k;
      const seen = await withTryAdvisoryLock(dataSource, 'secrethub.test-lock', async () => {
        // Pool traffic through PgBouncer meanwhile does not move or drop the lock.
        await Promise.all(Array.from({ length: 20 }, () => dataSource.query('SELECT pg_sleep(0.01)')));
        const second = await withTryAdvisoryLock(dataSource, 'secrethub.test-lock', async () => 'got it');
        return { holders: await advisoryHolders(admin, key), second };
      });
      expect(seen?.second).toBeUndefined();
      expect(seen?.holders).toEqual([expect.objectContaining({ granted: true, application_name: 'secrethub-lock' })]);
      expect(await advisoryHolders(admin, key)).toEqual([]);
    });

    it('sends statements unnamed when prepared statements are off: concurrent callers share the server sessions', async () => {
      const st = statement('test-session-connection-count', 'SELECT count(*)::int AS n FROM schema_migrations WHERE name <> $1');
      const results = await Promise.all(Array.from({ length: 40 }, () => runStatement<{ n: number }>(dataSource, st, ['none'])));
      expect(new Set(results.map((r) => r[0].n)).size).toBe(1);
    });

    it('named statements fail there (what the setting is for)', async () => {
      const named = (await openDatabase(bouncer.url, { poolSize: 6, connections: { sessionUrl: url } })).dataSource;
      try {
        const st = statement('test-session-connection-named', 'SELECT count(*)::int AS n FROM schema_migrations WHERE name <> $1');
        const rounds = Array.from({ length: 5 }, () => Promise.all(Array.from({ length: 20 }, () => runStatement(named, st, ['none']))));
        await expect(Promise.all(rounds)).rejects.toThrow(/prepared statement/);
      } finally {
        await named.destroy();
      }
    });
  });
});
