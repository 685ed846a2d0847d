/**
 * Seal migration Shamir → pkcs11 and pkcs11 → Shamir over HTTP with real server processes on
 * SoftHSM2, killed with SIGKILL during each step of the migration's commit. The migration does its
 * HSM work first, then one transaction: lock and update `seal_config`, lock and update
 * `barrier_keyring`. The test holds a row lock from its own connection so that the server's
 * transaction waits at a known point, sees it waiting (pg_stat_activity, pg_locks), kills the
 * server, releases the lock and restarts:
 *   (1) `seal_config` locked: the migration waits before writing anything;
 *   (2) `barrier_keyring` locked: it has updated `seal_config` in its transaction and waits;
 *   (3) no lock: killed right after the unseal answered.
 * After (1) and (2) the old seal is in force (the migration still pending; the old seal alone
 * unseals; data readable); after (3) the new one (auto-unseal for → pkcs11, the shares for →
 * Shamir). KV secrets are written before each step and read after.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, type SoftHsmToken } from '../support/softhsm';
import { until } from '../support/wait';

const PIN = 'crash-pin-7741';
const TOKEN = 'seal-crash';

type SealType = 'shamir' | 'pkcs11';
type Step = 'seal_config' | 'barrier_keyring' | 'none';

describeWithSoftHsm('seal migration killed during each step (e2e)', () => {
  let token: SoftHsmToken;
  let dir: string;
  let server: ServerProcess | undefined;
  const clients: Client[] = [];
  /** The backends of the test's own connections. */
  const ourPids: number[] = [];

  beforeAll(() => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-7741' });
    dir = mkdtempSync(join(tmpdir(), 'secrethub-migcrash-e2e-'));
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    for (const c of clients.splice(0)) await c.end().catch(() => undefined);
    ourPids.splice(0);
  });

  afterAll(() => token.cleanup());

  /** A config file with the pkcs11 stanza (`disabled` when migrating away from it). */
  function hsmConfig(name: string, keyLabel: string, disabled: boolean): string {
    const file = join(dir, `${name}.hcl`);
    writeFileSync(
      file,
      `seal "pkcs11" {\n  lib = "${SOFTHSM_LIB}"\n  token_label = "${TOKEN}"\n  pin = "${PIN}"\n  key_label = "${keyLabel}"\n  generate_key = "${!disabled}"\n${disabled ? '  disabled = "true"\n' : ''}}\n`,
    );
    return file;
  }

  async function start(url: string, config: string | undefined): Promise<ServerProcess> {
    server = await startServerProcess({ databaseUrl: url, args: config ? ['--config', config] : [], env: { SOFTHSM2_CONF: token.conf } });
    return server;
  }

  async function pg(url: string): Promise<Client> {
    const c = new Client({ connectionString: url });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c);
    ourPids.push((await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number);
    return c;
  }

  const sealStatus = async (s: ServerProcess) => (await call(s.address, 'GET', 'sys/seal-status')).body;
  const storedSealType = async (db: Client) => (await db.query('SELECT seal_type FROM seal_config')).rows[0].seal_type as string;

  async function unsealWith(s: ServerProcess, keys: string[], migrate: boolean): Promise<void> {
    expect((await call(s.address, 'PUT', 'sys/unseal', { body: { key: keys[0], migrate } })).body).toMatchObject({ sealed: true, progress: 1 });
    const done = await call(s.address, 'PUT', 'sys/unseal', { body: { key: keys[1], migrate } });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ sealed: false });
  }

  async function expectSecrets(s: ServerProcess, root: string, written: Record<string, string>): Promise<void> {
    for (const [path, value] of Object.entries(written)) expect((await call(s.address, 'GET', `kv/${path}`, { token: root })).body?.data).toEqual({ v: value });
  }

  async function write(s: ServerProcess, root: string, written: Record<string, string>, path: string): Promise<void> {
    const value = `written before ${path}`;
    expect((await call(s.address, 'PUT', `kv/${path}`, { token: root, body: { v: value } })).status).toBe(204);
    written[path] = value;
  }

  /**
   * Starts the server with the migration configured, submits the old seal's keys with migrate and
   * kills it with SIGKILL: while its transaction waits for the row `lock` holds, or (step 'none')
   * right after the unseal answered. Returns when no backend of the killed server is left.
   */
  async function killDuringMigration(url: string, db: Client, config: string | undefined, keys: string[], step: Step, to: SealType): Promise<void> {
    const s = await start(url, config);
    expect(await sealStatus(s)).toMatchObject({ type: to, sealed: true, migration: true, t: 2, n: 3 });
    expect((await call(s.address, 'PUT', 'sys/unseal', { body: { key: keys[0], migrate: true } })).body).toMatchObject({ progress: 1, migration: true });
    if (step === 'none') {
      const done = await call(s.address, 'PUT', 'sys/unseal', { body: { key: keys[1], migrate: true } });
      expect(done.body).toMatchObject({ sealed: false, migration: false, type: to });
      await s.kill9();
    } else {
      const locker = await pg(url);
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM ${step} FOR UPDATE`);
      // The unseal that reaches the threshold runs the migration, which waits for the lock: not awaited.
      const pending = call(s.address, 'PUT', 'sys/unseal', { body: { key: keys[1], migrate: true } }).then(
        (answer) => ({ answered: answer.status }),
        (err: Error) => ({ failed: err.message }),
      );
      let waiting: { pid: number; query: string } | undefined;
      await until(async () => {
        const r = await db.query(
          `SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() AND pid <> ALL($1::int[]) AND wait_event_type = 'Lock'`,
          [ourPids],
        );
        waiting = r.rows[0];
        return waiting !== undefined;
      }, 30_000);
      expect(waiting!.query).toMatch(new RegExp(`FROM "${step}".*FOR UPDATE`, 's'));
      // What the waiting transaction holds on the two tables: after (2) it has updated seal_config
      // (ROW EXCLUSIVE, taken by UPDATE); after (1) it holds nothing there yet.
      const held = await db.query(
        `SELECT c.relname, l.mode, l.granted FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = $1 AND l.locktype = 'relation' AND c.relname IN ('seal_config', 'barrier_keyring')`,
        [waiting!.pid],
      );
      const modes = held.rows.filter((r: { granted: boolean }) => r.granted).map((r: { relname: string; mode: string }) => `${r.relname}:${r.mode}`);
      if (step === 'seal_config') expect(modes).toEqual(['seal_config:RowShareLock']);
      else expect(modes.sort()).toEqual(['barrier_keyring:RowShareLock', 'seal_config:RowExclusiveLock', 'seal_config:RowShareLock']);
      expect((await sealStatus(s)).sealed).toBe(true);
      await s.kill9();
      // The unseal never answered: the connection died with the server.
      expect(await pending).toMatchObject({ failed: expect.any(String) });
      await locker.query('ROLLBACK');
    }
    // The killed server's backends end (the waiting one once it has the lock and finds its client gone).
    await until(async () => {
      const r = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> ALL($1::int[])`, [ourPids]);
      return r.rows[0].n === 0;
    }, 30_000);
    server = undefined;
  }

  /**
   * One direction, the three kills in turn. `oldConfig` configures the old seal alone, `migrationConfig`
   * the migration; `openOld` unseals a server under the old seal (its keys, or the HSM by itself).
   */
  async function migrateWithKills(
    url: string,
    root: string,
    written: Record<string, string>,
    direction: { from: SealType; to: SealType; oldConfig?: string; migrationConfig?: string; keys: string[] },
  ): Promise<Client> {
    const db = await pg(url);
    const openOld = async (s: ServerProcess) => {
      if (direction.from === 'shamir') await unsealWith(s, direction.keys, false);
      else await until(async () => (await sealStatus(s)).sealed === false, 20_000);
    };
    for (const step of ['seal_config', 'barrier_keyring'] as const) {
      await killDuringMigration(url, db, direction.migrationConfig, direction.keys, step, direction.to);
      expect(await storedSealType(db)).toBe(direction.from);
      // Restarted with the migration configured: still pending, from the old seal.
      let s = await start(url, direction.migrationConfig);
      await new Promise((r) => setTimeout(r, 1500)); // an auto-unseal try, if any, has run
      expect(await sealStatus(s)).toMatchObject({ type: direction.to, sealed: true, migration: true, t: 2, n: 3 });
      await s.stop();
      // The old seal alone still opens it: the old keys and root key are in force, the data readable.
      s = await start(url, direction.oldConfig);
      await openOld(s);
      expect(await sealStatus(s)).toMatchObject({ type: direction.from, sealed: false, migration: false });
      await expectSecrets(s, root, written);
      await write(s, root, written, `${direction.from}-to-${direction.to}-after-${step}`);
      await s.stop();
      server = undefined;
    }
    // (3) The migration commits (the old keys with migrate), then SIGKILL: the new seal is in force.
    await killDuringMigration(url, db, direction.migrationConfig, direction.keys, 'none', direction.to);
    expect(await storedSealType(db)).toBe(direction.to);
    return db;
  }

  it('Shamir → pkcs11: killed before seal_config, between seal_config and the keyring, and after the commit', async () => {
    const url = await createTestDatabase();
    const written: Record<string, string> = {};
    let s = await start(url, undefined);
    const init = await call(s.address, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 2 } });
    expect(init.status).toBe(200);
    const keys = init.body.keys as string[];
    const root = init.body.root_token as string;
    await unsealWith(s, keys, false);
    expect((await call(s.address, 'POST', 'sys/mounts/kv', { token: root, body: { type: 'kv' } })).status).toBe(204);
    await write(s, root, written, 'shamir-init');
    await s.stop();
    server = undefined;

    const migrationConfig = hsmConfig('to-hsm', 'crash-to-hsm', false);
    await migrateWithKills(url, root, written, { from: 'shamir', to: 'pkcs11', migrationConfig, keys });

    // After (3): the HSM seal unseals by itself, with no operator action; the unseal shares are now recovery shares.
    s = await start(url, migrationConfig);
    await until(async () => (await sealStatus(s)).sealed === false, 20_000);
    expect(await sealStatus(s)).toMatchObject({ type: 'pkcs11', migration: false, recovery_seal: true, t: 2, n: 3 });
    await expectSecrets(s, root, written);
    await write(s, root, written, 'pkcs11-after-migration');
    expect((await call(s.address, 'PUT', 'sys/seal', { token: root })).status).toBe(204);
    await unsealWith(s, [keys[2], keys[0]], false);
    await expectSecrets(s, root, written);
    expect(s.output()).not.toContain(PIN);
  }, 240_000);

  it('pkcs11 → Shamir: killed before seal_config, between seal_config and the keyring, and after the commit', async () => {
    const url = await createTestDatabase();
    const written: Record<string, string> = {};
    const hsmAlone = hsmConfig('hsm', 'crash-to-shamir', false);
    let s = await start(url, hsmAlone);
    const init = await call(s.address, 'PUT', 'sys/init', { body: { recovery_shares: 3, recovery_threshold: 2 } });
    expect(init.status).toBe(200);
    const recovery = init.body.recovery_keys as string[];
    const root = init.body.root_token as string;
    expect((await sealStatus(s)).sealed).toBe(false);
    expect((await call(s.address, 'POST', 'sys/mounts/kv', { token: root, body: { type: 'kv' } })).status).toBe(204);
    await write(s, root, written, 'pkcs11-init');
    await s.stop();
    server = undefined;

    const migrationConfig = hsmConfig('hsm-disabled', 'crash-to-shamir', true);
    await migrateWithKills(url, root, written, { from: 'pkcs11', to: 'shamir', oldConfig: hsmAlone, migrationConfig, keys: recovery });

    // After (3): Shamir, the recovery shares are now the unseal shares (no migrate), with the disabled stanza still there and without it.
    for (const config of [migrationConfig, undefined]) {
      s = await start(url, config);
      expect(await sealStatus(s)).toMatchObject({ type: 'shamir', sealed: true, migration: false, recovery_seal: false, t: 2, n: 3 });
      await unsealWith(s, [recovery[1], recovery[2]], false);
      await expectSecrets(s, root, written);
      expect(s.output()).not.toContain(PIN);
      await s.stop();
      server = undefined;
    }
  }, 240_000);
});
