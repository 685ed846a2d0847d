/**
 * The transit key cache (TransitKeyStore) on the real database and barrier, as two nodes: two stores
 * over the same database, each with its own invalidation bus (its own LISTEN connection).
 */
import { randomUUID } from 'node:crypto';
import { generateKeyVersion } from '../../src/crypto/transit/key-types';
import { InvalidationBus } from '../../src/kernel/cluster/invalidation-bus';
import { TransitKeyStore } from '../../src/engines/transit/transit-key-store';
import { TransitRepository } from '../../src/engines/transit/transit.repository';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { until } from '../support/wait';

const newVersion = () => generateKeyVersion('aes256-gcm96');

describe('transit key store cache (medium)', () => {
  let k: TestKernel;
  let otherBus: InvalidationBus;
  let mount: string;
  /** Node A: the kernel's bus. Node B: a bus of its own over the same database. */
  let repoA: TransitRepository;
  let repoB: TransitRepository;
  let a: TransitKeyStore;
  let b: TransitKeyStore;
  const receivedByB: string[] = [];

  /** Returns once B has received every notification published before the call (NOTIFY keeps commit order). */
  async function bSettled(): Promise<void> {
    const marker = JSON.stringify([randomUUID()]);
    await k.bus.publish('transit', marker);
    await until(async () => receivedByB.includes(marker));
  }

  beforeAll(async () => {
    k = await openTestKernel();
    const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await k.seal.submitUnsealKey(init.keys[0].toString('hex'), false);
    otherBus = new InvalidationBus(k.url, k.dataSource, () => undefined);
    otherBus.subscribe((i) => void (i.key !== undefined && receivedByB.push(i.key)));
    await otherBus.start();
    await until(async () => k.bus.live && otherBus.live);
  });
  afterAll(async () => {
    await otherBus?.stop();
    await k?.close();
  });

  let mountCount = 0;
  beforeEach(async () => {
    mount = (await k.mounts.enable({ class: 'secret', type: 'transit', path: `transit${++mountCount}` })).uuid;
    repoA = new TransitRepository(k.dataSource, k.barrier);
    repoB = new TransitRepository(k.dataSource, k.barrier);
    a = new TransitKeyStore(repoA, k.bus);
    b = new TransitKeyStore(repoB, otherBus);
    await until(async () => k.bus.live && otherBus.live);
    await bSettled();
  });

  it("a rotate, a config change, a trim and a delete through one node are seen by the other's next read", async () => {
    await a.create(mount, 'k', { type: 'aes256-gcm96' }, [newVersion()]);
    await bSettled();
    expect((await b.policy(mount, 'k'))?.latestVersion).toBe(1);
    const v1 = await b.material(mount, 'k', 1);
    expect(v1?.key).toHaveLength(32);

    // A change B is not told about (a lost notification) stays unseen: B serves from its cache...
    await repoA.update(mount, 'k', () => ({ change: { deletionAllowed: true } }));
    expect((await b.policy(mount, 'k'))?.deletionAllowed).toBe(false);

    // ...and every change made through a store reaches B.
    await a.update(mount, 'k', () => ({ append: [newVersion()] }));
    await until(async () => (await b.policy(mount, 'k'))?.latestVersion === 2);
    expect((await b.policy(mount, 'k'))?.deletionAllowed).toBe(true);
    expect((await b.material(mount, 'k', 2))?.key).toHaveLength(32);

    await a.update(mount, 'k', () => ({ change: { minDecryptionVersion: 2, minEncryptionVersion: 2 } }));
    await until(async () => (await b.policy(mount, 'k'))?.minDecryptionVersion === 2);

    await a.trim(mount, 'k', () => 2);
    // Wait on the cached policy: B's material for version 1 is not cached here, so its read goes to
    // the database and may see the trim before the notification drops B's policy.
    await until(async () => Object.keys((await b.policy(mount, 'k'))!.versions).join() === '2');
    expect(await b.material(mount, 'k', 1)).toBeUndefined();

    await a.delete(mount, 'k');
    await until(async () => (await b.policy(mount, 'k')) === undefined);
    expect(await b.material(mount, 'k', 2)).toBeUndefined();
  });

  it('serves repeated reads from the cache, and a key created elsewhere replaces its cached absence', async () => {
    await a.create(mount, 'k', { type: 'aes256-gcm96' }, [newVersion()]);
    await bSettled();
    const policyReads = jest.spyOn(repoB, 'policy');
    const materialReads = jest.spyOn(repoB, 'keyMaterial');
    const first = await b.material(mount, 'k', 1);
    for (let i = 0; i < 200; i++) {
      expect((await b.policy(mount, 'k'))?.name).toBe('k');
      expect(await b.material(mount, 'k', 1)).toBe(first);
    }
    expect(policyReads).toHaveBeenCalledTimes(1);
    expect(materialReads).toHaveBeenCalledTimes(1);

    // Absence is cached too, until a create anywhere announces the key.
    expect(await b.policy(mount, 'new')).toBeUndefined();
    expect(await b.policy(mount, 'new')).toBeUndefined();
    expect(policyReads).toHaveBeenCalledTimes(2);
    await a.create(mount, 'new', { type: 'aes256-gcm96' }, [newVersion()]);
    await until(async () => (await b.policy(mount, 'new')) !== undefined);

    // Cached policies cannot be changed by a caller.
    const cached = (await b.policy(mount, 'k'))!;
    expect(() => {
      (cached as { latestVersion: number }).latestVersion = 9;
    }).toThrow(TypeError);
  });

  it('a lost bus connection bypasses the cache until it is back', async () => {
    await b.create(mount, 'k', { type: 'aes256-gcm96' }, [newVersion()]);
    expect((await b.policy(mount, 'k'))?.deletionAllowed).toBe(false);
    await repoA.update(mount, 'k', () => ({ change: { deletionAllowed: true } }));
    expect((await b.policy(mount, 'k'))?.deletionAllowed).toBe(false);

    await k.dataSource.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'secrethub-listener' AND datname = current_database()",
    );
    await until(async () => !otherBus.live);
    const reads = jest.spyOn(repoB, 'policy');
    expect((await b.policy(mount, 'k'))?.deletionAllowed).toBe(true);
    await b.policy(mount, 'k');
    expect(reads).toHaveBeenCalledTimes(2);

    // Back: caching resumes.
    await until(async () => otherBus.live && k.bus.live);
    await b.policy(mount, 'k');
    await b.policy(mount, 'k');
    expect(reads).toHaveBeenCalledTimes(3);
  });

  it('a read that raced an invalidation is returned but not cached', async () => {
    await a.create(mount, 'k', { type: 'aes256-gcm96' }, [newVersion()]);
    await bSettled();
    const read = repoB.policy.bind(repoB);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const reads = jest.spyOn(repoB, 'policy').mockImplementationOnce(async (m, n) => {
      const p = await read(m, n);
      await held;
      return p;
    });
    const racing = b.policy(mount, 'k');
    // The rotate commits and B hears of it while B's read is still under way.
    await a.update(mount, 'k', () => ({ append: [newVersion()] }));
    await bSettled();
    release();
    expect((await racing)?.latestVersion).toBe(1);
    expect((await b.policy(mount, 'k'))?.latestVersion).toBe(2);
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it("holds at most the mount's cache-config size of keys, least recently used out first; 0 is unbounded", async () => {
    for (let i = 0; i < 12; i++) await a.create(mount, `k${i}`, { type: 'aes256-gcm96' }, [newVersion()]);
    await a.setMountConfig(mount, { cacheSize: 10 });
    await bSettled();
    expect((await b.mountConfig(mount)).cacheSize).toBe(10);
    const reads = jest.spyOn(repoB, 'policy');
    for (let i = 0; i < 10; i++) await b.policy(mount, `k${i}`);
    await b.policy(mount, 'k0'); // k0 most recently used: k1 is now the oldest
    await b.policy(mount, 'k10'); // 11 keys: k1 leaves
    expect(reads).toHaveBeenCalledTimes(11);
    await b.policy(mount, 'k0');
    await b.policy(mount, 'k10');
    expect(reads).toHaveBeenCalledTimes(11);
    await b.policy(mount, 'k1');
    expect(reads).toHaveBeenCalledTimes(12);

    await a.setMountConfig(mount, { cacheSize: 0 });
    await bSettled();
    expect((await b.mountConfig(mount)).cacheSize).toBe(0);
    reads.mockClear();
    for (let i = 0; i < 12; i++) await b.policy(mount, `k${i}`);
    for (let i = 0; i < 12; i++) await b.policy(mount, `k${i}`);
    expect(reads).toHaveBeenCalledTimes(12);
  });

  it("drops the mount's keys when the mount table changes (unmount), and everything at clear()", async () => {
    await a.create(mount, 'k', { type: 'aes256-gcm96' }, [newVersion()]);
    expect(await b.material(mount, 'k', 1)).toBeDefined();
    const reads = jest.spyOn(repoB, 'keyMaterial');
    const path = k.mounts.list('secret').find((e) => e.uuid === mount)!.path;
    await k.mounts.disable('secret', path);
    // The rows went with the mount (ON DELETE CASCADE); B forgets the key once told.
    await until(async () => (await b.material(mount, 'k', 1)) === undefined);
    expect(reads).toHaveBeenCalled();

    const other = (await k.mounts.enable({ class: 'secret', type: 'transit', path: `transit${++mountCount}` })).uuid;
    await b.create(other, 'k', { type: 'aes256-gcm96' }, [newVersion()]);
    await b.material(other, 'k', 1);
    reads.mockClear();
    await b.material(other, 'k', 1);
    expect(reads).not.toHaveBeenCalled();
    b.clear();
    await b.material(other, 'k', 1);
    expect(reads).toHaveBeenCalledTimes(1);
  });
});
