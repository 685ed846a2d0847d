/**
 * Where the embedded PostgreSQL's binaries and cluster live when SecretHub runs as root.
 *
 * PostgreSQL refuses to run as root, so it runs as an unprivileged OS user, which must be able to
 * search every directory above its binaries and its cluster. When it cannot (the project sits in
 * /root, in a 0700 `mktemp -d`, ...):
 * - the binaries are copied, once per package version, to <runtime>/postgresql/<platform>-<arch>-
 *   <version>: owned by root, readable by all (they hold no secret), writable by root only;
 * - a new cluster is created in <runtime>/clusters/<name>, owned by that user, mode 0700, and
 *   <data-dir>/postgres is a symlink to it, so the data directory still names the database and a
 *   restart finds it.
 * <runtime> is SECRETHUB_PG_RUNTIME_DIR, default /var/lib/secrethub; it must be owned by root and
 * not writable by group or others, as root creates and chowns paths under it.
 * When the user can reach both, nothing moves: the cluster is <data-dir>/postgres (data dir 0711).
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, parse, resolve } from 'node:path';

export interface Binaries {
  initdb: string;
  postgres: string;
}

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

const DEFAULT_RUNTIME_DIR = '/var/lib/secrethub';
/** Written last into a staged copy of the binaries: a directory without it is not used. */
const COMPLETE = '.complete';

function osUser(name: string): OsUser | undefined {
  try {
    const uid = Number(
      execFileSync('id', ['-u', name], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    );
    const gid = Number(
      execFileSync('id', ['-g', name], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    );
    return { name, uid, gid };
  } catch {
    return undefined;
  }
}

/** PostgreSQL refuses to run as root: pick (or create) an unprivileged user when we are root. */
export function unprivilegedUser(): OsUser | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  for (const name of [process.env.SECRETHUB_PG_OS_USER, 'postgres', 'secrethub-pg']) {
    if (!name) continue;
    const user = osUser(name);
    if (user) return user;
  }
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'secrethub-pg'], { stdio: 'ignore' });
  const user = osUser('secrethub-pg');
  if (!user) throw new Error('could not create the unprivileged OS user secrethub-pg for PostgreSQL');
  return user;
}

/** Whether `file args` exits 0 when run as `user` (with only its primary group, as PostgreSQL will). */
function runsAs(user: OsUser, file: string, args: string[]): boolean {
  try {
    execFileSync(file, args, { stdio: 'ignore', uid: user.uid, gid: user.gid, timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

/** Whether `user` can search `dir`, and so every directory above it. */
export function canSearch(user: OsUser, dir: string): boolean {
  return runsAs(user, '/bin/sh', ['-c', 'test -x "$1"', 'sh', dir]);
}

/** The topmost directory on the way to `dir` that `user` cannot search (undefined: none). */
function firstUnsearchable(user: OsUser, dir: string): string | undefined {
  const parts: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    parts.unshift(d);
    if (d === parse(d).root) break;
  }
  return parts.find((d) => !canSearch(user, d));
}

function runtimeDir(user: OsUser): string {
  const dir = resolve(process.env.SECRETHUB_PG_RUNTIME_DIR || DEFAULT_RUNTIME_DIR);
  const fix = `set SECRETHUB_PG_RUNTIME_DIR to a directory owned by root, mode 0711 or 0755, that OS user ${user.name} can reach, or run SecretHub from (or with --data-dir under) a directory that user can search`;
  try {
    if (mkdirSync(dir, { recursive: true, mode: 0o711 }) !== undefined) chmodSync(dir, 0o711);
  } catch (err) {
    throw new Error(`embedded PostgreSQL: cannot create ${dir}: ${(err as Error).message}; ${fix}`, { cause: err });
  }
  const st = statSync(dir);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new Error(
      `embedded PostgreSQL: ${dir} must be a directory owned by root and not writable by group or others (owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}); ${fix}`,
    );
  }
  if (!canSearch(user, dir)) {
    throw new Error(`embedded PostgreSQL: OS user ${user.name} cannot search ${firstUnsearchable(user, dir) ?? dir}; ${fix}`);
  }
  return dir;
}

/** A root-owned directory `name` in `parent` with `mode`, created if missing. */
function subdir(parent: string, name: string, mode: number): string {
  const dir = join(parent, name);
  if (!existsSync(dir)) {
    mkdirSync(dir, { mode });
    chmodSync(dir, mode);
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== 0) throw new Error(`embedded PostgreSQL: ${dir} must be a directory owned by root`);
  return dir;
}

function packageVersion(nativeDir: string): string {
  try {
    const version = (JSON.parse(readFileSync(join(nativeDir, '..', 'package.json'), 'utf8')) as { version?: unknown }).version;
    if (typeof version === 'string' && /^[\w.+-]+$/.test(version)) return version;
  } catch {
    // fall through: an unversioned copy is still a usable one
  }
  return 'unknown';
}

/** Copies a tree: directories and executables 0755, other files 0644, symlinks as they are (relative). */
function copyTree(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) {
      mkdirSync(dst);
      chmodSync(dst, 0o755);
      copyTree(src, dst);
    } else if (entry.isSymbolicLink()) {
      symlinkSync(readlinkSync(src), dst);
    } else if (entry.isFile()) {
      copyFileSync(src, dst);
      chmodSync(dst, statSync(src).mode & 0o111 ? 0o755 : 0o644);
    }
  }
}

/** The package's bin/, lib/ and share/ copied where `user` can reach them (kept: later starts reuse it). */
function stageBinaries(bin: Binaries, user: OsUser): Binaries {
  const nativeDir = dirname(dirname(bin.initdb));
  const name = `${process.platform}-${process.arch}-${packageVersion(nativeDir)}`;
  const parent = subdir(runtimeDir(user), 'postgresql', 0o755);
  const dest = join(parent, name);
  if (!existsSync(join(dest, COMPLETE))) {
    // Copied aside and renamed whole: `dest` is absent or complete, even with two servers starting.
    const tmp = mkdtempSync(join(parent, `.${name}-`));
    try {
      copyTree(nativeDir, tmp);
      writeFileSync(join(tmp, COMPLETE), '');
      chmodSync(tmp, 0o755);
      renameSync(tmp, dest);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(join(dest, COMPLETE)))
        throw new Error(`embedded PostgreSQL: could not copy the binaries to ${dest}: ${(err as Error).message}`, { cause: err });
    }
  }
  return { initdb: join(dest, 'bin', 'initdb'), postgres: join(dest, 'bin', 'postgres') };
}

/** Binaries `user` can run: the package's own, else a copy under the runtime directory. */
export function reachableBinaries(bin: Binaries, user: OsUser, log: (m: string) => void): Binaries {
  if (runsAs(user, bin.initdb, ['--version'])) return bin;
  const staged = stageBinaries(bin, user);
  if (!runsAs(user, staged.initdb, ['--version'])) {
    throw new Error(
      `embedded PostgreSQL: OS user ${user.name} cannot run ${staged.initdb} either; check the modes of ${dirname(dirname(staged.initdb))} and the directories above it`,
    );
  }
  log(
    `embedded PostgreSQL: OS user ${user.name} cannot run ${bin.initdb} (it cannot search ${firstUnsearchable(user, bin.initdb) ?? dirname(bin.initdb)}); using the copy in ${dirname(dirname(staged.initdb))}`,
  );
  return staged;
}

/** The link (or directory) in the data dir that names the cluster. */
export function clusterLink(dataDir: string): string {
  return join(dataDir, 'postgres');
}

/** Where the cluster of `dataDir` is: <data-dir>/postgres, or the directory that symlink points to. */
export function clusterDir(dataDir: string): string {
  const link = clusterLink(dataDir);
  try {
    if (lstatSync(link).isSymbolicLink()) return resolve(dataDir, readlinkSync(link));
  } catch {
    // no link: the cluster (if any) is the directory itself
  }
  return link;
}

/** As root: a cluster inside the data dir must be reachable by `user`; it is never moved silently. */
export function checkClusterReachable(dataDir: string, pgData: string, user: OsUser): void {
  if (pgData !== clusterLink(dataDir) || canSearch(user, dirname(dataDir))) return;
  const blocked = firstUnsearchable(user, dirname(dataDir)) ?? dirname(dataDir);
  throw new Error(
    `embedded PostgreSQL: the cluster ${pgData} is in a directory OS user ${user.name} (which runs PostgreSQL) cannot search: ${blocked}. ` +
      `Make it searchable (chmod o+x ${blocked}), or stop SecretHub, move ${dataDir} under a directory that user can search and pass --data-dir.`,
  );
}

/**
 * An empty directory, owned by `user` and mode 0700, for a new cluster of `dataDir`: <data-dir>/postgres
 * when `user` can reach it, else one under the runtime directory (the caller links it once initdb
 * succeeded). A previous cluster elsewhere is left where it is.
 */
export function newClusterDir(dataDir: string, user: OsUser, log: (m: string) => void): string {
  const link = clusterLink(dataDir);
  const previous = clusterDir(dataDir);
  if (previous !== link && existsSync(previous)) log(`embedded PostgreSQL: leaving the previous cluster ${previous} in place; ${link} no longer points to it`);
  rmSync(link, { recursive: true, force: true });
  if (canSearch(user, dirname(dataDir))) {
    // The user must traverse (not list) the data dir and own the cluster.
    chmodSync(dataDir, 0o711);
    mkdirSync(link, { mode: 0o700 });
    chownSync(link, user.uid, user.gid);
    return link;
  }
  const clusters = subdir(runtimeDir(user), 'clusters', 0o711);
  const slug =
    dataDir
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+/, '')
      .slice(-80) || 'data';
  const dir = mkdtempSync(join(clusters, `${slug}-`));
  chownSync(dir, user.uid, user.gid);
  log(
    `embedded PostgreSQL: OS user ${user.name} cannot search ${firstUnsearchable(user, dirname(dataDir)) ?? dirname(dataDir)}; the cluster goes to ${dir}, and ${link} will point there`,
  );
  return dir;
}
