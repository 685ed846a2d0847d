/**
 * The MySQL/MariaDB plugin (`mysql-database-plugin`), with `mysql2`: Vault's DSN form
 * `{{username}}:{{password}}@tcp(host:port)/[db]`. MySQL commits DDL implicitly, so statements
 * cannot share a transaction: when creation fails part-way the user is dropped again.
 */
import { createConnection, createPool, escape, escapeId, type Pool, type PoolConnection } from 'mysql2/promise';
import { DEFAULT_MAX_OPEN_CONNECTIONS, PoolCache } from './connection-pools';
import type { Dialect, TemplateValues } from './statement-template';
import { renderStatement } from './statement-template';

export const MYSQL_DIALECT: Dialect = { identifierQuote: '`', identifier: (v) => escapeId(v), literal: (v) => escape(v) };

/** MySQL 8 allows 32 characters in a user name. */
export const MYSQL_MAX_USERNAME = 32;

export const MYSQL_DEFAULT_REVOCATION = ["DROP USER IF EXISTS '{{name}}'@'%';"];

/** Vault's default for root and static-role rotation. */
export const MYSQL_DEFAULT_ROTATION = ["ALTER USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';"];

export interface MysqlConnection {
  connectionUrl: string;
  username: string;
  password: string;
  maxOpenConnections?: number;
}

const pools = new PoolCache<Pool>((pool) => pool.end());

export const closeMysqlPools = () => pools.closeAll();

const DSN = /^(.*?):(.*)@tcp\(([^):]+)(?::(\d+))?\)\/([^?]*)(?:\?.*)?$/;

function parse(c: MysqlConnection): { host: string; port: number; user: string; password: string; database?: string } {
  const filled = c.connectionUrl.replace(/\{\{\s*username\s*\}\}/g, '\u0000U').replace(/\{\{\s*password\s*\}\}/g, '\u0000P');
  const m = DSN.exec(filled);
  if (!m) throw new Error('connection_url must look like {{username}}:{{password}}@tcp(host:port)/');
  const fill = (v: string) => v.replace('\u0000U', c.username).replace('\u0000P', c.password);
  return { user: fill(m[1]), password: fill(m[2]), host: m[3], port: m[4] ? Number(m[4]) : 3306, database: m[5] || undefined };
}

async function withConnection<T>(c: MysqlConnection, work: (conn: Awaited<ReturnType<typeof createConnection>>) => Promise<T>): Promise<T> {
  const conn = await createConnection({ ...parse(c), connectTimeout: 5000, multipleStatements: false });
  try {
    return await work(conn);
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/** A connection from the target identity's pool (connection-pools.ts); one that failed without a server error code is dropped. */
async function withPooledConnection<T>(c: MysqlConnection, work: (conn: PoolConnection) => Promise<T>): Promise<T> {
  const options = parse(c);
  const max = c.maxOpenConnections || DEFAULT_MAX_OPEN_CONNECTIONS;
  const pool = pools.get(['mysql', options, max], () =>
    createPool({ ...options, connectTimeout: 5000, connectionLimit: max, maxIdle: max, idleTimeout: 30_000, multipleStatements: false }),
  );
  const conn = await pool.getConnection();
  let reusable = false;
  try {
    const result = await work(conn);
    reusable = true;
    return result;
  } catch (err) {
    reusable = Boolean((err as { errno?: number }).errno);
    throw err;
  } finally {
    if (reusable) conn.release();
    else conn.destroy();
  }
}

export async function verifyMysql(c: MysqlConnection): Promise<void> {
  await withConnection(c, (conn) => conn.query('SELECT 1'));
}

/** Each template may hold several statements separated by `;` (as Vault's plugin splits them). */
export function splitStatements(rendered: string[]): string[] {
  return rendered
    .flatMap((s) => s.split(';'))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export async function runMysql(c: MysqlConnection, templates: string[], values: TemplateValues): Promise<void> {
  const statements = splitStatements(templates.map((t) => renderStatement(t, values, MYSQL_DIALECT)));
  await withPooledConnection(c, async (conn) => {
    for (const s of statements) await conn.query(s);
  });
}

export async function listMysqlUsers(c: MysqlConnection, prefix: string): Promise<string[]> {
  const [rows] = await withPooledConnection(c, (conn) =>
    conn.query('SELECT DISTINCT User AS u FROM mysql.user WHERE LEFT(User, ?) = ?', [prefix.length, prefix]),
  );
  return (rows as { u: string | Buffer }[]).map((r) => r.u.toString());
}

/** Revocation is idempotent: a user that no longer exists is revoked already. */
export async function revokeMysqlUser(c: MysqlConnection, templates: string[], username: string): Promise<void> {
  const [rows] = await withPooledConnection(c, (conn) => conn.query('SELECT 1 FROM mysql.user WHERE User = ?', [username]));
  if ((rows as unknown[]).length > 0) await runMysql(c, templates, { name: username });
}
