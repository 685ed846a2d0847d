/**
 * Transit auto-rotation (src/engines/transit/transit-auto-rotate.ts) against the real database: a
 * key whose latest version is back-dated past its auto_rotate_period rotates exactly once even when
 * two runners (two nodes: two pools on one database) race for it; keys not due, with period 0,
 * managed_key keys and imported keys without allow_imported_key_rotation do not rotate. Through
 * the kernel, the mount's periodic pass rotates a key made over the API, records it in the key's
 * history and audits it as a request with no token.
 */
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { generateKeyVersion } from '../../src/crypto/transit/key-types';
import { createDataSource } from '../../src/database/data-source';
import { autoRotateKeys, autoRotationDue } from '../../src/engines/transit/transit-auto-rotate';
import { TransitKeyStore } from '../../src/engines/transit/transit-key-store';
import { newVersion } from '../../src/engines/transit/transit-keys.paths';
import { TransitRepository, type NewTransitKey, type TransitKeyPolicy } from '../../src/engines/transit/transit.repository';
import { ALL_ENTITIES } from '../../src/entities';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';
import { until } from '../support/wait';

jest.setTimeout(60_000);

const HOUR = 3600;

describe('transit auto-rotation (medium)', () => {
  let k: TestKernel;
  let call: Call;
  let mountUuid: string;
  let secondNode: DataSource;
  let nodeA: TransitKeyStore;
  let nodeB: TransitKeyStore;
  let sql: Client;

  const create = async (name: string, key: NewTransitKey) => {
    expect(await nodeA.create(mountUuid, name, key, [generateKeyVersion(key.type)])).toBe(true);
  };
  const backdate = (name: string, seconds: number) =>
    sql.query(`UPDATE transit_key_versions SET created_at = now() - make_interval(secs => $3) WHERE mount_uuid = $1 AND name = $2`, [mountUuid, name, seconds]);
  const versions = async (name: string) => {
    // From the database: neither test store has a bus, so another node's change would not reach its cache.
    const p = (await nodeA.repository.policy(mountUuid, name)) as TransitKeyPolicy;
    return { latest: p.latestVersion, stored: Object.keys(p.versions).length, imported: p.importedKey };
  };

  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    expect((await call('POST', 'sys/mounts/transit', { type: 'transit' })).status).toBe(204);
    mountUuid = k.mounts.get('secret', 'transit/')?.uuid as string;
    secondNode = createDataSource(k.url, { entities: ALL_ENTITIES, poolSize: 2 });
    await secondNode.initialize();
    nodeA = new TransitKeyStore(new TransitRepository(k.dataSource, k.barrier));
    nodeB = new TransitKeyStore(new TransitRepository(secondNode, k.barrier));
    sql = new Client({ connectionString: k.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await secondNode?.destroy();
    await k?.close();
  });

  it('rotates a due key exactly once when two nodes race for it, and leaves the others', async () => {
    await create('due', { type: 'aes256-gcm96', autoRotatePeriod: HOUR });
    await create('due-ed25519', { type: 'ed25519', autoRotatePeriod: 2 * HOUR });
    await create('fresh', { type: 'aes256-gcm96', autoRotatePeriod: HOUR });
    await create('never', { type: 'aes256-gcm96', autoRotatePeriod: 0 });
    await create('imported', { type: 'aes256-gcm96', autoRotatePeriod: HOUR, importedKey: true });
    await create('imported-rotatable', { type: 'aes256-gcm96', autoRotatePeriod: HOUR, importedKey: true, allowImportedKeyRotation: true });
    expect(
      await nodeA.create(mountUuid, 'managed', { type: 'managed_key', autoRotatePeriod: HOUR, managedKeyName: 'hsm' }, [
        { material: { key: Buffer.alloc(0) } },
      ]),
    ).toBe(true);
    for (const name of ['due', 'never', 'imported', 'imported-rotatable', 'managed']) await backdate(name, HOUR + 60);
    await backdate('due-ed25519', 2 * HOUR + 60);
    await backdate('fresh', HOUR - 120);

    // Hold the first candidate's row lock so that both runners are past their candidate query and wait on it together.
    await sql.query('BEGIN');
    await sql.query('SELECT 1 FROM transit_keys WHERE mount_uuid = $1 AND name = $2 FOR UPDATE', [mountUuid, 'due']);
    const now = new Date();
    const runs = Promise.all([
      autoRotateKeys(nodeA, { uuid: mountUuid }, newVersion, { now }),
      autoRotateKeys(nodeB, { uuid: mountUuid }, newVersion, { now }),
    ]);
    await until(async () => {
      const { rows } = await sql.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
      return (rows[0] as { n: number }).n === 2;
    });
    await sql.query('COMMIT');
    const [a, b] = await runs;

    expect(a.failed).toEqual({});
    expect(b.failed).toEqual({});
    expect([...a.rotated, ...b.rotated].sort()).toEqual(['due', 'due-ed25519', 'imported-rotatable']);
    expect(await versions('due')).toEqual({ latest: 2, stored: 2, imported: false });
    expect(await versions('due-ed25519')).toEqual({ latest: 2, stored: 2, imported: false });
    // Vault's Rotate: once rotated inside, an imported key is no longer imported.
    expect(await versions('imported-rotatable')).toEqual({ latest: 2, stored: 2, imported: false });
    expect(await versions('imported')).toEqual({ latest: 1, stored: 1, imported: true });
    for (const name of ['fresh', 'never', 'managed']) expect((await versions(name)).latest).toBe(1);
    const history = await nodeA.repository.history(mountUuid, 'due', ['rotation']);
    expect(history).toEqual([expect.objectContaining({ event: 'rotation', reason: 'period', actor: 'system', details: { auto_rotate_period: HOUR } })]);

    // The new version is a real one of the key's type, readable; and nothing is due any more.
    expect((await nodeA.material(mountUuid, 'due', 2))?.key).toHaveLength(32);
    expect((await nodeA.policy(mountUuid, 'due-ed25519'))?.versions['2']?.publicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(await nodeA.repository.dueForAutoRotation(mountUuid, new Date())).toEqual([]);
    const again = await autoRotateKeys(nodeB, { uuid: mountUuid }, newVersion);
    expect(again).toEqual({ rotated: [], failed: {} });
  });

  it('a rotation that fails is recorded once per process as rotation-failed and counted; the next success resets the count', async () => {
    await create('breaks', { type: 'aes256-gcm96', autoRotatePeriod: HOUR });
    await backdate('breaks', HOUR + 60);
    const reportedFailures = new Set<string>();
    const failing = () => {
      throw new Error('the token did not answer');
    };
    for (let pass = 0; pass < 3; pass++) {
      const r = await autoRotateKeys(nodeA, { uuid: mountUuid }, failing, { reportedFailures });
      expect(r.failed).toEqual({ breaks: 'the token did not answer' });
    }
    expect(await nodeA.repository.history(mountUuid, 'breaks', ['rotation-failed'])).toEqual([
      expect.objectContaining({ event: 'rotation-failed', reason: 'period', actor: 'system', details: { error: 'the token did not answer' } }),
    ]);
    expect((await nodeA.repository.policy(mountUuid, 'breaks'))?.failedRotations).toBe(1);
    expect((await autoRotateKeys(nodeA, { uuid: mountUuid }, newVersion, { reportedFailures })).rotated).toEqual(['breaks']);
    expect((await nodeA.repository.policy(mountUuid, 'breaks'))?.failedRotations).toBe(0);
    expect(reportedFailures.size).toBe(0);
  });

  it("the mount's periodic pass rotates a key created over the API once its period has passed; new ciphertexts use the new version", async () => {
    const created = await call('POST', 'transit/keys/api-key', { auto_rotate_period: '1h' });
    expect(created.status).toBe(200);
    expect(created.json.data.auto_rotate_period).toBe(HOUR);
    const plaintext = Buffer.from('rotate me').toString('base64');
    const v1 = (await call('POST', 'transit/encrypt/api-key', { plaintext })).json.data.ciphertext as string;
    expect(v1).toMatch(/^vault:v1:/);

    await k.periodic.tick();
    expect((await call('GET', 'transit/keys/api-key')).json.data.latest_version).toBe(1);

    await backdate('api-key', HOUR + 1);
    await k.periodic.tick();
    await k.periodic.tick();
    const read = await call('GET', 'transit/keys/api-key');
    expect(read.json.data.latest_version).toBe(2);
    expect(Object.keys(read.json.data.keys)).toEqual(['1', '2']);
    expect((await call('POST', 'transit/encrypt/api-key', { plaintext })).json.data.ciphertext).toMatch(/^vault:v2:/);
    expect((await call('POST', 'transit/decrypt/api-key', { ciphertext: v1 })).json.data.plaintext).toBe(plaintext);
    expect(await nodeA.repository.history(mountUuid, 'api-key', ['rotation'])).toEqual([
      expect.objectContaining({ event: 'rotation', reason: 'period', actor: 'system', fromVersion: 1, toVersion: 2 }),
    ]);
    // Audited as the request for it would be, with no token (SystemAudit): one request and one response entry.
    const { rows } = await sql.query(`SELECT event_type, operation, actor_type FROM audit_logs WHERE secret_path = $1 ORDER BY sequence_number`, [
      'transit/keys/api-key/rotate',
    ]);
    expect(rows).toEqual([
      { event_type: 'request', operation: 'update', actor_type: null },
      { event_type: 'response', operation: 'update', actor_type: null },
    ]);
  });

  it('is due only strictly after latest version + period, and never for period 0, managed_key or an imported key without rotation', () => {
    const created = new Date('2026-01-01T00:00:00Z');
    const policy = (change: Partial<TransitKeyPolicy>): TransitKeyPolicy =>
      ({
        type: 'aes256-gcm96',
        latestVersion: 2,
        autoRotatePeriod: HOUR,
        importedKey: false,
        allowImportedKeyRotation: false,
        versions: { '1': { createdAt: new Date(0) }, '2': { createdAt: created } },
        ...change,
      }) as TransitKeyPolicy;
    const at = (seconds: number) => new Date(created.getTime() + seconds * 1000);
    expect(autoRotationDue(policy({}), at(HOUR))).toBe(false);
    expect(autoRotationDue(policy({}), at(HOUR + 1))).toBe(true);
    expect(autoRotationDue(policy({ autoRotatePeriod: 0 }), at(10 * HOUR))).toBe(false);
    expect(autoRotationDue(policy({ type: 'managed_key' }), at(10 * HOUR))).toBe(false);
    expect(autoRotationDue(policy({ importedKey: true }), at(10 * HOUR))).toBe(false);
    expect(autoRotationDue(policy({ importedKey: true, allowImportedKeyRotation: true }), at(10 * HOUR))).toBe(true);
  });
});
