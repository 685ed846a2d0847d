/**
 * What must live on one PostgreSQL server session, and how the pool may talk to the server.
 *
 * Behind a transaction-mode pooler (PgBouncer) two statements of one pool client may run on two
 * server sessions: a session advisory lock could be released on another session than the one that
 * took it, a LISTEN would hear nothing, and a named statement prepared on one server connection is
 * unknown on the next. So:
 * - session state (LISTEN, the audit writer's pipelined transactions, session advisory locks, the
 *   migration lock) lives on a connection of its own to the session URL: `ha_connection_url` when
 *   set (a direct connection), else the pool's (without one, a session advisory lock holds a pool
 *   connection throughout instead);
 * - with `preparedStatements` false every statement is sent unnamed (parsed on each call).
 */
import { Client } from 'pg';
import type { DataSource } from 'typeorm';

export interface ConnectionSettings {
  /** URL of a direct (not transaction-pooled) connection for session state; the pool's URL when unset. */
  sessionUrl?: string;
  /** False: statements are never prepared under a name (a transaction-mode pooler cannot keep them). */
  preparedStatements?: boolean;
}

const settingsOf = new WeakMap<DataSource, ConnectionSettings>();

export function setConnectionSettings(dataSource: DataSource, settings: ConnectionSettings): void {
  settingsOf.set(dataSource, settings);
}

/** Whether named prepared statements may be used on `dataSource`'s pool (default true). */
export function preparedStatementsAllowed(dataSource: DataSource): boolean {
  return settingsOf.get(dataSource)?.preparedStatements ?? true;
}

/** The direct URL configured for session state (`ha_connection_url`), if any. */
export function directSessionUrl(dataSource: DataSource): string | undefined {
  return settingsOf.get(dataSource)?.sessionUrl;
}

/** The URL session state connects to: the configured direct URL, else the DataSource's own (undefined when it has none). */
export function sessionUrl(dataSource: DataSource): string | undefined {
  return directSessionUrl(dataSource) ?? (dataSource.options as { url?: string }).url;
}

/**
 * A new connection to `url` held by the caller, who must `end()` it. A connection error only ends
 * it (whatever it held, such as a session lock, is released by the server with the session).
 */
export async function openSessionConnection(url: string, applicationName: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}
