/**
 * The PostgreSQL plugin (`postgresql-database-plugin`): runs rendered statements on the target as
 * the connection's user, on a pool per target identity (connection-pools.ts); `verify` uses a
 * client of its own. Errors keep PostgreSQL's message, which names no password (statements are
 * never echoed).
 */
import { Client, Pool, type PoolClient } from 'pg';
import { DEFAULT_MAX_OPEN_CONNECTIONS, PoolCache } from './connection-pools';
import { renderStatement, type TemplateValues } from './statement-template';

export interface PostgresConnection {
  connectionUrl: string;
  username: string;
  password: string;
  maxOpenConnections?: number;
}

const pools = new PoolCache<Pool>((pool) => pool.end());

export const closePostgresPools = () => pools.closeAll();

/** Concurrent catalog changes (GRANT … ON DATABASE from two creations) fail in PostgreSQL; the whole transaction is retried. */
const RETRIED = (err: unknown) => {
  const code = (err as { code?: string }).code;
  return code === '40001' || code === '40P01' || (code === 'XX000' && /tuple concurrently (updated|deleted)/.test((err as Error).message));
};
const ATTEMPTS = 10;

/**
 * The default revocation: end the user's sessions, drop what it owns and every privilege granted to
 * it (in this database and on shared objects such as databases), then the role.
 */
export const DEFAULT_REVOCATION = [
  "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';",
  'DROP OWNED BY "{{name}}";',
  'DROP ROLE IF EXISTS "{{name}}";',
];

/** The connection URL with the root credentials put into `{{username}}` / `{{password}}` (URL-encoded). */
function url(c: PostgresConnection): string {
  return c.connectionUrl.replace(/\{\{\s*username\s*\}\}/g, encodeURIComponent(c.username)).replace(/\{\{\s*password\s*\}\}/g, encodeURIComponent(c.password));
}

async function withPooledClient<T>(c: PostgresConnection, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const max = c.maxOpenConnections || DEFAULT_MAX_OPEN_CONNECTIONS;
  const pool = pools.get(['pg', url(c), max], () => {
    const created = new Pool({
      connectionString: url(c),
      max,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 15_000,
      application_name: 'secrethub-database',
    });
    created.on('error', () => undefined);
    return created;
  });
  const client = await pool.connect();
  let broken: Error | undefined;
  // pg-pool listens for errors only on idle clients: a connection lost while checked out (target
  // going down mid-statement) would otherwise be an unhandled 'error' event.
  const onError = (err: Error) => (broken ??= err);
  client.on('error', onError);
  try {
    return await work(client);
  } catch (err) {
    if (!(err as { code?: string }).code) broken ??= err as Error;
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

async function withClient<T>(c: PostgresConnection, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url(c), connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Vault's default for root and static-role rotation. */
export const DEFAULT_ROTATION = ['ALTER ROLE "{{name}}" WITH PASSWORD \'{{password}}\';'];

export async function verifyConnection(c: PostgresConnection): Promise<void> {
  await withClient(c, (client) => client.query('SELECT 1'));
}

/** Users whose names start with `prefix` (the reconciler's candidates). */
export async function listPostgresUsers(c: PostgresConnection, prefix: string): Promise<string[]> {
  const { rows } = await withPooledClient(c, (client) =>
    client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)', [prefix]),
  );
  return rows.map((r) => r.rolname);
}

/** Revocation is idempotent: a user that no longer exists is revoked already (DROP OWNED BY would fail on it). */
export async function revokePostgresUser(c: PostgresConnection, templates: string[], username: string): Promise<void> {
  const { rows } = await withPooledClient(c, (client) => client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username]));
  if (rows.length > 0) await runStatements(c, templates, { name: username });
}

/** Runs the templates in one transaction: all of them or none (retried whole on a concurrent catalog change). */
export async function runStatements(c: PostgresConnection, templates: string[], values: TemplateValues): Promise<void> {
  const statements = templates.map((t) => renderStatement(t, values));
  for (let attempt = 1; ; attempt++) {
    try {
      await withPooledClient(c, async (client) => {
        await client.query('BEGIN');
        try {
          for (const s of statements) await client.query(s);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
      return;
    } catch (err) {
      if (attempt >= ATTEMPTS || !RETRIED(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 10 * 2 ** attempt)));
    }
  }
}
