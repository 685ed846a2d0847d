/**
 * Several chain writers (stand-ins for processes on several nodes), each on its own connections to
 * one database, appending at once: every entry commits (a batch that finds the head moved by
 * another writer is sent again under the head lock and cannot lose again), the sequences are
 * contiguous, and the exported chain verifies.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { AuditLogRepository } from '../../src/audit/audit-log.repository';
import { bareColumns } from '../../src/audit/audit-entry';
import { AuditChainWriter, type ChainEntry } from '../../src/audit/chain-writer';
import { openDatabase } from '../../src/database/data-source';
import { ALL_ENTITIES } from '../../src/entities';
import { openAuditedKernel, verifyThroughApi } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(180_000);

const WRITERS = 6;
const ROUNDS = 60;

function entry(n: number): ChainEntry {
  return { bytes: Buffer.from(JSON.stringify({ n })), time: new Date(), columns: bareColumns('test', randomUUID()), eventData: JSON.stringify({ n }) };
}

describe('audit chain under many writers (medium)', () => {
  let k: TestKernel | undefined;
  const others: { writer: AuditChainWriter; dataSource: DataSource }[] = [];
  afterAll(async () => {
    for (const o of others) {
      await o.writer.stop();
      await o.dataSource.destroy();
    }
    await k?.close();
  });

  it(`${WRITERS} writers × ${ROUNDS} rounds: no entry fails, lost races are sent again under the lock, the chain verifies`, async () => {
    const opened = await openAuditedKernel({ databaseDevice: true });
    k = opened.k;
    const signingKey = k.audit.chain['signingKey'];
    if (!signingKey) throw new Error('the chain writer has not started');
    const dir = mkdtempSync(join(tmpdir(), 'sh-many-writers-'));
    const repositories = [k.audit.log];
    const writers = [k.audit.chain];
    for (let i = 1; i < WRITERS; i++) {
      const { dataSource } = await openDatabase(k.url, { poolSize: 2, entities: ALL_ENTITIES });
      const repository = new AuditLogRepository(dataSource);
      const writer = new AuditChainWriter(repository, {
        checkpointEntries: 1_000_000,
        checkpointIntervalSeconds: 3600,
        checkpointFile: join(dir, `checkpoints-${i}.jsonl`),
        log: { info: () => undefined, error: () => undefined },
      });
      await writer.start(signingKey);
      others.push({ writer, dataSource });
      repositories.push(repository);
      writers.push(writer);
    }
    let lost = 0;
    let locked = 0;
    for (const r of repositories) {
      const append = r.append.bind(r);
      jest.spyOn(r, 'append').mockImplementation(async (...args) => {
        const ok = await append(...args);
        if (!ok) lost++;
        return ok;
      });
      const appendLocked = r.appendLocked.bind(r);
      jest.spyOn(r, 'appendLocked').mockImplementation(async (prepare) => {
        locked++;
        return appendLocked(prepare);
      });
    }
    const [{ n: before }]: { n: string }[] = await k.dataSource.query('SELECT count(*) AS n FROM audit_logs');

    const outcomes = await Promise.allSettled(
      writers.map(async (w, i) => {
        for (let round = 0; round < ROUNDS; round++) await w.appendAll([entry(i * 10_000 + round * 2), entry(i * 10_000 + round * 2 + 1)]);
      }),
    );
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    // The writers really raced: some batches found the head moved, and each was appended under the lock.
    expect(lost).toBeGreaterThan(0);
    expect(locked).toBeGreaterThan(0);

    const [{ n, lo, hi }]: { n: string; lo: string; hi: string }[] = await k.dataSource.query(
      'SELECT count(*) AS n, min(sequence_number) AS lo, max(sequence_number) AS hi FROM audit_logs',
    );
    expect(Number(n) - Number(before)).toBeGreaterThanOrEqual(WRITERS * ROUNDS * 2);
    expect(Number(hi) - Number(lo) + 1).toBe(Number(n));
    const report = await verifyThroughApi(opened.call);
    expect(report.problem).toBeUndefined();
    expect(report.ok).toBe(true);
  });
});
