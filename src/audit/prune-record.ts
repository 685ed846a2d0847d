/**
 * The signed prune record: the chain entry retention appends before it drops old partitions.
 *
 * It is a checkpoint at tree size `pruned_through` (the same Ed25519 note as any checkpoint, so it
 * proves the Merkle root and chain hash after that entry) plus the Merkle frontier there, which must
 * fold to the signed root. An export that starts at `pruned_through + 1` verifies from it; without
 * a record signed by the pinned key, missing leading entries are reported as missing.
 *
 * Entry bytes (canonical JSON): {"prune":{...},"time":"...","type":"prune"}.
 */
import { frontierRoot, HASH_BYTES, type Checkpoint } from '../crypto/audit-chain';

export const PRUNE_EVENT_TYPE = 'prune';

export interface PruneRecord {
  /** Signed over checkpointNote({logId, treeSize: prunedThrough, root, chainHash, time}). */
  checkpoint: Checkpoint;
  /** The Merkle frontier after entry `checkpoint.treeSize` (base64 hashes, largest subtree first). */
  frontier: Buffer[];
  /** The partitions dropped with it, for the operator. */
  partitions: string[];
}

export function pruneEntry(record: PruneRecord, time: Date): Record<string, unknown> {
  const c = record.checkpoint;
  return {
    type: PRUNE_EVENT_TYPE,
    time: time.toISOString(),
    prune: {
      log_id: c.logId,
      pruned_through: c.treeSize,
      root: c.root,
      chain_hash: c.chainHash,
      signed_at: c.time,
      signature: c.signature,
      frontier: record.frontier.map((h) => h.toString('base64')),
      partitions: record.partitions,
    },
  };
}

const MARKER = Buffer.from(`"type":"${PRUNE_EVENT_TYPE}"`);

/**
 * The prune record in an entry's bytes, or null when the entry is not one. Structure only: the
 * caller checks the signature (and that the frontier folds to the signed root).
 * Throws on an entry that claims to be a prune record but is malformed.
 */
export function parsePruneEntry(bytes: Buffer): PruneRecord | null {
  if (!bytes.includes(MARKER)) return null;
  const obj = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  if (obj.type !== PRUNE_EVENT_TYPE) return null;
  const p = obj.prune as Record<string, unknown> | undefined;
  if (typeof p !== 'object' || p === null) throw new Error('prune record has no "prune" object');
  const str = (k: string): string => {
    if (typeof p[k] !== 'string') throw new Error(`prune record ${k} is missing or not a string`);
    return p[k];
  };
  const through = p.pruned_through;
  if (typeof through !== 'number' || !Number.isSafeInteger(through) || through < 1) throw new Error('prune record pruned_through is not a positive integer');
  if (!Array.isArray(p.frontier) || !p.frontier.every((h) => typeof h === 'string')) throw new Error('prune record frontier is not a list of hashes');
  const frontier = (p.frontier as string[]).map((h) => Buffer.from(h, 'base64'));
  if (frontier.some((h, i) => h.length !== HASH_BYTES || h.toString('base64') !== (p.frontier as string[])[i]))
    throw new Error('prune record frontier holds a value that is not a base64 32-byte hash');
  const partitions = Array.isArray(p.partitions) ? p.partitions.filter((x): x is string => typeof x === 'string') : [];
  return {
    checkpoint: {
      logId: str('log_id'),
      treeSize: through,
      root: str('root'),
      chainHash: str('chain_hash'),
      time: str('signed_at'),
      signature: str('signature'),
    },
    frontier,
    partitions,
  };
}

/** True when the frontier describes a tree of `size` leaves whose head is the signed root. */
export function frontierMatches(record: PruneRecord): boolean {
  let bits = 0;
  for (let n = record.checkpoint.treeSize; n > 0; n = Math.floor(n / 2)) bits += n % 2;
  return record.frontier.length === bits && frontierRoot(record.frontier).toString('base64') === record.checkpoint.root;
}
