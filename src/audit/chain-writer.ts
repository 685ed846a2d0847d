/**
 * The database device's writer: group commit onto the hash chain, and signed checkpoints.
 *
 * Invariants:
 * - an entry's promise resolves only after the transaction holding it committed; a failed batch
 *   rejects every entry in it (the broker then fails those requests closed);
 * - one entry's failure fails no other: a batch refused for its data (SQLSTATE classes 22, 23, 54)
 *   is split in two at a boundary between appends (`appendAll` calls) and each half sent again,
 *   until the append that holds the refused entry fails alone;
 * - batches are sent in order on one pipelined connection, each computed from the head the one
 *   before it leads to, and settled in that order; batches from several processes serialise on the
 *   head row (see audit-log.repository.ts), so sequences are contiguous and each entry links to its
 *   predecessor; a batch that finds the head elsewhere (another process appended first) writes
 *   nothing and is sent again under the head row's lock, computed from the head read there, so it
 *   cannot lose again: no entry fails because other processes write; for a second after that,
 *   new batches go under the lock too (an optimistic one would likely lose as well);
 * - a checkpoint signs the head this process just committed (tree size, Merkle root, chain hash),
 *   once the head is `checkpointEntries` past the last checkpoint (or the one being written), every
 *   `checkpointIntervalSeconds` if the head moved, or when asked; it is stored in
 *   `audit_checkpoints` and appended to the checkpoint file for shipping off the machine;
 * - with several processes (`leader` given), the timed checkpoints are the leader's: it signs the
 *   stored head (which other processes' appends move too) and stores the checkpoint in a
 *   transaction fenced by the leader lease; by-count and asked-for checkpoints are written, as
 *   before, by the process whose head crossed the count or that was asked.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { chainHash, frontierAppend, frontierRoot, leafHash, publicKeyPem, signCheckpoint, type Checkpoint } from '../crypto/audit-chain';
import { entryPages } from './entry-pages';
import { partitionName, type AuditRow, type AuditLogRepository, type ChainHead, type CheckpointRow } from './audit-log.repository';
import type { AuditColumns } from './audit-entry';
import { monthOf } from './address-keys';
import { checkpointLine } from './export-format';
import type { LeaderFence } from '../framework/backend';

/** Entries per transaction at most (one INSERT of this many rows stays well under a millisecond per row). */
const MAX_BATCH = 2000;
/** After losing the head to another process, batches go under the head lock this long (an optimistic one would likely lose too). */
const CONTENDED_MS = 1000;

export interface ChainEntry {
  bytes: Buffer;
  /** The entry's RFC 6962 leaf hash, when rendering computed it already. */
  leaf?: Buffer;
  time: Date;
  columns: AuditColumns;
  /** JSON text for the `event_data` projection (audit-entry.ts entryProjection). */
  eventData: string;
  /** Only prune records are signed (see prune-record.ts). */
  signature?: Buffer;
}

interface Pending {
  entry: ChainEntry;
  /** The `appendAll` call it came in: its entries succeed or fail together. */
  append: object;
  resolve(): void;
  reject(err: Error): void;
}

/** A batch on its way: computed from `base`, settled in the order sent. */
interface SentBatch {
  entries: Pending[];
  base: ChainHead;
  prepared: PreparedRows;
  /** true: committed; false: the head was elsewhere (nothing written); an Error: failed. */
  outcome?: boolean | Error;
}

export interface ChainWriterOptions {
  checkpointEntries: number;
  checkpointIntervalSeconds: number;
  checkpointFile: string;
  log: { info(m: string): void; error(m: string): void };
  /** The leader lease: automatic checkpoints are the leader's (undefined: this writer is alone). */
  leader?: LeaderFence;
}

export class AuditChainWriter {
  private queue: Pending[] = [];
  /** Batches to be sent again (before the queue) from the stored head; `underLock` when one lost the head to another process. */
  private retry: { entries: Pending[]; leaves: Buffer[]; underLock: boolean }[] = [];
  private sent: SentBatch[] = [];
  /** The committed head (what checkpoints sign), and the head the batches sent so far lead to. */
  private head: ChainHead | undefined;
  private predicted: ChainHead | undefined;
  /** A batch failed: nothing more is sent until every batch sent behind it has settled. */
  private recovering = false;
  /** Until this time (ms), new batches too are appended under the head lock: another process appends as well. */
  private contendedUntil = 0;
  /** During recovery: a batch failed, so those sent behind it found the head elsewhere without losing a race. */
  private failedAhead = false;
  private pumping = false;
  private pumpAgain = false;
  private kickScheduled = false;
  private checkpointing: Promise<void> | undefined;
  private readonly partitions = new Set<string>();
  /** Leaf hashes this process appended since the last checkpoint, while it was the only writer. */
  private leaves: { from: number; hashes: Buffer[] } | undefined;
  private lastCheckpointSize = 0;
  /** The tree size of the checkpoint being written (0 when none): entries count towards the next checkpoint from there. */
  private signingTreeSize = 0;
  private checkpointRequested = false;
  /** The pending request is the interval's (the leader's, fenced). */
  private timedRequested = false;
  private timer: NodeJS.Timeout | undefined;
  private signingKey: KeyObject | undefined;

  constructor(
    private readonly repository: AuditLogRepository,
    private readonly options: ChainWriterOptions,
  ) {}

  /** After unseal: the signing key and where the chain and its checkpoints stand. */
  async start(signingKey: KeyObject): Promise<void> {
    this.signingKey = signingKey;
    this.head = await this.repository.head();
    this.predicted = undefined;
    const last = await this.repository.lastCheckpoint();
    this.lastCheckpointSize = last?.treeSize ?? 0;
    this.leaves = undefined;
    for (const p of await this.repository.partitions()) this.partitions.add(p);
    this.timer = setInterval(() => this.requestTimedCheckpoint(), Math.max(1, this.options.checkpointIntervalSeconds) * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.idle();
    await this.repository.closeAppendConnection();
    this.signingKey = undefined;
    this.head = undefined;
    this.predicted = undefined;
  }

  publicKey(): string {
    if (!this.signingKey) throw new Error('audit chain is not started');
    return publicKeyPem(this.signingKey);
  }

  async logId(): Promise<Buffer> {
    return (this.head ?? (await this.repository.head())).logId;
  }

  /** Signs a checkpoint note with the chain's key (prune records are checkpoints at the pruned size). */
  sign(c: Omit<Checkpoint, 'signature'>): Checkpoint {
    if (!this.signingKey) throw new Error('audit chain is not started');
    return signCheckpoint(c, this.signingKey);
  }

  /** Resolves once the entry is committed on the chain. */
  append(entry: ChainEntry): Promise<void> {
    return this.appendAll([entry]);
  }

  /** Queues the entries together, in order (adjacent on the chain, in one batch unless it is full); resolves when all committed. */
  appendAll(entries: readonly ChainEntry[]): Promise<void> {
    const append = {};
    const committed = entries.map((entry) => new Promise<void>((resolve, reject) => this.queue.push({ entry, append, resolve, reject })));
    this.kick();
    return Promise.all(committed).then(() => undefined);
  }

  /** Asks for a checkpoint of the current head (when it has grown since the last one). */
  requestCheckpoint(): void {
    this.checkpointRequested = true;
    this.kick();
  }

  /** The interval's checkpoint: this process's when it is alone or the leader. */
  private requestTimedCheckpoint(): void {
    if (this.options.leader && !this.options.leader.isLeader) return;
    this.timedRequested = true;
    this.requestCheckpoint();
  }

  /** Writes a checkpoint now, after whatever is queued; gives its tree size. */
  async checkpointNow(): Promise<number> {
    await this.idle();
    await this.checkpoint();
    return this.lastCheckpointSize;
  }

  /** Until nothing is queued, on its way or being checkpointed. */
  private async idle(): Promise<void> {
    while (this.pumping || this.kickScheduled || this.queue.length > 0 || this.retry.length > 0 || this.sent.length > 0 || this.checkpointing)
      await new Promise((r) => setTimeout(r, 2));
  }

  /**
   * Sends after the current turn of the event loop, so that the entries queued in one turn (the
   * renderer renders a turn's requests together) go in one batch rather than the first alone.
   */
  private kick(): void {
    if (this.kickScheduled) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      void this.pump();
    });
  }

  /**
   * Sends batches while fewer than the connection's pipeline depth are on their way (decision 83):
   * each is computed from the head the batches before it lead to, so PostgreSQL, which runs them in
   * the order sent, finds the head where the batch expects it. When one does not commit, those
   * behind it find the head elsewhere too; nothing more is sent until all have settled, and then
   * they are sent again from the stored head.
   */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (!this.recovering && this.sent.length < this.repository.appendDepth && (this.retry.length > 0 || this.queue.length > 0)) {
          const contended = this.retry.length === 0 && Date.now() < this.contendedUntil;
          if (this.retry[0]?.underLock || contended) {
            // Alone: the batches on their way were computed from a head this append may move.
            if (this.sent.length > 0) break;
            await this.appendUnderLock(
              contended ? { entries: this.queue.splice(0, MAX_BATCH) } : (this.retry.shift() as { entries: Pending[]; leaves: Buffer[] }),
            );
            continue;
          }
          const again = this.retry.shift();
          const entries = again?.entries ?? this.queue.splice(0, MAX_BATCH);
          try {
            await this.ensurePartitions(entries);
            const base = this.predicted ?? this.head ?? (await this.repository.head());
            this.send(entries, base, prepareRows(entries, base, again?.leaves));
          } catch (err) {
            this.fail(entries, err as Error);
          }
        }
        if (this.checkpointRequested && this.sent.length === 0) await this.checkpoint();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private send(entries: Pending[], base: ChainHead, prepared: PreparedRows): void {
    const batch: SentBatch = { entries, base, prepared };
    this.sent.push(batch);
    this.predicted = { logId: base.logId, ...prepared.next };
    this.repository.append(base, prepared.next, prepared.rows).then(
      (ok) => this.settled(batch, ok),
      (err: Error) => this.settled(batch, err),
    );
  }

  /** Settles batches in the order sent (pipelined answers come in order; this keeps it so regardless). */
  private settled(batch: SentBatch, outcome: boolean | Error): void {
    batch.outcome = outcome;
    while (this.sent.length > 0 && this.sent[0].outcome !== undefined) {
      const b = this.sent.shift() as SentBatch;
      if (b.outcome === true) this.committed(b);
      else if (b.outcome === false) {
        // Another process appended first (sent again under the head lock), or a batch ahead of this one failed: send it again from the stored head.
        this.recovering = true;
        this.retry.push({ entries: b.entries, leaves: b.prepared.leaves, underLock: !this.failedAhead });
        if (!this.failedAhead) this.contendedUntil = Date.now() + CONTENDED_MS;
      } else {
        this.recovering = true;
        this.failedAhead = true;
        this.splitOrFail(b.entries, b.prepared.leaves, b.outcome as Error);
      }
    }
    if (this.recovering && this.sent.length === 0) {
      this.recovering = false;
      this.failedAhead = false;
      this.head = undefined;
      this.predicted = undefined;
      this.leaves = undefined;
    }
    if (this.head && this.head.sequence - Math.max(this.lastCheckpointSize, this.signingTreeSize) >= this.options.checkpointEntries)
      this.checkpointRequested = true;
    if (this.checkpointRequested && this.head && !this.checkpointing) void this.checkpoint();
    this.kick();
  }

  private committed(b: Pick<SentBatch, 'entries' | 'base' | 'prepared'>): void {
    if (this.leaves && this.leaves.from + this.leaves.hashes.length === b.base.sequence + 1) this.leaves.hashes.push(...b.prepared.leaves);
    else this.leaves = undefined;
    this.head = { logId: b.base.logId, ...b.prepared.next };
    for (const p of b.entries) p.resolve();
  }

  /**
   * A batch that lost the head to another process (or any batch while others append): appended
   * from the head read under its lock. A failure is handled as a pipelined batch's (split when
   * refused for its data, else failed).
   */
  private async appendUnderLock(batch: { entries: Pending[]; leaves?: Buffer[] }): Promise<void> {
    let leaves = batch.leaves;
    try {
      await this.ensurePartitions(batch.entries);
      const { base, prepared } = await this.repository.appendLocked((head) => prepareRows(batch.entries, head, leaves));
      leaves = prepared.leaves;
      this.committed({ entries: batch.entries, base, prepared });
      if (this.head && this.head.sequence - Math.max(this.lastCheckpointSize, this.signingTreeSize) >= this.options.checkpointEntries)
        this.checkpointRequested = true;
    } catch (err) {
      this.head = undefined;
      this.leaves = undefined;
      leaves ??= batch.entries.map(({ entry }) => entry.leaf ?? leafHash(entry.bytes));
      this.splitOrFail(batch.entries, leaves, err as Error);
    }
  }

  /** A batch refused for its data is split between appends and both halves sent again; any other failure fails its entries. */
  private splitOrFail(entries: Pending[], leaves: Buffer[], err: Error): void {
    const at = refusedForItsData(err) ? appendBoundaryNearMiddle(entries) : -1;
    if (at < 0) this.fail(entries, err);
    else {
      this.retry.push({ entries: entries.slice(0, at), leaves: leaves.slice(0, at), underLock: false });
      this.retry.push({ entries: entries.slice(at), leaves: leaves.slice(at), underLock: false });
    }
  }

  private fail(entries: Pending[], err: Error): void {
    for (const p of entries) p.reject(err);
  }

  private async ensurePartitions(batch: Pending[]): Promise<void> {
    for (const month of new Set(batch.map((p) => monthOf(p.entry.time)))) {
      const name = partitionName(month);
      if (this.partitions.has(name)) continue;
      await this.repository.ensurePartition(month);
      this.partitions.add(name);
    }
  }

  /** One checkpoint at a time, of the committed head; failures are logged (the next one covers the range). */
  private checkpoint(): Promise<void> {
    if (!this.checkpointing) {
      this.checkpointRequested = false;
      const fence = this.timedRequested ? this.options.leader : undefined;
      this.timedRequested = false;
      this.checkpointing = this.writeCheckpoint(fence)
        .catch((err: Error) => this.options.log.error(`audit checkpoint failed: ${err.message}`))
        .finally(() => {
          this.checkpointing = undefined;
          this.signingTreeSize = 0;
        });
    }
    return this.checkpointing;
  }

  /** With a fence (the leader's timed checkpoint): of the stored head when other processes moved it further. */
  private async writeCheckpoint(fence: LeaderFence | undefined): Promise<void> {
    let head = this.head;
    if (fence) {
      const stored = await this.repository.head();
      if (!head || stored.sequence > head.sequence) head = stored;
    }
    if (!head || !this.signingKey || head.sequence <= this.lastCheckpointSize) return;
    this.signingTreeSize = head.sequence;
    let previousTreeSize = this.lastCheckpointSize;
    let hashes: Buffer[];
    const leaves = this.leaves;
    if (leaves && leaves.from === previousTreeSize + 1 && leaves.hashes.length >= head.sequence - previousTreeSize) {
      // Batches committed behind the head taken here start the next checkpoint's leaves.
      const count = head.sequence - previousTreeSize;
      hashes = leaves.hashes.slice(0, count);
      this.leaves = { from: head.sequence + 1, hashes: leaves.hashes.slice(count) };
    } else {
      // From here on this process collects the leaves again (batches committed while the range is read count for the next checkpoint).
      this.leaves = { from: head.sequence + 1, hashes: [] };
      // Leaves the log no longer holds (pruned) are not carried: the range starts after them.
      previousTreeSize = Math.max(previousTreeSize, (await this.repository.pruneAnchor()).through);
      hashes = [];
      for await (const rows of entryPages(this.repository, previousTreeSize, head.sequence)) for (const r of rows) hashes.push(leafHash(r.entryBytes));
    }
    const signed: Checkpoint = signCheckpoint(
      {
        logId: head.logId.toString('hex'),
        treeSize: head.sequence,
        root: frontierRoot(head.frontier).toString('base64'),
        chainHash: head.chainHash.toString('hex'),
        time: new Date().toISOString(),
      },
      this.signingKey,
    );
    const row: CheckpointRow = {
      treeSize: signed.treeSize,
      rootHash: Buffer.from(signed.root, 'base64'),
      chainHash: head.chainHash,
      previousTreeSize,
      leaves: Buffer.concat(hashes),
      signedAt: new Date(signed.time),
      signature: Buffer.from(signed.signature, 'base64'),
    };
    await this.repository.insertCheckpoint(row, fence);
    this.lastCheckpointSize = head.sequence;
    try {
      await mkdir(dirname(this.options.checkpointFile), { recursive: true });
      await appendFile(this.options.checkpointFile, JSON.stringify(checkpointLine(head.logId, row)) + '\n', { mode: 0o600 });
    } catch (err) {
      this.options.log.error(`audit checkpoint ${row.treeSize} not appended to ${this.options.checkpointFile}: ${(err as Error).message}`);
    }
  }
}

/** PostgreSQL refused a value in the batch (data exception, integrity violation, program limit): other batches of entries may well commit. */
function refusedForItsData(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}

/** The index nearest the middle where one append ends and the next begins; -1 when the entries are one append. */
function appendBoundaryNearMiddle(entries: readonly Pending[]): number {
  let best = -1;
  for (let i = 1; i < entries.length; i++) {
    if (entries[i].append !== entries[i - 1].append && (best < 0 || Math.abs(entries.length / 2 - i) < Math.abs(entries.length / 2 - best))) best = i;
  }
  return best;
}

interface PreparedRows {
  rows: AuditRow[];
  leaves: Buffer[];
  next: Omit<ChainHead, 'logId'>;
}

/** The batch's rows chained onto `head`, and the head after them. */
function prepareRows(batch: readonly Pending[], head: ChainHead, leaves = batch.map(({ entry }) => entry.leaf ?? leafHash(entry.bytes))): PreparedRows {
  let previous = head.chainHash;
  let frontier = head.frontier;
  const rows: AuditRow[] = batch.map((p, i) => {
    const sequence = head.sequence + i + 1;
    const current = chainHash(sequence, previous, leaves[i]);
    frontier = frontierAppend(frontier, sequence - 1, leaves[i]);
    const { entry } = p;
    const row: AuditRow = {
      columns: entry.columns,
      sequence,
      timestamp: entry.time,
      previousHash: previous,
      currentHash: current,
      signature: entry.signature ?? null,
      entryBytes: entry.bytes,
      eventData: entry.eventData,
    };
    previous = current;
    return row;
  });
  return { rows, leaves, next: { sequence: head.sequence + batch.length, chainHash: previous, frontier } };
}
