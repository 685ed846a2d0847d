/**
 * The chain writer on a real PostgreSQL: a batch that fails rejects only its own entries, and the
 * batches pipelined behind it land contiguously on the head as it really is; checkpoints signed on
 * their own, after `checkpoint_entries` entries or `checkpoint_interval`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { buildConfig } from '../../src/config/config';
import { bareColumns } from '../../src/audit/audit-entry';
import type { ChainEntry } from '../../src/audit/chain-writer';
import { ENTRY_PAGE } from '../../src/audit/entry-pages';
import { openAuditedKernel, verifyThroughApi, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';
import { until } from '../support/wait';

jest.setTimeout(120_000);

function entry(n: number, eventData = JSON.stringify({ n })): ChainEntry {
  return { bytes: Buffer.from(JSON.stringify({ n })), time: new Date(), columns: bareColumns('test', randomUUID()), eventData };
}

/** The `audit { ... }` block's checkpoint settings, read as the server reads its configuration. */
function checkpointSettings(block: Record<string, unknown>) {
  const { checkpointEntries, checkpointIntervalSeconds } = buildConfig({ audit: block }, {}, {}).audit;
  return { checkpointEntries, checkpointIntervalSeconds };
}

/** Writes `n` secrets: a request and a response entry each. */
async function writes(call: Call, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) expect((await call('PUT', `secret/data/app${i}`, { data: { password: `pw-${i}` } })).status).toBe(200);
}

const logSize = async (k: TestKernel) => Number((await k.dataSource.query('SELECT max(sequence_number) AS n FROM audit_logs'))[0].n);
const checkpointSizes = async (k: TestKernel) =>
  ((await k.dataSource.query('SELECT tree_size FROM audit_checkpoints ORDER BY tree_size')) as { tree_size: string }[]).map((r) => Number(r.tree_size));

/**
 * The served checkpoints are `sizes` (the listing's own request entry may complete one more, signed
 * while or after it is listed); once the writer is idle the checkpoint file's lines are the stored
 * checkpoints, the served ones first; each is signed by the served key and matches the exported log.
 */
async function expectShippedAndVerified(k: TestKernel, call: Call, sizes: number[]): Promise<void> {
  const served = (await call('GET', 'sys/audit-log/checkpoints')).json.data.checkpoints as { tree_size: number }[];
  expect(served.map((c) => c.tree_size).slice(0, sizes.length)).toEqual(sizes);
  expect(served.length - sizes.length).toBeLessThanOrEqual(1);
  await k.audit.chain['idle']();
  const shipped = readFileSync(k.auditConfig.checkpointFile, 'utf8');
  const lines = shipped
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { tree_size: number });
  expect(lines.map((l) => l.tree_size)).toEqual(await checkpointSizes(k));
  expect(lines.slice(0, served.length)).toEqual(served);
  // The export's own requests are audited too, and may bring one more checkpoint into it.
  const report = await verifyThroughApi(call, shipped);
  expect(report.problem).toBeUndefined();
  expect(report.ok).toBe(true);
  expect(report.checkpointsVerified).toBeGreaterThanOrEqual(sizes.length);
}

describe('audit chain writer (medium)', () => {
  let k: TestKernel | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it('a batch sent behind a failing one (pipelined) is sent again from the real head, and the chain verifies', async () => {
    const opened = await openAuditedKernel({ databaseDevice: true });
    k = opened.k;
    const chain = k.audit.chain;
    expect(k.audit.log.appendDepth).toBeGreaterThan(1);
    const [before]: { n: string }[] = await k.dataSource.query('SELECT count(*) AS n FROM audit_logs');
    let inFlight = 0;
    let most = 0;
    let call = 0;
    const calls: boolean[] = [];
    let secondSent!: () => void;
    const second = new Promise<void>((resolve) => (secondSent = resolve));
    const append = k.audit.log.append.bind(k.audit.log);
    jest.spyOn(k.audit.log, 'append').mockImplementation(async (...args) => {
      const n = ++call;
      most = Math.max(most, ++inFlight);
      try {
        const result = append(...args);
        // The first answer is held until the second batch is on its way behind it.
        if (n === 1) await Promise.all([second, result.catch(() => undefined)]);
        if (n === 2) secondSent();
        const ok = await result;
        calls.push(ok);
        return ok;
      } finally {
        inFlight--;
      }
    });
    // Not JSON: PostgreSQL rejects the first batch. The next batch is computed from the head the first would have left.
    const poisoned = chain.append(entry(0, 'not json'));
    poisoned.catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    const good = Array.from({ length: 20 }, (_, i) => chain.append(entry(i + 1)));
    await expect(poisoned).rejects.toThrow();
    await Promise.all(good);
    jest.restoreAllMocks();
    // Both were on their way at once; the second found the head elsewhere, wrote nothing, and went again.
    expect(most).toBe(2);
    expect(calls).toEqual([false, true]);

    const rows: { sequence_number: string }[] = await k.dataSource.query('SELECT sequence_number FROM audit_logs ORDER BY sequence_number');
    expect(rows.map((r) => Number(r.sequence_number))).toEqual(Array.from({ length: Number(before.n) + 20 }, (_, i) => i + 1));
    expect(await verifyThroughApi(opened.call)).toMatchObject({ ok: true });
  });

  it('signs a checkpoint on its own once checkpoint_entries entries are past the last one: stored, appended to the checkpoint file, verified', async () => {
    const settings = checkpointSettings({ checkpoint_entries: 10, checkpoint_interval: '1h' });
    expect(settings).toEqual({ checkpointEntries: 10, checkpointIntervalSeconds: 3600 });
    const opened = await openAuditedKernel({ databaseDevice: true, audit: settings });
    k = opened.k;
    // Concurrent writers: entries keep committing while each checkpoint is being written.
    for (let round = 0; round < 4; round++) await Promise.all(Array.from({ length: 8 }, (_, i) => writes(opened.call, 1, round * 8 + i)));
    const size = await logSize(k);
    expect(size).toBeGreaterThanOrEqual(64);
    // No checkpoint was asked for; the interval is an hour.
    await until(async () => ((await checkpointSizes(k as TestKernel)).at(-1) ?? 0) > size - 10);
    const sizes = await checkpointSizes(k);
    expect(sizes.length).toBeGreaterThanOrEqual(3);
    // Each covers at least checkpoint_entries new entries (entries committed during one count towards the next).
    expect(sizes.map((s, i) => s - (sizes[i - 1] ?? 0)).filter((gap) => gap < 10)).toEqual([]);
    await expectShippedAndVerified(k, opened.call, sizes);
  });

  it('signs a checkpoint on its own every checkpoint_interval when entries were added, and none while idle', async () => {
    const settings = checkpointSettings({ checkpoint_entries: 1_000_000, checkpoint_interval: '1s' });
    expect(settings).toEqual({ checkpointEntries: 1_000_000, checkpointIntervalSeconds: 1 });
    const opened = await openAuditedKernel({ databaseDevice: true, audit: settings });
    k = opened.k;
    await writes(opened.call, 3);
    const first = await logSize(k);
    await until(async () => (await checkpointSizes(k as TestKernel)).includes(first), 10_000);
    await writes(opened.call, 2, 3);
    const second = await logSize(k);
    await until(async () => (await checkpointSizes(k as TestKernel)).includes(second), 10_000);
    // Idle for three intervals: the head has not moved, so nothing new is signed.
    const signed = await checkpointSizes(k);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await checkpointSizes(k)).toEqual(signed);
    expect(signed.at(-1)).toBe(second);
    await expectShippedAndVerified(k, opened.call, signed);
  });
});

describe('audit chain writer: a checkpoint over entries it did not append (medium)', () => {
  let k: TestKernel | undefined;
  afterEach(async () => {
    jest.restoreAllMocks();
    await k?.close();
    k = undefined;
  });

  it('reads the range page by page (entries are whole requests; 1,000 batch entries read at once were ~60 MB), and the checkpoint verifies', async () => {
    const opened = await openAuditedKernel({ databaseDevice: true, audit: { checkpointEntries: 1_000_000, checkpointIntervalSeconds: 3600 } });
    k = opened.k;
    const chain = k.audit.chain;
    await Promise.all(Array.from({ length: 3 * ENTRY_PAGE }, (_, i) => chain.append(entry(i))));
    // As after a restart: this process holds none of the leaves since the last checkpoint.
    chain['leaves'] = undefined;
    const limits: number[] = [];
    const entries = k.audit.log.entries.bind(k.audit.log);
    jest.spyOn(k.audit.log, 'entries').mockImplementation((after, limit, through) => {
      limits.push(limit);
      return entries(after, limit, through);
    });
    const size = await chain.checkpointNow();
    jest.restoreAllMocks();
    expect(size).toBeGreaterThan(3 * ENTRY_PAGE);
    expect(limits.length).toBeGreaterThanOrEqual(4);
    expect(limits.every((l) => l === ENTRY_PAGE)).toBe(true);
    await expectShippedAndVerified(k, opened.call, [size]);
  });
});
