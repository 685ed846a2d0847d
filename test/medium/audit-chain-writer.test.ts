/**
 * The chain writer on a real PostgreSQL: a batch that fails rejects only its own entries, and the
 * batches pipelined behind it land contiguously on the head as it really is.
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
});
