/**
 * Key management beyond Vault (issue 29) over HTTP with real processes: rotation by usage at
 * exactly N (across a kill -9 and with two processes), the bound of counts a crash loses when far
 * from the threshold, the history (who, why, before/after), version lifecycle and the refused
 * un-trim, failed automatic rotations, health and the summaries' figures for a known set of keys.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(240_000);

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const FLUSH_EVERY = 1024; // transit-usage.ts USAGE_FLUSH_EVERY

describe('transit key management (e2e)', () => {
  let databaseUrl: string;
  let first: ServerProcess;
  let unsealKey: string;
  let a: string;
  let auditDir: string;
  const token = 'hvs.keymanagementroot';
  const on = (address: string) => ({
    post: (path: string, body: unknown = {}) => call(address, 'POST', `transit/${path}`, { token, body }),
    get: (path: string) => call(address, 'GET', `transit/${path}`, { token }),
  });
  const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> => {
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      return (await db.query(text, params)).rows as T[];
    } finally {
      await db.end();
    }
  };
  /** Another server on the same database, unsealed. */
  const startNode = async (): Promise<ServerProcess> => {
    const node = await startServerProcess({ databaseUrl, args: [], readyText: 'listening on' });
    expect((await call(node.address, 'PUT', 'sys/unseal', { body: { key: unsealKey } })).body.sealed).toBe(false);
    return node;
  };

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    auditDir = mkdtempSync(join(tmpdir(), 'km-audit-'));
    first = await startServerProcess({
      databaseUrl,
      args: ['--dev', '--dev-root-token-id', token],
      readyText: 'should NOT be used',
      env: { SECRETHUB_AUDIT_FILE_DIR: auditDir },
    });
    a = first.address;
    unsealKey = /Unseal Key: (\S+)/.exec(first.output())?.[1] as string;
    expect(unsealKey).toBeTruthy();
    expect((await call(a, 'POST', 'sys/mounts/transit', { token, body: { type: 'transit' } })).status).toBe(204);
    expect((await call(a, 'PUT', 'sys/audit/file', { token, body: { type: 'file', options: { file_path: 'audit.log' } } })).status).toBe(204);
  });
  afterAll(async () => first?.stop());

  it('rotates at exactly N operations; the rotation is in the history with reason usage and actor system', async () => {
    const { post, get } = on(a);
    const created = await post('keys/by-use', { auto_rotate_after_operations: 5 });
    expect(created.body.data.auto_rotate_after_operations).toBe(5);
    for (let i = 1; i <= 4; i++) expect((await post('encrypt/by-use', { plaintext: b64(`m${i}`) })).body.data.key_version).toBe(1);
    expect((await get('keys/by-use')).body.data.latest_version).toBe(1);
    expect((await post('encrypt/by-use', { plaintext: b64('m5') })).body.data.key_version).toBe(1);
    // The fifth answered after the rotation it caused.
    expect((await get('keys/by-use')).body.data.latest_version).toBe(2);
    expect((await post('encrypt/by-use', { plaintext: b64('m6') })).body.data.key_version).toBe(2);
    const rotations = (await get('keys/by-use/rotations')).body.data.rotations;
    expect(rotations).toEqual([
      {
        time: expect.any(String),
        event: 'rotation',
        reason: 'usage',
        actor: 'system',
        from_version: 1,
        to_version: 2,
        details: { operations: 5, threshold: 5 },
      },
    ]);
    // The automatic rotation is audited as the request for it would be, with no token.
    const entries = readFileSync(join(auditDir, 'audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.request?.path === 'transit/keys/by-use/rotate');
    expect(entries.map((e) => e.type)).toEqual(['request', 'response']);
    expect(entries[0].request.operation).toBe('update');
    expect(entries[0].auth?.client_token ?? '').toBe('');
    // Batch items count one each; signatures and rewraps count too (rewrap encrypts).
    await post('keys/by-batch', { auto_rotate_after_operations: 10 });
    const batch = await post('encrypt/by-batch', { batch_input: Array.from({ length: 10 }, (_, i) => ({ plaintext: b64(`b${i}`) })) });
    expect(batch.status).toBe(200);
    expect((await get('keys/by-batch')).body.data.latest_version).toBe(2);
    expect((await get('keys/by-batch/rotations')).body.data.rotations).toHaveLength(1);
  });

  it('counts across a kill -9 and with two processes: rotation at N, once', async () => {
    await on(a).post('keys/shared-use', { auto_rotate_after_operations: 8 });
    for (let i = 0; i < 3; i++) await on(a).post('encrypt/shared-use', { plaintext: b64('a') });
    // A process that counted near the threshold and was killed -9 lost nothing: each count there was written before its answer.
    const killed = await startNode();
    for (let i = 0; i < 2; i++) await on(killed.address).post('encrypt/shared-use', { plaintext: b64('b') });
    await killed.kill9();
    expect((await sql<{ operations: string }>("SELECT operations FROM transit_key_versions WHERE name = 'shared-use'"))[0].operations).toBe('5');
    const b = await startNode();
    try {
      const versionsSeen = await Promise.all(
        Array.from({ length: 6 }, (_, i) => on(i % 2 ? a : b.address).post('encrypt/shared-use', { plaintext: b64(`c${i}`) })),
      );
      expect(versionsSeen.every((r) => r.status === 200)).toBe(true);
      const rows = await sql<{ version: number; operations: string }>(
        "SELECT version, operations FROM transit_key_versions WHERE name = 'shared-use' ORDER BY version",
      );
      expect(rows.map((r) => r.version)).toEqual([1, 2]);
      expect(Number(rows[0].operations)).toBeGreaterThanOrEqual(8);
      expect((await on(a).get('keys/shared-use/rotations')).body.data.rotations).toHaveLength(1);
    } finally {
      await b.stop();
    }
  });

  it('rotates by period: a node whose periodic pass finds the latest version older than auto_rotate_period rotates it once, reason period', async () => {
    await on(a).post('keys/by-period', { auto_rotate_period: '1h' });
    await sql("UPDATE transit_key_versions SET created_at = now() - interval '2 hours' WHERE name = 'by-period'");
    // The leader runs the periodic pass when it becomes leader (and every minute after): the first
    // server steps down and the new node takes the leader lease within a renew interval.
    const node = await startNode();
    try {
      expect((await call(a, 'PUT', 'sys/step-down', { token })).status).toBe(204);
      const deadline = Date.now() + 30_000;
      while ((await on(a).get('keys/by-period')).body.data.latest_version !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect((await on(a).get('keys/by-period')).body.data.latest_version).toBe(2);
      const rotations = (await on(a).get('keys/by-period/rotations')).body.data.rotations;
      expect(rotations).toEqual([expect.objectContaining({ event: 'rotation', reason: 'period', actor: 'system', from_version: 1, to_version: 2 })]);
      expect((await on(a).get('keys/by-period/health')).body.data.overdue).toBe(false);
    } finally {
      await node.stop();
    }
  });

  it('far from the threshold counts are written in batches: a kill -9 loses fewer than one batch, never over-counts', async () => {
    const node = await startNode();
    const { post } = on(node.address);
    await post('keys/batched', { auto_rotate_after_operations: 10_000_000 });
    const items = Array.from({ length: 250 }, (_, i) => ({ plaintext: b64(`x${i}`) }));
    for (let i = 0; i < 6; i++) expect((await post('encrypt/batched', { batch_input: items })).status).toBe(200);
    await node.kill9();
    const [row] = await sql<{ operations: string }>("SELECT operations FROM transit_key_versions WHERE name = 'batched' AND version = 1");
    const performed = 1500;
    expect(Number(row.operations)).toBeLessThanOrEqual(performed);
    expect(performed - Number(row.operations)).toBeLessThan(FLUSH_EVERY);
  });

  it('kill -9 while automatic rotations run leaves whole versions: latest_version matches the stored versions, no gap', async () => {
    const node = await startNode();
    const { post } = on(node.address);
    await post('keys/crashy', { auto_rotate_after_operations: 1 });
    const inFlight = Array.from({ length: 20 }, (_, i) => post('encrypt/crashy', { plaintext: b64(`${i}`) }).catch(() => undefined));
    await new Promise((r) => setTimeout(r, 30));
    await node.kill9();
    await Promise.all(inFlight);
    const [key] = await sql<{ latest_version: number }>("SELECT latest_version FROM transit_keys WHERE name = 'crashy'");
    const versions = await sql<{ version: number }>("SELECT version FROM transit_key_versions WHERE name = 'crashy' ORDER BY version");
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: key.latest_version }, (_, i) => i + 1));
    const rotations = (await on(a).get('keys/crashy/rotations')).body.data.rotations as { to_version: number }[];
    expect(rotations.map((r) => r.to_version)).toEqual(versions.slice(1).map((v) => v.version));
  });

  it('history records who changed what: creation, manual rotation, config before/after, trim; lifecycle per version; un-trim refused by the database', async () => {
    const { post, get } = on(a);
    await post('keys/life');
    for (let i = 0; i < 3; i++) await post('keys/life/rotate');
    await post('keys/life/config', { min_decryption_version: 3, min_encryption_version: 4 });
    expect((await post('keys/life/trim', { min_available_version: 2 })).status).toBe(200);
    const health = (await get('keys/life/health')).body.data;
    expect(Object.fromEntries(Object.entries(health.versions).map(([v, s]) => [v, (s as { state: string }).state]))).toEqual({
      '1': 'destroyed',
      '2': 'retired',
      '3': 'decrypt-only',
      '4': 'active',
    });
    // Retired is reversible, as Vault lets min_decryption_version go down again; destroyed is not.
    await post('keys/life/config', { min_decryption_version: 2 });
    expect((await get('keys/life/health')).body.data.versions['2'].state).toBe('decrypt-only');
    expect((await post('keys/life/config', { min_decryption_version: 1 })).status).toBe(400);
    await expect(sql("UPDATE transit_keys SET min_available_version = 1 WHERE name = 'life'")).rejects.toThrow(/versions below 2 are destroyed/);
    await expect(
      sql(
        "INSERT INTO transit_key_versions (mount_uuid, name, version, key_ciphertext) SELECT mount_uuid, name, 1, '\\x00' FROM transit_keys WHERE name = 'life'",
      ),
    ).rejects.toThrow(/version 1 is destroyed/);

    const history = (await get('keys/life/history')).body.data.history as Record<string, unknown>[];
    expect(history.map((h) => `${h.event}:${h.reason}`)).toEqual([
      'create:manual',
      'rotation:manual',
      'rotation:manual',
      'rotation:manual',
      'config:manual',
      'trim:manual',
      'config:manual',
    ]);
    expect(history[0].actor).toMatch(/^root \(accessor hmac [0-9a-f]{16}\)$/);
    expect(history[1]).toMatchObject({ from_version: 1, to_version: 2 });
    expect(history[4].details).toEqual({ min_decryption_version: { from: 1, to: 3 }, min_encryption_version: { from: 0, to: 4 } });
    expect(history[5].details).toEqual({ min_available_version: 2 });
    expect(history[6].details).toEqual({ min_decryption_version: { from: 3, to: 2 } });
  });

  it('a rotation that cannot run is recorded once as rotation-failed and lowers the health score', async () => {
    const { post, get } = on(a);
    await post('keys/stuck', { auto_rotate_after_operations: 2 });
    await sql("UPDATE transit_keys SET imported_key = true WHERE name = 'stuck'");
    await call(a, 'POST', 'transit/keys/stuck/config', { token, body: { deletion_allowed: false } }); // drops caches on every node
    for (let i = 0; i < 4; i++) expect((await post('encrypt/stuck', { plaintext: b64('s') })).status).toBe(200);
    const rotations = (await get('keys/stuck/rotations')).body.data.rotations;
    expect(rotations).toEqual([expect.objectContaining({ event: 'rotation-failed', reason: 'usage', actor: 'system', from_version: 1 })]);
    const health = (await get('keys/stuck/health')).body.data;
    expect(health.reasons.map((r: { reason: string }) => r.reason)).toEqual(
      expect.arrayContaining(['the latest version reached its usage limit', '1 automatic rotation(s) failed']),
    );
    expect(health.score).toBe(100 - 40 - 20);
  });

  it("the mount's and the server's summaries give the known figures of a known set of keys", async () => {
    expect((await call(a, 'POST', 'sys/mounts/km', { token, body: { type: 'transit' } })).status).toBe(204);
    const km = (path: string, body: unknown = {}) => call(a, 'POST', `km/${path}`, { token, body });
    await km('keys/plain');
    await km('keys/late', { type: 'ed25519', auto_rotate_period: '1h' });
    await km('keys/soon', { type: 'aes128-gcm96', auto_rotate_period: '72h' });
    await km('keys/busy', { auto_rotate_after_operations: 10 });
    for (let i = 0; i < 9; i++) await km('encrypt/busy', { plaintext: b64('x') });
    await sql("UPDATE transit_key_versions SET created_at = now() - interval '2 hours' WHERE name = 'late'");
    const summary = (await call(a, 'GET', 'km/key-summary', { token })).body.data;
    expect(summary).toEqual({
      keys: 4,
      by_type: { 'aes256-gcm96': 2, ed25519: 1, 'aes128-gcm96': 1 },
      by_state: { healthy: 3, warning: 1, critical: 0 },
      versions_by_state: { active: 4, 'decrypt-only': 0, retired: 0, destroyed: 0 },
      rotations_due_7d: ['soon'],
      overdue: ['late'],
      near_usage_limit: ['busy'],
      failed_rotations: [],
      hsm_unreachable: [],
      // plain 90 (no policy), late 60 (overdue), soon 100, busy 85 (past 80%): mean 83.75.
      score: 84,
      reasons: ['1 key(s) past their rotation period', '1 key(s) past 80% of their usage limit'],
    });
    const server = (await call(a, 'GET', 'sys/key-management/summary', { token })).body.data;
    expect(server.overdue).toEqual(['km/late']);
    expect(server.rotations_due_7d).toEqual(['km/soon', 'transit/by-period']);
    expect(server.failed_rotations).toEqual(['transit/stuck']);
    expect(server.keys).toBeGreaterThan(4);
    // transit/life (from the lifecycle test): versions 1 destroyed, 2 and 3 decrypt-only, 4 active.
    expect(server.versions_by_state.destroyed).toBe(1);
    expect(server.versions_by_state['decrypt-only']).toBeGreaterThanOrEqual(2);
  });

  it('docs/examples/envelope-encryption.mjs runs: a DEK from datakey encrypts a file, only its wrapped form is kept, a rotated KEK still opens it', async () => {
    await on(a).post('keys/files');
    const dir = mkdtempSync(join(tmpdir(), 'envelope-'));
    const secretText = 'quarterly figures, not for the public';
    writeFileSync(join(dir, 'in.txt'), secretText);
    const script = join(__dirname, '../../docs/examples/envelope-encryption.mjs');
    const env = { ...process.env, VAULT_ADDR: a, VAULT_TOKEN: token };
    await promisify(execFile)(process.execPath, [script, 'encrypt', join(dir, 'in.txt'), join(dir, 'out.json')], { env });
    const envelope = readFileSync(join(dir, 'out.json'), 'utf8');
    expect(envelope).not.toContain(secretText);
    expect(JSON.parse(envelope).wrapped_dek).toMatch(/^vault:v1:/);
    await on(a).post('keys/files/rotate');
    const { stdout } = await promisify(execFile)(process.execPath, [script, 'decrypt', join(dir, 'out.json')], { env });
    expect(stdout).toBe(secretText);
  });
});
