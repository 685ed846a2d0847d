/**
 * The `database` engine's PostgreSQL plugin under concurrency, against the run's embedded
 * PostgreSQL (password, SCRAM, authentication): 100 creds reads at once through the audited
 * pipeline all succeed with 100 distinct users, 100 tracked leases, each user logs in, and one
 * revoke-prefix removes every one of them from the target.
 *
 * The role grants CONNECT ON DATABASE, which two transactions changing the same catalog row at
 * once make fail in PostgreSQL ("tuple concurrently updated"): the plugin retries the creation's
 * transaction. Two bursts run (cold and warm): the engine's connections to the target stay within
 * its pool (max_open_connections, default 4), so a burst never exhausts the target's
 * max_connections.
 */
import { Client } from 'pg';
import { canLogInToPostgres, createTestDatabase } from '../support/database';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(180_000);

const CONCURRENT = 100;
/** Logins checked at a time: each is one more connection to the target. */
const LOGIN_PARALLEL = 10;
const CREATE = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`, 'GRANT CONNECT ON DATABASE postgres TO "{{name}}";'];
const PREFIX = 'database/creds/burst/';

interface Creds {
  leaseId: string;
  username: string;
  password: string;
}

/** `work` on every item, at most `parallel` at a time; results in input order. */
async function inBatches<T, R>(items: T[], parallel: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += parallel) out.push(...(await Promise.all(items.slice(i, i + parallel).map(work))));
  return out;
}

async function rolesNamed(targetUrl: string, names: string[]): Promise<string[]> {
  const admin = new Client({ connectionString: targetUrl });
  await admin.connect();
  try {
    return (await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [names])).rows.map((r) => r.rolname);
  } finally {
    await admin.end();
  }
}

/** The engine's open connections to this target database (its pool names itself `secrethub-database`; other test files' targets are other databases). */
async function rolesConnections(targetUrl: string): Promise<number> {
  const admin = new Client({ connectionString: targetUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    return (
      await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'secrethub-database' AND datname = current_database()",
      )
    ).rows[0].n;
  } finally {
    await admin.end();
  }
}

describe('database engine, PostgreSQL, 100 concurrent creds (medium)', () => {
  let k: TestKernel;
  let call: Call;
  let target: string;
  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    target = await createTestDatabase();
    const admin = new URL(target);
    expect((await call('PUT', 'sys/mounts/database', { type: 'database' })).status).toBe(204);
    const config = await call('PUT', 'database/config/pg', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@${admin.host}${admin.pathname}`,
      username: decodeURIComponent(admin.username),
      password: decodeURIComponent(admin.password),
      allowed_roles: ['burst'],
    });
    expect(config.status).toBe(204);
    expect((await call('PUT', 'database/roles/burst', { db_name: 'pg', creation_statements: CREATE, default_ttl: '1h', max_ttl: '2h' })).status).toBe(204);
  });
  afterAll(async () => k.close());

  it.each(['cold', 'warm'])(
    `%s: ${CONCURRENT} creds at once: all succeed, distinct users, tracked leases, all log in; revoke-prefix drops every user`,
    async () => {
      let engineConnections = 0;
      const sampler = setInterval(() => {
        void rolesConnections(target).then((n) => (engineConnections = Math.max(engineConnections, n)));
      }, 20);
      const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => call('GET', 'database/creds/burst'))).finally(() => clearInterval(sampler));
      expect(engineConnections).toBeLessThanOrEqual(4);
      // Every failure with its status and message, so a failing run says what failed (e.g. the target's max_connections).
      const failures = answers.filter((a) => a.status !== 200).map((a) => `${a.status}: ${JSON.stringify(a.json.errors ?? a.body)}`);
      expect(failures).toEqual([]);
      const creds: Creds[] = answers.map((a) => ({ leaseId: a.json.lease_id, username: a.json.data.username, password: a.json.data.password }));

      // Distinct users and leases, one lease row each, all live, all under the role's prefix.
      const usernames = creds.map((c) => c.username);
      expect(new Set(usernames).size).toBe(CONCURRENT);
      expect(new Set(creds.map((c) => c.leaseId)).size).toBe(CONCURRENT);
      const rows: { lease_id: string; revoked: boolean }[] = await k.dataSource.query('SELECT lease_id, revoked FROM leases WHERE lease_id LIKE $1', [
        `${PREFIX}%`,
      ]);
      expect(
        rows
          .filter((r) => !r.revoked)
          .map((r) => r.lease_id)
          .sort(),
      ).toEqual(creds.map((c) => c.leaseId).sort());
      const listed = await call('GET', `sys/leases/lookup/${PREFIX}?list=true`);
      expect((listed.json.data.keys as string[]).sort()).toEqual(creds.map((c) => c.leaseId.slice(PREFIX.length)).sort());

      // Each user exists on the target and logs in with its own password.
      expect((await rolesNamed(target, usernames)).sort()).toEqual([...usernames].sort());
      const logins = await inBatches(creds, LOGIN_PARALLEL, (c) => canLogInToPostgres(target, c.username, c.password));
      expect(creds.filter((_, i) => !logins[i]).map((c) => c.username)).toEqual([]);

      // One revoke-prefix: every lease revoked, every user gone from pg_roles and refused at login.
      expect((await call('PUT', `sys/leases/revoke-prefix/${PREFIX}`, {})).status).toBe(204);
      const after: { revoked: boolean; revocation_reason: string | null }[] = await k.dataSource.query(
        'SELECT revoked, revocation_reason FROM leases WHERE lease_id = ANY($1)',
        [creds.map((c) => c.leaseId)],
      );
      expect(after).toHaveLength(CONCURRENT);
      expect(after.every((r) => r.revoked && r.revocation_reason === 'revoked')).toBe(true);
      expect((await call('GET', `sys/leases/lookup/${PREFIX}?list=true`)).status).toBe(404);
      expect(await rolesNamed(target, usernames)).toEqual([]);
      expect(await canLogInToPostgres(target, creds[0].username, creds[0].password)).toBe(false);
    },
  );
});
