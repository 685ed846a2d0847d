/**
 * An embedded PostgreSQL of a test's own, which the test may stop and start (the run's one is shared).
 * Started by a short-lived Node process from the build: the binaries package is ESM-only, which
 * jest's module sandbox cannot import. The postmaster is detached and outlives that process.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { until } from './wait';
import { alive } from './workers';

const EMBEDDED = join(__dirname, '..', '..', 'dist', 'src', 'database', 'embedded-postgres.js');

export interface OwnPostgres {
  url: string;
  port: number;
  cluster: string;
}

/** Starts (or restarts) the embedded PostgreSQL whose data directory is `dir`; the same port each time while it is free. */
export async function startOwnPostgres(dir: string): Promise<OwnPostgres> {
  const script = `require(${JSON.stringify(EMBEDDED)}).startEmbeddedPostgres(${JSON.stringify(dir)}, () => undefined)
    .then((h) => process.stdout.write(JSON.stringify({ url: h.url, port: h.port, cluster: h.cluster })))`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { timeout: 90_000 });
  return JSON.parse(stdout) as OwnPostgres;
}

/** A fast shutdown (SIGINT to the postmaster: sessions are cut, in-flight transactions roll back); resolves once it has exited. */
export async function stopOwnPostgres(pg: OwnPostgres): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(pg.cluster, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return; // not running
  }
  if (!alive(pid)) return;
  process.kill(pid, 'SIGINT');
  await until(async () => !alive(pid), 30_000);
}
