/**
 * The database device's writer: group commit onto the hash chain, and signed checkpoints.
 *
 * Invariants:
 * - an entry's promise resolves only after the transaction holding it committed; a failed batch
 *   rejects every entry in it (the broker then fails those requests closed);
 * - one batch in flight per process; batches from several processes serialise on the head row (see
 *   audit-log.repository.ts), so sequences are contiguous and each entry links to its predecessor;
 * - a checkpoint signs the head this process just committed (tree size, Merkle root, chain hash),
 *   after at most `checkpointEntries` entries or `checkpointIntervalSeconds`, and is stored in
 *   `audit_checkpoints` and appended to the checkpoint file for shipping off the machine.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { chainHash, frontierAppend, frontierRoot, leafHash, publicKeyPem, signCheckpoint, type Checkpoint } from '../crypto/audit-chain';
import { partitionName, type AuditRow, type AuditLogRepository, type ChainHead, type CheckpointRow } from './audit-log.repository';
import type { AuditColumns } from './audit-entry';
import { monthOf } from './address-keys';
import { checkpointLine } from './export-format';

/** Entries per transaction at most (one INSERT of this many rows stays well under a millisecond per row). */
const MAX_BATCH = 2000;
const MAX_ATTEMPTS = 20;

export interface ChainEntry {
  bytes: Buffer;
  time: Date;
  columns: AuditColumns;
  /** JSON text for the `event_data` projection (audit-entry.ts entryProjection). */
  eventData: string;
  /** Only prune records are signed (see prune-record.ts). */
  signature?: Buffer;
}

interface Pending extends ChainEntry {
  resolve(): void;
  reject(err: Error): void;
}

export interface ChainWriterOptions {
  checkpointEntries: number;
  checkpointIntervalSeconds: number;
  checkpointFile: string;
  log: { info(m: string): void; error(m: string): void };
}

export class AuditChainWriter {
  private queue: Pending[] = [];
  private draining = false;
  private head: ChainHead | undefined;
  private readonly partitions = new Set<string>();
  /** Leaf hashes this process appended since the last checkpoint, while it was the only writer. */
  private leaves: { from: number; hashes: Buffer[] } | undefined;
  private lastCheckpointSize = 0;
  private checkpointRequested = false;
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
    const last = await this.repository.lastCheckpoint();
    this.lastCheckpointSize = last?.treeSize ?? 0;
    this.leaves = undefined;
    for (const p of await this.repository.partitions()) this.partitions.add(p);
    this.timer = setInterval(() => this.requestCheckpoint(), Math.max(1, this.options.checkpointIntervalSeconds) * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.draining) await new Promise((r) => setTimeout(r, 5));
    this.signingKey = undefined;
    this.head = undefined;
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
    const committed = entries.map((entry) => new Promise<void>((resolve, reject) => this.queue.push({ ...entry, resolve, reject })));
    this.kick();
    return Promise.all(committed).then(() => undefined);
  }

  /** Asks for a checkpoint of the current head (when it has grown since the last one). */
  requestCheckpoint(): void {
    this.checkpointRequested = true;
    this.kick();
  }

  /** Writes a checkpoint now, after whatever is queued; gives its tree size. */
  async checkpointNow(): Promise<number> {
    this.checkpointRequested = true;
    this.kick();
    while (this.draining || this.checkpointRequested) await new Promise((r) => setTimeout(r, 2));
    return this.lastCheckpointSize;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    void this.drain();
  }

  /**
   * One batch in flight. (Sending the next batch while one is in flight, computed from its predicted
   * head, was tried and measured: on separate connections PostgreSQL often ran the second first,
   * which then found the head not where it expected and had to be sent again; see docs/performance.md.)
   */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 || this.checkpointRequested) {
        const batch = this.queue.splice(0, MAX_BATCH);
        if (batch.length > 0) {
          await this.ensurePartitions(batch);
          const base = this.head ?? (await this.repository.head());
          await this.commit(batch, base, prepareRows(batch, base));
        }
        if (this.head && (this.checkpointRequested || this.head.sequence - this.lastCheckpointSize >= this.options.checkpointEntries)) {
          this.checkpointRequested = false;
          await this.checkpoint().catch((err: Error) => this.options.log.error(`audit checkpoint failed: ${err.message}`));
        } else if (!this.head) this.checkpointRequested = false;
      }
    } finally {
      this.draining = false;
    }
  }

  private async ensurePartitions(batch: Pending[]): Promise<void> {
    for (const month of new Set(batch.map((p) => monthOf(p.time)))) {
      const name = partitionName(month);
      if (this.partitions.has(name)) continue;
      await this.repository.ensurePartition(month);
      this.partitions.add(name);
    }
  }

  /**
   * Appends the batch from `base` (retrying from the stored head when another node moved it) and
   * settles its entries' promises. Never rejects.
   */
  private async commit(batch: Pending[], base: ChainHead, prepared: PreparedRows): Promise<void> {
    try {
      let head = base;
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (await this.repository.append(head, prepared.next, prepared.rows)) {
          if (this.leaves && this.leaves.from + this.leaves.hashes.length === head.sequence + 1) this.leaves.hashes.push(...prepared.leaves);
          else this.leaves = undefined;
          this.head = { logId: head.logId, ...prepared.next };
          for (const p of batch) p.resolve();
          return;
        }
        // Another node appended first: start again from its head.
        this.leaves = undefined;
        head = await this.repository.head();
        prepared = prepareRows(batch, head, prepared.leaves);
      }
      throw new Error(`audit append lost the head race ${MAX_ATTEMPTS} times`);
    } catch (err) {
      this.head = undefined;
      this.leaves = undefined;
      for (const p of batch) p.reject(err as Error);
    }
  }

  private async checkpoint(): Promise<void> {
    const head = this.head;
    if (!head || !this.signingKey || head.sequence <= this.lastCheckpointSize) return;
    let previousTreeSize = this.lastCheckpointSize;
    let hashes: Buffer[];
    if (this.leaves && this.leaves.from === previousTreeSize + 1 && this.leaves.hashes.length === head.sequence - previousTreeSize) hashes = this.leaves.hashes;
    else {
      // Leaves the log no longer holds (pruned) are not carried: the range starts after them.
      previousTreeSize = Math.max(previousTreeSize, (await this.repository.pruneAnchor()).through);
      hashes = (await this.repository.entries(previousTreeSize, head.sequence - previousTreeSize, head.sequence)).map((r) => leafHash(r.entryBytes));
    }
    const signed: Checkpoint = signCheckpoint(
      { logId: head.logId.toString('hex'), treeSize: head.sequence, root: frontierRoot(head.frontier).toString('base64'), chainHash: head.chainHash.toString('hex'), time: new Date().toISOString() },
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
    await this.repository.insertCheckpoint(row);
    this.lastCheckpointSize = head.sequence;
    this.leaves = { from: head.sequence + 1, hashes: [] };
    try {
      await mkdir(dirname(this.options.checkpointFile), { recursive: true });
      await appendFile(this.options.checkpointFile, JSON.stringify(checkpointLine(head.logId, row)) + '\n', { mode: 0o600 });
    } catch (err) {
      this.options.log.error(`audit checkpoint ${row.treeSize} not appended to ${this.options.checkpointFile}: ${(err as Error).message}`);
    }
  }
}

interface PreparedRows {
  rows: AuditRow[];
  leaves: Buffer[];
  next: Omit<ChainHead, 'logId'>;
}

/** The batch's rows chained onto `head`, and the head after them. */
function prepareRows(batch: readonly Pending[], head: ChainHead, leaves = batch.map((p) => leafHash(p.bytes))): PreparedRows {
  let previous = head.chainHash;
  let frontier = head.frontier;
  const rows: AuditRow[] = batch.map((p, i) => {
    const sequence = head.sequence + i + 1;
    const current = chainHash(sequence, previous, leaves[i]);
    frontier = frontierAppend(frontier, sequence - 1, leaves[i]);
    const row: AuditRow = { ...p.columns, sequence, timestamp: p.time, previousHash: previous, currentHash: current, signature: p.signature ?? null, entryBytes: p.bytes, eventData: p.eventData };
    previous = current;
    return row;
  });
  return { rows, leaves, next: { sequence: head.sequence + batch.length, chainHash: previous, frontier } };
}
