/**
 * Audit retention (`audit { retention }`): whole monthly partitions whose month ended more than the
 * retention period ago are dropped, after a signed prune record is committed on the chain.
 *
 * Invariants:
 * - only a prefix of the chain is pruned: the dropped partitions hold sequences 1..S (with what
 *   earlier runs pruned) and every kept partition holds only sequences above S; a month whose
 *   entries interleave with a later month's waits until that month expires too;
 * - before anything is dropped, the entries S0+1..S are re-hashed from the previous anchor and must
 *   reproduce the stored chain; a log that does not verify is never pruned;
 * - the prune record (prune-record.ts) commits before the drop; a crash between the two leaves
 *   the entries in place and the next run prunes again with a new record;
 * - only the leader prunes (the leader lease); the drop and the anchor move are one transaction, fenced
 *   by the lease (a process that lost it meanwhile drops nothing).
 */
import { randomUUID } from 'node:crypto';
import { chainHash, frontierAppend, frontierRoot, genesisHash, leafHash } from '../crypto/audit-chain';
import { canonicalJson } from '../crypto/canonical-json';
import type { LeaderFence } from '../framework/backend';
import type { AuditLogRepository, PartitionRange, PruneAnchor } from './audit-log.repository';
import type { AuditChainWriter } from './chain-writer';
import { bareColumns } from './audit-entry';
import { entryPages } from './entry-pages';
import { PRUNE_EVENT_TYPE, pruneEntry } from './prune-record';

export interface PruneOutcome {
  /** Entries 1..prunedThrough are gone. */
  prunedThrough: number;
  partitions: string[];
}

/** The first instant after `month` (UTC). */
function monthEnd(month: string): number {
  const [y, m] = month.split('-').map(Number);
  return Date.UTC(y, m, 1);
}

/**
 * How many of the oldest partitions may go: each expired by `cutoff`, and together holding only
 * sequences below every sequence of the partitions kept.
 */
export function droppablePrefix(ranges: readonly PartitionRange[], cutoff: number): number {
  let best = 0;
  let droppedMax = -Infinity;
  for (let k = 1; k <= ranges.length; k++) {
    const r = ranges[k - 1];
    if (monthEnd(r.month) > cutoff) break;
    if (r.maxSequence !== null) droppedMax = Math.max(droppedMax, r.maxSequence);
    const keptMin = Math.min(...ranges.slice(k).map((x) => x.minSequence ?? Infinity));
    if (droppedMax < keptMin) best = k;
  }
  return best;
}

export class AuditRetention {
  constructor(
    private readonly repository: AuditLogRepository,
    private readonly chain: AuditChainWriter,
    private readonly retentionSeconds: number,
    private readonly fence: LeaderFence,
  ) {}

  /** Prunes what retention allows at `now`; null when retention is off, nothing is due or another process is the leader. */
  async prune(now = new Date()): Promise<PruneOutcome | null> {
    if (this.retentionSeconds <= 0 || !this.fence.isLeader) return null;
    const cutoff = now.getTime() - this.retentionSeconds * 1000;
    return this.pruneLocked(cutoff);
  }

  private async pruneLocked(cutoff: number): Promise<PruneOutcome | null> {
    const ranges = await this.repository.partitionRanges();
    const drop = ranges.slice(0, droppablePrefix(ranges, cutoff));
    if (drop.length === 0) return null;
    const names = drop.map((r) => r.name);
    const previous = await this.repository.pruneAnchor();
    const through = Math.max(previous.through, ...drop.map((r) => r.maxSequence ?? 0));
    if (through === previous.through) {
      await this.repository.dropPartitions(names, previous, this.fence); // empty partitions: no entry leaves the chain
      return { prunedThrough: through, partitions: names };
    }
    const anchor = await this.rehash(previous, through);
    const logId = await this.chain.logId();
    const time = new Date();
    const checkpoint = this.chain.sign({
      logId: logId.toString('hex'),
      treeSize: through,
      root: frontierRoot(anchor.frontier).toString('base64'),
      chainHash: (anchor.chainHash as Buffer).toString('hex'),
      time: time.toISOString(),
    });
    const entry = pruneEntry({ checkpoint, frontier: anchor.frontier, partitions: names }, time);
    const bytes = canonicalJson(entry);
    await this.chain.append({
      bytes,
      eventData: bytes.toString('utf8'),
      time,
      signature: Buffer.from(checkpoint.signature, 'base64'),
      columns: bareColumns(PRUNE_EVENT_TYPE, randomUUID()),
    });
    await this.repository.dropPartitions(names, anchor, this.fence);
    return { prunedThrough: through, partitions: names };
  }

  /** Recomputes the chain from `previous` through `through`; throws where the stored log disagrees. */
  private async rehash(previous: PruneAnchor, through: number): Promise<PruneAnchor> {
    let chain = previous.chainHash ?? genesisHash(await this.chain.logId());
    let frontier = previous.frontier;
    let seq = previous.through;
    for await (const rows of entryPages(this.repository, seq, through)) {
      for (const row of rows) {
        if (row.sequence !== seq + 1) throw new Error(`audit retention: entry ${seq + 1} is missing; refusing to prune an unverifiable log`);
        const leaf = leafHash(row.entryBytes);
        const current = chainHash(row.sequence, chain, leaf);
        if (!row.previousHash.equals(chain) || !row.currentHash.equals(current)) {
          throw new Error(`audit retention: entry ${row.sequence} does not match the chain; refusing to prune an unverifiable log`);
        }
        frontier = frontierAppend(frontier, seq, leaf);
        chain = current;
        seq = row.sequence;
      }
    }
    if (seq !== through) throw new Error(`audit retention: entries end at ${seq}, not ${through}; refusing to prune`);
    return { through, chainHash: chain, frontier };
  }
}
