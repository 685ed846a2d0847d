/**
 * The audit log's singleton work under the leader lease, in one kernel (a single process leads
 * after unseal): the timed checkpoint is the leader's and commits only through the fence; once the
 * lease row is gone the process is fenced, steps down, and neither checkpoints by the interval,
 * scans for anomalies nor prunes, and its renewal does not re-create the row.
 */
import { openAuditedKernel } from '../support/audit';
import type { TestKernel } from '../support/kernel';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('singleton work under the leader lease (medium)', () => {
  let k: TestKernel;
  let call: Awaited<ReturnType<typeof openAuditedKernel>>['call'];

  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel({ databaseDevice: true, audit: { checkpointIntervalSeconds: 1, checkpointEntries: 1_000_000 } }));
  });
  afterAll(async () => k.close());

  const checkpoints = async () => Number((await k.dataSource.query('SELECT count(*) AS n FROM audit_checkpoints'))[0].n);
  const writes = async () =>
    Number((await k.dataSource.query('SELECT singleton_writes FROM ha_nodes WHERE node_id = $1', [k.registry.identity.nodeId]))[0]?.singleton_writes ?? -1);

  it('alone, the process leads from unseal and its timed checkpoints pass the fence', async () => {
    expect(k.lease.isLeader).toBe(true);
    const before = await writes();
    await call('GET', 'secret/data/x');
    const deadline = Date.now() + 10_000;
    while ((await checkpoints()) === 0 && Date.now() < deadline) await sleep(100);
    expect(await checkpoints()).toBeGreaterThan(0);
    expect(await writes()).toBeGreaterThan(before);
  });

  it('the lease row deleted: the next timed checkpoint is fenced, the process steps down and its singleton work stops', async () => {
    await k.dataSource.query('DELETE FROM ha_leader');
    const before = await checkpoints();
    await call('GET', 'secret/data/y');
    const deadline = Date.now() + 5000;
    while (k.lease.isLeader && Date.now() < deadline) await sleep(50);
    expect(k.lease.isLeader).toBe(false);
    await call('GET', 'secret/data/z');
    await sleep(2500);
    expect(await checkpoints()).toBe(before);
    expect(await k.audit.anomalies.scanner.scanNow()).toBeUndefined();
    expect(await k.audit.retention.prune(new Date(Date.now() + 10 * 365 * 86_400_000))).toBeNull();
    expect(await k.dataSource.query('SELECT holder FROM ha_leader')).toEqual([]);
    // Asked for, a checkpoint is still written by the process asked (unfenced).
    expect((await call('PUT', 'sys/audit-log/checkpoints')).status).toBe(200);
    expect(await checkpoints()).toBe(before + 1);
  });
});
