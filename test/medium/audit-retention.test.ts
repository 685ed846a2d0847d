/**
 * Audit retention on a real kernel and PostgreSQL: old monthly partitions are dropped behind a
 * signed prune record, the rest of the chain still verifies offline from it, and a log that does
 * not verify, or a prefix dropped without a record, is caught.
 */
import { randomUUID } from 'node:crypto';
import { canonicalJson } from '../../src/crypto/canonical-json';
import { bareColumns } from '../../src/audit/audit-entry';
import { AuditRetention } from '../../src/audit/retention';
import { auditedPipeline, verifyThroughApi, withGuardsOff, type Call } from '../support/audit';
import { openTestKernel, type TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

const DAY = 86_400;

const columns = () => bareColumns('request', randomUUID());

/**
 * Entries 1..3 in January 2025 and 4..5 in February 2025 (appended straight onto the chain), then
 * the database device and ordinary traffic this month.
 */
async function kernelWithOldMonths(): Promise<{ k: TestKernel; call: Call; key: string }> {
  const k = await openTestKernel();
  const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
  const key = init.keys[0].toString('hex');
  await k.seal.submitUnsealKey(key, false);
  const old = [
    new Date('2025-01-10T00:00:00Z'),
    new Date('2025-01-20T00:00:00Z'),
    new Date('2025-01-31T23:59:59Z'),
    new Date('2025-02-01T00:00:00Z'),
    new Date('2025-02-28T12:00:00Z'),
  ];
  for (const [i, time] of old.entries()) {
    const bytes = canonicalJson({ type: 'request', time: time.toISOString(), request: { id: `old-${i + 1}` } });
    await k.audit.chain.append({ bytes, time, columns: columns(), eventData: bytes.toString('utf8') });
  }
  const call = auditedPipeline(k, init.rootToken);
  expect((await call('PUT', 'sys/audit/chain', { type: 'database' })).status).toBe(204);
  expect((await call('PUT', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } })).status).toBe(204);
  for (let i = 0; i < 3; i++) expect((await call('PUT', `secret/data/app${i}`, { data: { password: `pw-${i}` } })).status).toBe(200);
  await call('PUT', 'sys/audit-log/checkpoints');
  return { k, call, key };
}

const partitions = async (k: TestKernel): Promise<string[]> => k.audit.log.partitions();

describe('audit retention (medium)', () => {
  let k: TestKernel | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it('drops expired months behind a signed prune record; the export verifies from it, also after a restart', async () => {
    const opened = await kernelWithOldMonths();
    k = opened.k;
    const { call } = opened;
    expect(await partitions(k)).toEqual(expect.arrayContaining(['audit_logs_y2025m01', 'audit_logs_y2025m02']));
    expect((await verifyThroughApi(call)).ok).toBe(true);

    const retention = new AuditRetention(k.audit.log, k.audit.chain, 90 * DAY, k.lease);
    expect(await retention.prune()).toEqual({ prunedThrough: 5, partitions: ['audit_logs_y2025m01', 'audit_logs_y2025m02'] });
    expect(await partitions(k)).not.toEqual(expect.arrayContaining(['audit_logs_y2025m01']));
    expect(await partitions(k)).not.toEqual(expect.arrayContaining(['audit_logs_y2025m02']));
    const [first]: { lo: string }[] = await k.dataSource.query('SELECT min(sequence_number) AS lo FROM audit_logs');
    expect(Number(first.lo)).toBe(6);
    const prunes: { signature: Buffer | null }[] = await k.dataSource.query("SELECT signature FROM audit_logs WHERE event_type = 'prune'");
    expect(prunes).toHaveLength(1);
    expect(prunes[0].signature).toHaveLength(64);

    const report = await verifyThroughApi(call);
    expect(report).toMatchObject({ ok: true, firstSequence: 6, prunedThrough: 5 });
    expect(await retention.prune()).toBeNull();

    // After a restart the writer no longer holds the leaves: its next checkpoint starts after the pruned ones.
    await k.seal.seal();
    await k.seal.submitUnsealKey(opened.key, false);
    expect((await call('PUT', 'secret/data/after', { data: { password: 'x' } })).status).toBe(200);
    expect((await call('PUT', 'sys/audit-log/checkpoints')).status).toBe(200);
    expect(await verifyThroughApi(call)).toMatchObject({ ok: true, prunedThrough: 5 });
  });

  it('keeps a month whose entries interleave with a month still kept', async () => {
    const opened = await kernelWithOldMonths();
    k = opened.k;
    // A late January entry after this month's traffic: January and February can no longer go without it.
    const late = new Date('2025-01-31T23:59:59.999Z');
    const bytes = canonicalJson({ type: 'request', time: late.toISOString(), request: { id: 'late' } });
    await k.audit.chain.append({ bytes, time: late, columns: columns(), eventData: bytes.toString('utf8') });
    expect(await new AuditRetention(k.audit.log, k.audit.chain, 90 * DAY, k.lease).prune()).toBeNull();
    expect(await partitions(k)).toEqual(expect.arrayContaining(['audit_logs_y2025m01', 'audit_logs_y2025m02']));
  });

  it('refuses to prune a log that does not verify, and drops nothing', async () => {
    const opened = await kernelWithOldMonths();
    k = opened.k;
    const db = k.dataSource;
    await withGuardsOff(db, () => db.query("UPDATE audit_logs SET entry_bytes = convert_to('{\"forged\":true}', 'UTF8') WHERE sequence_number = 2"));
    await expect(new AuditRetention(k.audit.log, k.audit.chain, 90 * DAY, k.lease).prune()).rejects.toThrow('entry 2 does not match the chain');
    expect(await partitions(k)).toEqual(expect.arrayContaining(['audit_logs_y2025m01', 'audit_logs_y2025m02']));
    expect(await db.query("SELECT 1 FROM audit_logs WHERE event_type = 'prune'")).toHaveLength(0);
  });

  it('a prefix dropped without a prune record is reported as missing from sequence 1', async () => {
    const opened = await kernelWithOldMonths();
    k = opened.k;
    await k.dataSource.query('ALTER TABLE audit_logs DETACH PARTITION audit_logs_y2025m01');
    await k.dataSource.query('DROP TABLE audit_logs_y2025m01');
    const report = await verifyThroughApi(opened.call);
    expect(report.problem).toMatchObject({ sequence: 1, reason: expect.stringContaining('no prune record for 1..3') });
  });

  it('does nothing when retention is off or nothing has expired', async () => {
    const opened = await kernelWithOldMonths();
    k = opened.k;
    expect(await new AuditRetention(k.audit.log, k.audit.chain, 0, k.lease).prune()).toBeNull();
    expect(await new AuditRetention(k.audit.log, k.audit.chain, 3650 * DAY, k.lease).prune()).toBeNull();
    expect(await partitions(k)).toEqual(expect.arrayContaining(['audit_logs_y2025m01', 'audit_logs_y2025m02']));
  });
});
