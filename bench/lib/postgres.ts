/**
 * The bench's PostgreSQL: the server named by DATABASE_URL, else one embedded PostgreSQL in a
 * temporary directory. Either way the bench creates fresh databases on it (the floor's, SecretHub's,
 * a second SecretHub's that holds 100k secrets, one for the audit writer measured alone, and the
 * target of the `database` engine in db-creds) and removes them (or the whole embedded cluster)
 * when it stops. db-creds creates and drops users (roles) on this same server: roles belong to the
 * cluster, not to a database, so on a DATABASE_URL server the scenario drops its own leftovers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { cpuSeconds } from './processes';

export interface BenchDatabases {
  /** 'embedded' or 'DATABASE_URL'. */
  source: string;
  floorUrl: string;
  serverUrl: string;
  /** The database of the second SecretHub server, grown to 100k secrets for the cost-growth comparison. */
  largeUrl: string;
  /** A database for the audit chain writer measured in the runner's process, without a server (audit-append). */
  auditUrl: string;
  /** The database the `database` engine connects to in db-creds, as the bench's admin user (who must be able to CREATE ROLE). */
  targetUrl: string;
  /** The databases asked for by name (startDatabases' `extra`), by that name. */
  extraUrls: Record<string, string>;
  /** `SELECT version()`. */
  version: string;
  stop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function withClient<T>(url: string, work: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the bench's five databases, and one `bench_<name>_<suffix>` for each name in `extra`. */
export async function startDatabases(log: (m: string) => void, extra: string[] = []): Promise<BenchDatabases> {
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let dir: string | undefined;
  if (!adminUrl) {
    dir = mkdtempSync(join(tmpdir(), 'secrethub-bench-pg-'));
    try {
      const handle = await startEmbeddedPostgres(dir, log);
      adminUrl = handle.url;
      stopEmbedded = () => handle.stop();
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const names = {
    floor: `bench_floor_${suffix}`,
    server: `bench_server_${suffix}`,
    large: `bench_large_${suffix}`,
    audit: `bench_audit_${suffix}`,
    target: `bench_target_${suffix}`,
  };
  const created: string[] = [];
  const stop = async () => {
    if (!stopEmbedded) {
      // An external server outlives the bench: drop what we created there.
      await withClient(adminUrl as string, async (c) => {
        for (const name of created) await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
      }).catch((e: Error) => log(`could not drop the bench databases: ${e.message}`));
    }
    await stopEmbedded?.().catch((e: Error) => log(`could not stop the embedded PostgreSQL: ${e.message}`));
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const version = await withClient(adminUrl, async (c) => {
      for (const name of [names.floor, names.server, names.large, names.audit, names.target, ...extra.map((e) => `bench_${e}_${suffix}`)]) {
        await c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`);
        created.push(name);
      }
      return ((await c.query<{ version: string }>('SELECT version()')).rows[0] as { version: string }).version;
    });
    return {
      source: stopEmbedded ? 'embedded' : 'DATABASE_URL',
      floorUrl: withDatabase(adminUrl, names.floor),
      serverUrl: withDatabase(adminUrl, names.server),
      largeUrl: withDatabase(adminUrl, names.large),
      auditUrl: withDatabase(adminUrl, names.audit),
      targetUrl: withDatabase(adminUrl, names.target),
      extraUrls: Object.fromEntries(extra.map((e) => [e, withDatabase(adminUrl as string, `bench_${e}_${suffix}`)])),
      version,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Runs one query on `url` with a short-lived connection. */
export async function query<R extends object = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  return withClient(url, async (c) => (await c.query<R>(text, values)).rows);
}

/** Entries committed so far on the audit chain in `url`'s database (the head's sequence number: sequences are gap-free, one per row). */
export async function auditSequence(url: string): Promise<number> {
  const rows = await query<{ n: string }>(url, 'SELECT sequence_number AS n FROM audit_chain_head WHERE id = 1');
  if (!rows[0]) throw new Error('audit_chain_head has no row');
  return Number(rows[0].n);
}

/**
 * CPU seconds used so far by each other backend connected to `url`'s database (the pool of the
 * server under test), by pid, read from /proc; undefined when PostgreSQL is not on this machine.
 */
export async function backendCpuSeconds(url: string): Promise<Map<number, number> | undefined> {
  const rows = await query<{ pid: number }>(url, 'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    const s = cpuSeconds(pid);
    if (s === undefined) return undefined;
    out.set(pid, s);
  }
  return out;
}

/** CPU seconds the backends used between two readings (a backend gone meanwhile is not counted). */
export function backendCpuDelta(before: Map<number, number> | undefined, after: Map<number, number> | undefined): number | undefined {
  if (!before || !after || after.size === 0) return undefined;
  let total = 0;
  for (const [pid, s] of after) total += s - (before.get(pid) ?? 0);
  return total;
}
