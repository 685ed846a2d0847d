/**
 * The chain writer on a real PostgreSQL: a batch that fails rejects only its own entries, and the
 * entries queued behind it land contiguously on the head as it really is.
 */
import { randomUUID } from 'node:crypto';
import { bareColumns } from '../../src/audit/audit-entry';
import type { ChainEntry } from '../../src/audit/chain-writer';
import { openAuditedKernel, verifyThroughApi } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

function entry(n: number, eventData = JSON.stringify({ n })): ChainEntry {
  return { bytes: Buffer.from(JSON.stringify({ n })), time: new Date(), columns: bareColumns('test', randomUUID()), eventData };
}

describe('audit chain writer (medium)', () => {
  let k: TestKernel | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it('entries queued behind a failing batch land contiguously after it, and the chain verifies', async () => {
    const opened = await openAuditedKernel({ databaseDevice: true });
    k = opened.k;
    const chain = k.audit.chain;
    const [before]: { n: string }[] = await k.dataSource.query('SELECT count(*) AS n FROM audit_logs');
    let inFlight = 0;
    let most = 0;
    const calls: boolean[] = [];
    const append = k.audit.log.append.bind(k.audit.log);
    jest.spyOn(k.audit.log, 'append').mockImplementation(async (...args) => {
      most = Math.max(most, ++inFlight);
      try {
        const ok = await append(...args);
        calls.push(ok);
        return ok;
      } finally {
        inFlight--;
      }
    });
    // Not JSON: PostgreSQL rejects the whole first batch. The next appends queue behind it.
    const poisoned = chain.append(entry(0, 'not json'));
    const good = Array.from({ length: 20 }, (_, i) => chain.append(entry(i + 1)));
    await expect(poisoned).rejects.toThrow();
    await Promise.all(good);
    jest.restoreAllMocks();
    // The poisoned batch failed on its own (one batch in flight); the rest went in one batch, first time.
    expect(most).toBe(1);
    expect(calls).toEqual([true]);

    const rows: { sequence_number: string }[] = await k.dataSource.query('SELECT sequence_number FROM audit_logs ORDER BY sequence_number');
    expect(rows.map((r) => Number(r.sequence_number))).toEqual(Array.from({ length: Number(before.n) + 20 }, (_, i) => i + 1));
    expect(await verifyThroughApi(opened.call)).toMatchObject({ ok: true });
  });
});
