/**
 * A PgBouncer of the test's own (Debian's pgbouncer, 1.18 in bookworm) in front of a test database:
 * transaction pooling, a small server pool so that clients share server connections, trust
 * authentication. Its config, auth file, log and pid file live in a temporary directory; the
 * process is this test's child and is stopped by `stop()`.
 *
 * A test that needs PgBouncer declares it with `describeWithPgBouncer`: without the binary its
 * tests are skipped with the reason in their name, or fail under CI=true (CI installs it).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './server-process';
import { describeUnless } from './services';

const BINARY = process.env.PGBOUNCER_BIN ?? (existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : 'pgbouncer');

let unavailable: { reason: string | undefined } | undefined;

/** Why PgBouncer cannot be run here, or undefined. */
export function pgBouncerUnavailable(): string | undefined {
  unavailable ??= { reason: probe() };
  return unavailable.reason;
}

function probe(): string | undefined {
  try {
    execFileSync(BINARY, ['--version'], { stdio: 'pipe', timeout: 10_000 });
    return undefined;
  } catch (err) {
    return `${BINARY} cannot be run: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** `describe` for tests that need PgBouncer: skipped with the reason when it is unavailable, failing under CI=true. */
export function describeWithPgBouncer(name: string, fn: () => void): void {
  describeUnless(pgBouncerUnavailable(), 'PgBouncer (apt-get install pgbouncer)', name, fn);
}

export interface PgBouncer {
  /** `databaseUrl` with PgBouncer's host and port. */
  url: string;
  /** PgBouncer's log so far. */
  log(): string;
  stop(): Promise<void>;
}

/** PgBouncer refuses to run as root: as root it is started as this user (Debian's pgbouncer runs as postgres). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ['postgres', 'nobody']) {
    try {
      const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim()));
      return { uid, gid };
    } catch {
      // next candidate
    }
  }
  throw new Error('running as root and neither user postgres nor nobody exists to run pgbouncer as');
}

/** Starts PgBouncer in transaction mode in front of `databaseUrl`'s database; `poolSize` server connections at most. */
export async function startPgBouncer(databaseUrl: string, poolSize = 3): Promise<PgBouncer> {
  const target = new URL(databaseUrl);
  const database = target.pathname.slice(1);
  const user = decodeURIComponent(target.username || 'postgres');
  const password = decodeURIComponent(target.password);
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-pgbouncer-'));
  const port = await freePort();
  const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const serverParams = [
    `host=${target.hostname || '127.0.0.1'}`,
    `port=${target.port || '5432'}`,
    `dbname=${database}`,
    `user=${quote(user)}`,
    ...(password ? [`password=${quote(password)}`] : []),
  ];
  writeFileSync(join(dir, 'users.txt'), `"${user}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${database} = ${serverParams.join(' ')}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 500',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n'),
  );
  const owner = runAs();
  if (owner) for (const f of ['', 'users.txt', 'pgbouncer.ini']) chownSync(join(dir, f), owner.uid, owner.gid);
  const child: ChildProcess = spawn(BINARY, [join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'], uid: owner?.uid, gid: owner?.gid });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => {
    try {
      return readFileSync(join(dir, 'pgbouncer.log'), 'utf8');
    } catch {
      return out;
    }
  };
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    const c = new Client({ connectionString: url.toString(), connectionTimeoutMillis: 2000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      break;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (child.exitCode !== null || Date.now() > deadline) {
        const why = `pgbouncer did not start: ${(err as Error).message}\n${out}\n${log()}`;
        await stop();
        throw new Error(why, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { url: url.toString(), log, stop };
}
