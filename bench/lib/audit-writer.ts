/**
 * The audit chain writer alone: `AuditChainWriter` (src/audit/chain-writer.ts) in the runner's
 * process on a database of its own, with `concurrency` appenders that each append their next entry
 * as soon as the last one committed. No HTTP, no server, no entry building or redaction: what group
 * commit onto the hash chain takes by itself, to set the HTTP figure of audit-append against. The
 * entries are copies of entries SecretHub committed in the same run (same bytes and columns, fresh
 * event ids). Run only while no load is running.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLogRepository, type AuditRow, type ChainHead, type CheckpointRow } from '../../src/audit/audit-log.repository';
import type { AuditColumns } from '../../src/audit/audit-entry';
import { AuditChainWriter } from '../../src/audit/chain-writer';
import { newSigningKey, signingKeyFromDer } from '../../src/crypto/audit-chain';
import { openDatabase } from '../../src/database/data-source';
import { ALL_ENTITIES } from '../../src/entities';
import { buildConfig } from '../../src/config/config';
import { auditSequence, backendCpuDelta, backendCpuSeconds, query } from './postgres';

/** The server's checkpoint defaults, from the configuration code itself. */
const AUDIT_DEFAULTS = buildConfig({}, {}, {}).audit;

export interface WriterFigures {
  concurrency: number;
  seconds: number;
  entries: number;
  entriesPerSecond: number;
  /** Appends (one statement, one transaction each): how many, their mean size and mean time. */
  batches: number;
  entriesPerBatch: number;
  appendMsMean: number;
  /** Share of the measured time an append statement was in flight (near 1: the one-batch-at-a-time writer was the limit). */
  appendBusy: number;
  /** Checkpoints signed and stored meanwhile, and the time their INSERT took in all (the writer appends nothing meanwhile). */
  checkpoints: number;
  checkpointMs: number;
  /** CPU per committed entry: the runner's process (the writer, hashing the chain) and the PostgreSQL backends. */
  writerCpuMsPerEntry: number;
  dbCpuMsPerEntry: number | null;
  /** WAL written per entry (the whole cluster's, while nothing else runs). */
  walBytesPerEntry: number;
}

export interface EntryTemplate {
  bytes: Buffer;
  columns: AuditColumns;
  eventData: string;
}

/** The last `limit` entries SecretHub committed in `serverDbUrl`, as templates for the writer alone. */
export async function entryTemplates(serverDbUrl: string, limit = 200): Promise<EntryTemplate[]> {
  type Row = Record<
    | 'event_type'
    | 'actor_type'
    | 'actor_id'
    | 'actor_name'
    | 'secret_path'
    | 'secret_mount'
    | 'operation'
    | 'policy_matched'
    | 'denial_reason'
    | 'source_ip'
    | 'correlation_id',
    string | null
  > & { access_granted: boolean | null; entry_bytes: Buffer; event_data: string };
  const rows = await query<Row>(
    serverDbUrl,
    `SELECT event_type, actor_type, actor_id, actor_name, secret_path, secret_mount, operation, access_granted, policy_matched, denial_reason,
            source_ip, correlation_id, entry_bytes, event_data::text AS event_data FROM audit_logs ORDER BY sequence_number DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    bytes: r.entry_bytes,
    eventData: r.event_data,
    columns: {
      eventId: '',
      eventType: r.event_type ?? 'response',
      actorType: r.actor_type,
      actorId: r.actor_id,
      actorName: r.actor_name,
      secretPath: r.secret_path,
      secretMount: r.secret_mount,
      operation: r.operation,
      accessGranted: r.access_granted,
      policyMatched: r.policy_matched,
      denialReason: r.denial_reason,
      sourceIp: r.source_ip,
      correlationId: r.correlation_id,
    },
  }));
}

async function walLsn(url: string): Promise<string> {
  return ((await query<{ lsn: string }>(url, 'SELECT pg_current_wal_lsn()::text AS lsn'))[0] as { lsn: string }).lsn;
}

async function walBytesSince(url: string, lsn: string): Promise<number> {
  return Number(((await query<{ n: string }>(url, 'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn) AS n', [lsn]))[0] as { n: string }).n);
}

/** The repository, counting and timing the writer's appends and checkpoint inserts. */
class TimedRepository extends AuditLogRepository {
  batches = 0;
  appendNs = 0n;
  checkpointCount = 0;
  checkpointNs = 0n;

  override async append(expected: Pick<ChainHead, 'sequence' | 'chainHash'>, next: Omit<ChainHead, 'logId'>, rows: AuditRow[]): Promise<boolean> {
    const t = process.hrtime.bigint();
    try {
      return await super.append(expected, next, rows);
    } finally {
      this.appendNs += process.hrtime.bigint() - t;
      this.batches++;
    }
  }

  override async insertCheckpoint(c: CheckpointRow): Promise<void> {
    const t = process.hrtime.bigint();
    try {
      await super.insertCheckpoint(c);
    } finally {
      this.checkpointNs += process.hrtime.bigint() - t;
      this.checkpointCount++;
    }
  }
}

/**
 * Appends with `concurrency` closed-loop appenders for `warmupSeconds` (not counted: partition,
 * prepared statement, JIT), then for each of `concurrencies` in turn for `seconds`.
 */
export async function measureWriter(
  url: string,
  templates: EntryTemplate[],
  concurrencies: number[],
  seconds: number,
  warmupSeconds = 1,
): Promise<WriterFigures[]> {
  if (templates.length === 0) throw new Error('no audit entries to copy');
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-bench-audit-'));
  const { dataSource } = await openDatabase(url, { entities: ALL_ENTITIES }); // the server's pool size
  const repository = new TimedRepository(dataSource);
  const errors: string[] = [];
  const writer = new AuditChainWriter(repository, {
    checkpointEntries: AUDIT_DEFAULTS.checkpointEntries,
    checkpointIntervalSeconds: AUDIT_DEFAULTS.checkpointIntervalSeconds,
    checkpointFile: join(dir, 'audit-checkpoints.jsonl'),
    log: { info: () => undefined, error: (m) => errors.push(m) },
  });
  await writer.start(signingKeyFromDer(newSigningKey()));
  const run = async (concurrency: number, forSeconds: number): Promise<{ entries: number; seconds: number }> => {
    const started = process.hrtime.bigint();
    const deadline = started + BigInt(Math.round(forSeconds * 1e9));
    let entries = 0;
    const appender = async (k: number) => {
      for (let i = k; process.hrtime.bigint() < deadline; i += concurrency) {
        const t = templates[i % templates.length] as EntryTemplate;
        await writer.append({ bytes: t.bytes, eventData: t.eventData, time: new Date(), columns: { ...t.columns, eventId: randomUUID() } });
        entries++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, k) => appender(k)));
    return { entries, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  };
  try {
    await run(concurrencies[0] ?? 32, warmupSeconds);
    const out: WriterFigures[] = [];
    for (const concurrency of concurrencies) {
      const before = {
        wal: await walLsn(url),
        seq: await auditSequence(url),
        db: await backendCpuSeconds(url),
        cpu: process.cpuUsage(),
        batches: repository.batches,
        appendNs: repository.appendNs,
        checkpoints: repository.checkpointCount,
        checkpointNs: repository.checkpointNs,
      };
      const r = await run(concurrency, seconds);
      const cpu = process.cpuUsage(before.cpu);
      const db = backendCpuDelta(before.db, await backendCpuSeconds(url));
      const committed = (await auditSequence(url)) - before.seq;
      const wal = await walBytesSince(url, before.wal);
      if (committed !== r.entries) errors.push(`${r.entries} appends resolved but the chain head moved by ${committed}`);
      const batches = repository.batches - before.batches;
      const appendMs = Number(repository.appendNs - before.appendNs) / 1e6;
      const round = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d;
      out.push({
        concurrency,
        seconds: round(r.seconds, 2),
        entries: r.entries,
        entriesPerSecond: round(r.entries / r.seconds, 0),
        batches,
        entriesPerBatch: round(r.entries / Math.max(1, batches), 1),
        appendMsMean: round(appendMs / Math.max(1, batches), 2),
        appendBusy: round(appendMs / 1000 / r.seconds, 2),
        checkpoints: repository.checkpointCount - before.checkpoints,
        checkpointMs: round(Number(repository.checkpointNs - before.checkpointNs) / 1e6, 1),
        writerCpuMsPerEntry: round((cpu.user + cpu.system) / 1000 / Math.max(1, r.entries), 4),
        dbCpuMsPerEntry: db === undefined ? null : round((db * 1000) / Math.max(1, r.entries), 4),
        walBytesPerEntry: round(wal / Math.max(1, r.entries), 0),
      });
    }
    if (errors.length) throw new Error(`audit writer alone: ${errors.join('; ')}`);
    return out;
  } finally {
    await writer.stop().catch(() => undefined);
    await dataSource.destroy().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
