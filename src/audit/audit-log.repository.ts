/**
 * SQL for the audit log: the chain head, monthly partitions, the append-only guards, batched appends
 * and checkpoints. The append is one statement, so it is one transaction: the UPDATE of the head row
 * takes its lock and succeeds only if the head is still where the writer computed from, and the
 * INSERT adds the batch only if it did. A writer that lost the race inserts nothing and sends the
 * batch again with `appendLocked`, which reads the head under its row lock first and so cannot lose;
 * sequence numbers are therefore gap-free and unique without a sequence object.
 */
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { entityNames } from '../database/entity-names';
import { sessionUrl } from '../database/session-connection';
import { runStatement, statementQuery } from '../database/sql';
import type { LeaderFence } from '../framework/backend';
import type { AuditColumns } from './audit-entry';
import { auditSql, type AuditSql } from './audit-log.sql';
import { AuditChainHeadEntity, AuditCheckpointEntity, AuditLogEntity } from './audit.entity';

export interface ChainHead {
  logId: Buffer;
  sequence: number;
  chainHash: Buffer;
  frontier: Buffer[];
}

/**
 * A row to insert: the entry's columns as rendered (kept as they are: copying them into one object
 * per row was 60% of preparing a batch), and what the chain adds.
 */
export interface AuditRow {
  columns: AuditColumns;
  sequence: number;
  timestamp: Date;
  previousHash: Buffer;
  currentHash: Buffer;
  signature: Buffer | null;
  entryBytes: Buffer;
  eventData: string;
}

/** Where the log was pruned to: entries 1..through are gone; the chain resumes from this state. */
export interface PruneAnchor {
  through: number;
  /** The chain hash of entry `through` (null when nothing was pruned: the genesis hash applies). */
  chainHash: Buffer | null;
  frontier: Buffer[];
}

/** A monthly partition and the sequence numbers it holds (null when empty). */
export interface PartitionRange {
  name: string;
  month: string;
  minSequence: number | null;
  maxSequence: number | null;
}

export interface CheckpointRow {
  treeSize: number;
  rootHash: Buffer;
  chainHash: Buffer;
  previousTreeSize: number;
  leaves: Buffer;
  signedAt: Date;
  signature: Buffer;
}

export interface ExportedRow {
  sequence: number;
  timestamp: Date;
  entryBytes: Buffer;
  previousHash: Buffer;
  currentHash: Buffer;
}

/**
 * The guard triggers every audit table and partition must carry, enabled ALWAYS, by name and by
 * `pg_trigger.tgtype` (bits: 1 row-level, 2 BEFORE, 8 DELETE, 16 UPDATE, 32 TRUNCATE): BEFORE UPDATE
 * OR DELETE for each row, and BEFORE TRUNCATE for the statement.
 */
export const GUARD_TRIGGERS: Record<string, number> = { audit_no_change: 1 | 2 | 8 | 16, audit_no_truncate: 2 | 32 };

/** The guard function's body as the audit migration creates it, whitespace aside: it refuses whatever fired it. */
const GUARD_FUNCTION_BODY =
  "BEGIN RAISE EXCEPTION 'audit records are append-only: % on % refused', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END";

const collapsed = (text: string) => text.replace(/\s+/g, ' ').trim();

/** Buffers back to back, with where each starts and how long it is. */
function packed(parts: readonly Buffer[]): { bytes: Buffer; at: number[]; len: number[] } {
  const at: number[] = [];
  const len: number[] = [];
  let offset = 0;
  for (const p of parts) {
    at.push(offset);
    len.push(p.length);
    offset += p.length;
  }
  return { bytes: Buffer.concat(parts, offset), at, len };
}

function toCheckpoint(r: Record<string, unknown>): CheckpointRow {
  return {
    treeSize: Number(r.tree_size),
    rootHash: r.root_hash as Buffer,
    chainHash: r.chain_hash as Buffer,
    previousTreeSize: Number(r.previous_tree_size),
    leaves: r.leaves as Buffer,
    signedAt: r.signed_at as Date,
    signature: r.signature as Buffer,
  };
}

/** `audit_logs_y2026m11` for November 2026. */
export function partitionName(month: string): string {
  return `audit_logs_y${month.slice(0, 4)}m${month.slice(5, 7)}`;
}

const PARTITION_NAME = /^audit_logs_y(\d{4})m(\d{2})$/;

/** `2026-11` for `audit_logs_y2026m11`; null for a name that is not a monthly partition. */
export function partitionMonth(name: string): string | null {
  const m = PARTITION_NAME.exec(name);
  return m ? `${m[1]}-${m[2]}` : null;
}

function monthBounds(month: string): [string, string] {
  const [y, m] = month.split('-').map(Number);
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
  return [`${month}-01T00:00:00Z`, `${next}-01T00:00:00Z`];
}

/** Appends on their way at once on the writer's pipelined connection; one through the pool (no pipelining there). */
const PIPELINE_DEPTH = 3;

export class AuditLogRepository {
  private appendConnection: Promise<Client> | undefined;
  private sql?: AuditSql;

  constructor(private readonly dataSource: DataSource) {}

  private get statements(): AuditSql {
    const db = this.dataSource;
    return (this.sql ??= auditSql({
      head: entityNames(db, AuditChainHeadEntity),
      logs: entityNames(db, AuditLogEntity),
      checkpoints: entityNames(db, AuditCheckpointEntity),
    }));
  }

  /**
   * The URL of the pipelined connection, when there is one: the session URL (`ha_connection_url`
   * when set). Several transactions in flight on one connection is session state: PgBouncer 1.18
   * in transaction mode mixes up pipelined transactions ("invalid frontend message type").
   */
  private get url(): string | undefined {
    return sessionUrl(this.dataSource);
  }

  /** How many appends the writer may have on their way at once. */
  get appendDepth(): number {
    return this.url ? PIPELINE_DEPTH : 1;
  }

  /**
   * The writer's own connection in pg's pipeline mode: appends are written back to back without
   * waiting for answers; PostgreSQL runs them in order, each its own transaction (each ends with a
   * Sync). Opened on first use; dropped on error (its appends fail) and opened again by the next.
   */
  private appendClient(url: string): Promise<Client> {
    if (!this.appendConnection) {
      const client = new Client({ connectionString: url, pipeline: true, application_name: 'secrethub-audit-writer' });
      const opening = client.connect().then(() => client);
      const drop = () => {
        if (this.appendConnection !== opening) return;
        this.appendConnection = undefined;
        client.end().catch(() => undefined);
      };
      client.on('error', drop);
      client.on('end', drop);
      opening.catch(drop);
      this.appendConnection = opening;
    }
    return this.appendConnection;
  }

  async closeAppendConnection(): Promise<void> {
    const opening = this.appendConnection;
    this.appendConnection = undefined;
    await opening?.then((c) => c.end()).catch(() => undefined);
  }

  async head(): Promise<ChainHead> {
    const rows: HeadRow[] = await this.dataSource.query(this.statements.head);
    if (!rows[0]) throw new Error('audit_chain_head row is missing');
    return headOf(rows[0]);
  }

  async pruneAnchor(): Promise<PruneAnchor> {
    const rows: { pruned_through: string; pruned_chain_hash: Buffer | null; pruned_frontier: Buffer[] }[] = await this.dataSource.query(
      this.statements.pruneAnchor,
    );
    if (!rows[0]) throw new Error('audit_chain_head row is missing');
    return { through: Number(rows[0].pruned_through), chainHash: rows[0].pruned_chain_hash, frontier: rows[0].pruned_frontier };
  }

  /** Monthly partitions, oldest first, with the sequence numbers each holds. */
  async partitionRanges(): Promise<PartitionRange[]> {
    const out: PartitionRange[] = [];
    for (const name of await this.partitions()) {
      const month = partitionMonth(name);
      if (!month) continue;
      const [r]: { lo: string | null; hi: string | null }[] = await this.dataSource.query(this.statements.sequenceRange(name));
      out.push({ name, month, minSequence: r.lo === null ? null : Number(r.lo), maxSequence: r.hi === null ? null : Number(r.hi) });
    }
    return out.sort((a, b) => a.month.localeCompare(b.month));
  }

  /**
   * Detaches and drops the partitions and moves the prune anchor, in one transaction: either the
   * entries are gone and the anchor says where the chain resumes, or nothing changed. The fence
   * (the leader lease) is checked last: only the leader's drop commits.
   */
  async dropPartitions(names: string[], anchor: PruneAnchor, fence: LeaderFence): Promise<void> {
    for (const name of names) if (!partitionMonth(name)) throw new Error(`not an audit partition: ${name}`);
    const sql = this.statements;
    await this.dataSource.transaction(async (m) => {
      for (const name of names) {
        await m.query(sql.detach(name));
        await m.query(`DROP TABLE ${name}`);
      }
      await m.query(sql.movePruneAnchor, [anchor.through, anchor.chainHash, anchor.frontier]);
      await fence.checkFence(m);
    });
  }

  /**
   * Appends `rows` if the head is still `expected` (sequence and chain hash: a writer that computed
   * from a predicted head must not land on another chain of the same length); false when it moved.
   */
  async append(expected: Pick<ChainHead, 'sequence' | 'chainHash'>, next: Omit<ChainHead, 'logId'>, rows: AuditRow[]): Promise<boolean> {
    const values = appendValues(expected, next, rows);
    const url = this.url;
    const { append } = this.statements;
    const result = url
      ? (await (await this.appendClient(url)).query<{ n: number }>(statementQuery(this.dataSource, append, values))).rows
      : await runStatement<{ n: number }>(this.dataSource, append, values);
    return appendedAll(result[0].n, rows.length);
  }

  /**
   * Appends the rows `prepare` computes from the head read under the head row's lock, in one
   * transaction: no other writer can move the head in between, so this append cannot lose a race
   * (it waits for the writers ahead of it instead).
   */
  async appendLocked<P extends { next: Omit<ChainHead, 'logId'>; rows: AuditRow[] }>(
    prepare: (head: ChainHead) => P,
  ): Promise<{ base: ChainHead; prepared: P }> {
    return this.dataSource.transaction(async (m) => {
      const [row]: HeadRow[] = await m.query(this.statements.headForUpdate);
      if (!row) throw new Error('audit_chain_head row is missing');
      const base = headOf(row);
      const prepared = prepare(base);
      const [result] = await runStatement<{ n: number }>(m, this.statements.append, appendValues(base, prepared.next, prepared.rows));
      if (!appendedAll(result.n, prepared.rows.length)) throw new Error('audit append under the head lock found the head elsewhere');
      return { base, prepared };
    });
  }

  async partitions(): Promise<string[]> {
    const rows: { name: string }[] = await this.dataSource.query(this.statements.partitions);
    return rows.map((r) => r.name);
  }

  /**
   * Creates the month's partition (rows stored inline and uncompressed up to a page, decision 89)
   * with its TRUNCATE guard (row guards are cloned from the parent). Idempotent across nodes.
   */
  async ensurePartition(month: string): Promise<void> {
    const name = partitionName(month);
    const [from, to] = monthBounds(month);
    const sql = this.statements;
    await this.dataSource.transaction(async (m) => {
      await m.query("SELECT pg_advisory_xact_lock(hashtext('secrethub.audit_partitions'))");
      const exists: unknown[] = await m.query('SELECT 1 FROM pg_class WHERE relname = $1', [name]);
      if (exists.length > 0) return;
      await m.query(sql.createPartition(name, from, to));
      await m.query(`CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON ${name} FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()`);
      await m.query(`ALTER TABLE ${name} ENABLE ALWAYS TRIGGER audit_no_truncate`);
      await m.query(`ALTER TABLE ${name} ENABLE ALWAYS TRIGGER audit_no_change`);
    });
  }

  /**
   * Every guard that would not refuse a change, as `table.trigger (why)`; empty when the log is
   * protected. A guard counts only when it is enabled ALWAYS (it fires under replication role too),
   * fires on the events and at the level above, has no WHEN condition and no column list, and
   * calls `audit_append_only()` with the body the migration gave it.
   */
  async missingGuards(): Promise<string[]> {
    const tables = ['audit_logs', 'audit_checkpoints', ...(await this.partitions())];
    const rows: { rel: string; tgname: string; tgenabled: string; tgtype: number; conditional: boolean; columns: number; proname: string; prosrc: string }[] =
      await this.dataSource.query(
        `SELECT c.relname AS rel, t.tgname, t.tgenabled, t.tgtype::int AS tgtype, t.tgqual IS NOT NULL AS conditional,
              cardinality(t.tgattr::int2[]) AS columns, p.proname, p.prosrc
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE c.relname = ANY($1) AND NOT t.tgisinternal`,
        [tables],
      );
    const missing: string[] = [];
    for (const table of tables) {
      for (const [trigger, type] of Object.entries(GUARD_TRIGGERS)) {
        const row = rows.find((r) => r.rel === table && r.tgname === trigger);
        const why = !row
          ? 'missing'
          : row.tgenabled !== 'A'
            ? `enabled=${row.tgenabled}`
            : row.tgtype !== type || row.conditional || row.columns > 0
              ? 'fires on other events or conditions'
              : row.proname !== 'audit_append_only' || collapsed(row.prosrc) !== GUARD_FUNCTION_BODY
                ? 'calls another function body'
                : undefined;
        if (why) missing.push(`${table}.${trigger} (${why})`);
      }
    }
    return missing;
  }

  /** Stores a checkpoint; with a fence (the leader lease), in a transaction that commits only while this process leads. */
  async insertCheckpoint(c: CheckpointRow, fence?: LeaderFence): Promise<void> {
    const params = [c.treeSize, c.rootHash, c.chainHash, c.previousTreeSize, c.leaves, c.signedAt, c.signature];
    if (!fence) {
      await this.dataSource.query(this.statements.insertCheckpoint, params);
      return;
    }
    await this.dataSource.transaction(async (m) => {
      await m.query(this.statements.insertCheckpoint, params);
      await fence.checkFence(m);
    });
  }

  async lastCheckpoint(): Promise<CheckpointRow | undefined> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(this.statements.lastCheckpoint);
    return rows.map(toCheckpoint)[0];
  }

  /** Up to `limit` checkpoints with a tree size above `afterTreeSize`, in ascending tree size (a page of an export). */
  async checkpoints(afterTreeSize: number, limit: number): Promise<CheckpointRow[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(this.statements.checkpoints, [afterTreeSize, limit]);
    return rows.map(toCheckpoint);
  }

  /** Leaf inputs of entries after `afterSequence` up to `throughSequence`, in order. */
  async entries(afterSequence: number, limit: number, throughSequence = Number.MAX_SAFE_INTEGER): Promise<ExportedRow[]> {
    const rows: { sequence_number: string; timestamp: Date; entry_bytes: Buffer; previous_hash: Buffer; current_hash: Buffer }[] = await this.dataSource.query(
      this.statements.entries,
      [afterSequence, limit, throughSequence],
    );
    return rows.map((r) => ({
      sequence: Number(r.sequence_number),
      timestamp: r.timestamp,
      entryBytes: r.entry_bytes,
      previousHash: r.previous_hash,
      currentHash: r.current_hash,
    }));
  }
}

interface HeadRow {
  log_id: Buffer;
  sequence_number: string;
  chain_hash: Buffer;
  frontier: Buffer[];
}

function headOf(row: HeadRow): ChainHead {
  return { logId: row.log_id, sequence: Number(row.sequence_number), chainHash: row.chain_hash, frontier: row.frontier };
}

/** The append statement's parameters (see auditSql). */
function appendValues(expected: Pick<ChainHead, 'sequence' | 'chainHash'>, next: Omit<ChainHead, 'logId'>, rows: AuditRow[]): unknown[] {
  const col = <K extends keyof AuditRow>(k: K) => rows.map((r) => r[k]);
  const column = <K extends keyof AuditColumns>(k: K) => rows.map((r) => r.columns[k]);
  const entries = packed(rows.map((r) => r.entryBytes));
  const data = packed(rows.map((r) => Buffer.from(r.eventData, 'utf8')));
  const hashes = Buffer.concat(rows.flatMap((r) => [r.previousHash, r.currentHash]));
  return [
    expected.sequence,
    next.sequence,
    next.chainHash,
    next.frontier,
    expected.chainHash,
    col('sequence'),
    col('timestamp'),
    column('eventId'),
    column('eventType'),
    column('actorType'),
    column('actorId'),
    column('actorName'),
    column('secretPath'),
    column('secretMount'),
    column('operation'),
    column('accessGranted'),
    column('policyMatched'),
    column('denialReason'),
    column('sourceIp'),
    column('correlationId'),
    col('signature'),
    entries.at,
    entries.len,
    entries.bytes,
    data.bytes,
    hashes,
    data.at,
    data.len,
  ];
}

/** true: the batch was written; false: the head was elsewhere and nothing was. */
function appendedAll(written: number, batch: number): boolean {
  if (written !== 0 && written !== batch) throw new Error(`audit append wrote ${written} of ${batch} rows`);
  return written === batch;
}
