/**
 * The leader lease on a real database, two processes' LeaderLease instances side by side: one
 * acquires, the other cannot; a deleted row is not re-created by its holder's renewal; a rewritten
 * row fences the holder's next singleton write; expiry and release hand the lease over with a new
 * epoch; the local deadline ends leadership without the database.
 */
import type { DataSource } from 'typeorm';
import { FencedError, LeaderLease } from '../../src/kernel/cluster/leader-lease';
import { NodeRegistry } from '../../src/kernel/cluster/node-registry';
import { openTestDatabase } from '../support/database';

const quiet = { info: () => undefined, error: () => undefined };

describe('leader lease (medium)', () => {
  let dataSource: DataSource;
  let now = 0;
  const clock = () => now;

  beforeAll(async () => {
    ({ dataSource } = await openTestDatabase());
  });
  afterAll(async () => dataSource.destroy());
  beforeEach(async () => {
    await dataSource.query('DELETE FROM ha_leader');
    await dataSource.query('DELETE FROM ha_nodes');
  });

  const lease = (nodeId: string, ttlMs = 15_000) =>
    new LeaderLease(dataSource, { identity: { nodeId, workerId: 1 }, ttlMs, renewIntervalMs: ttlMs / 3, log: quiet, clock });
  const row = async () => (await dataSource.query('SELECT holder, epoch::text AS epoch FROM ha_leader'))[0] as { holder: string; epoch: string } | undefined;
  const write = (l: LeaderLease) => dataSource.transaction((m) => l.checkFence(m));

  it('one acquires; the other cannot while it is valid', async () => {
    const a = lease('a');
    const b = lease('b');
    expect(await a.tryAcquire()).toBe(true);
    expect(await b.tryAcquire()).toBe(false);
    expect(a.isLeader).toBe(true);
    expect(b.isLeader).toBe(false);
    expect(await row()).toEqual({ holder: 'a#1', epoch: a.holding?.epoch });
    expect(await a.renew()).toBe(true);
    await expect(write(a)).resolves.toBeUndefined();
    await expect(write(b)).rejects.toThrow(FencedError);
  });

  it('the row deleted under the holder: its renewal fails, it steps down and the row is not re-created', async () => {
    const a = lease('a');
    const changes: boolean[] = [];
    a.onChange((leader) => changes.push(leader));
    await a.tryAcquire();
    await dataSource.query('DELETE FROM ha_leader');
    expect(await a.renew()).toBe(false);
    expect(a.isLeader).toBe(false);
    expect(changes).toEqual([true, false]);
    expect(await row()).toBeUndefined();
    // Held off for one TTL after losing it: the next steps neither renew nor acquire.
    await a.step();
    expect(await row()).toBeUndefined();
  });

  it('the row rewritten with another epoch: the next singleton write is fenced, the holder steps down, the row stays as written', async () => {
    const a = lease('a');
    await a.tryAcquire();
    const epoch = Number(a.holding?.epoch);
    await dataSource.query('UPDATE ha_leader SET epoch = epoch + 100');
    await expect(write(a)).rejects.toThrow(`fenced: the leader lease (epoch ${epoch}) is no longer this process's`);
    expect(a.isLeader).toBe(false);
    expect(await a.renew()).toBe(false);
    expect(await row()).toEqual({ holder: 'a#1', epoch: String(epoch + 100) });
  });

  it('a rewritten holder fences the write and nothing of the transaction commits', async () => {
    const a = lease('a');
    await a.tryAcquire();
    await dataSource.query("UPDATE ha_leader SET holder = 'intruder#1'");
    await expect(
      a.fenced(async (m) => {
        await m.query(
          'INSERT INTO ha_nodes (node_id, worker_id, hostname, api_addr, cluster_addr, version, started_at) VALUES ($1, 1, $2, $3, $4, $5, now())',
          ['probe', 'h', 'http://x', '', 'v'],
        );
      }),
    ).rejects.toThrow(FencedError);
    expect(await dataSource.query("SELECT 1 FROM ha_nodes WHERE node_id = 'probe'")).toEqual([]);
  });

  it('expiry: the other acquires with the next epoch; the old holder’s renewal then fails', async () => {
    const a = lease('a', 1000);
    const b = lease('b', 1000);
    await a.tryAcquire();
    const epoch = Number(a.holding?.epoch);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await b.tryAcquire()).toBe(true);
    expect(Number(b.holding?.epoch)).toBe(epoch + 1);
    expect(await a.renew()).toBe(false);
    expect(await row()).toEqual({ holder: 'b#1', epoch: String(epoch + 1) });
  });

  it('release: the other acquires at once; the releaser stays out for the hold-off', async () => {
    const a = lease('a');
    const b = lease('b');
    await a.tryAcquire();
    await a.release(15_000);
    expect(a.isLeader).toBe(false);
    expect(await b.tryAcquire()).toBe(true);
    await b.release(0);
    await a.step();
    expect(a.isLeader).toBe(false);
    expect((await row())?.holder).toBe('b#1');
  });

  it('step-down on a process that is not the leader expires the lease: the leader’s next write is fenced', async () => {
    const a = lease('a');
    const b = lease('b');
    await a.tryAcquire();
    await b.stepDown();
    await expect(write(a)).rejects.toThrow(FencedError);
    expect(await b.tryAcquire()).toBe(true);
  });

  it('the local deadline ends leadership without the database (a stalled process): no write passes the fence', async () => {
    now = 0;
    const a = lease('a', 3000);
    await a.tryAcquire();
    now = 2399;
    expect(a.isLeader).toBe(true);
    now = 2400;
    expect(a.isLeader).toBe(false);
    await expect(write(a)).rejects.toThrow('does not hold the leader lease');
    now = 0;
  });

  it('each fenced write is counted on the process’s registry row', async () => {
    const registry = new NodeRegistry(dataSource, {
      identity: { nodeId: 'a', workerId: 1 },
      hostname: 'host-a',
      apiAddr: 'http://127.0.0.1:1',
      clusterAddr: '',
      version: '0.1.0',
      heartbeatMs: 5000,
      staleMs: 15_000,
      log: quiet,
    });
    await registry.heartbeat();
    const a = lease('a');
    await a.tryAcquire();
    await write(a);
    await write(a);
    const [live] = await registry.live();
    expect(live).toMatchObject({ nodeId: 'a', workerId: 1, hostname: 'host-a', leader: true, singletonWrites: 2 });
    await registry.stop();
    expect(await registry.live()).toEqual([]);
  });
});
