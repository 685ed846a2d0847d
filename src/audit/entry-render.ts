/**
 * Turning a request's trace into what each audit device writes: pure and synchronous
 * (audit-renderer.ts batches the calls).
 *
 * Invariants:
 * - a job carries everything it needs, its devices' salts included: rendering keeps no state;
 * - the output is a function of the inputs but for the event ids and the sealed address and user
 *   agent (a fresh nonce per job; a response job given its request's blocks repeats the request's);
 * - a pair job's request entry comes first;
 * - a response entry's `auth` and `request` blocks are its request entry's, whether rebuilt or
 *   repeated from the request job's output (`RequestBlocks`).
 */
import { randomUUID } from 'node:crypto';
import { canonicalJsonText, canonicalObjectText } from '../crypto/canonical-json';
import { leafHash } from '../crypto/merkle';
import { jsonbText } from './jsonb-safe';
import { sealSource, type SealedSource } from './address-seal';
import {
  entryBlocks,
  entryColumns,
  entryProjection,
  requestEntry,
  responseEntry,
  type AuditEntry,
  type AuditOutcome,
  type AuditTrace,
  type EntryBlocks,
} from './audit-entry';
import type { ChainEntry } from './chain-writer';
import { memoisedHasher, saltedHasher, type Hasher } from './redaction';

/** `json-line`: Vault's audit format, a JSON line per entry (file device). `chain`: the hash chain's canonical bytes and columns (database device). */
export type EntryFormat = 'json-line' | 'chain';

export interface RenderTarget {
  format: EntryFormat;
  salt: Buffer;
  /** Vault's `elide_list_responses`: a list response's `keys` and `key_info` become their counts. */
  elideListResponses?: boolean;
}

export type RenderKind = 'request' | 'response' | 'pair';

export interface RenderJob {
  kind: RenderKind;
  trace: AuditTrace;
  /** For `response` and `pair`. */
  outcome?: AuditOutcome;
  /** The response entry's time (for `response` and `pair`). */
  responseTime?: Date;
  targets: RenderTarget[];
  /** For `response`: what the request job gave (`requestBlocks` of its targets); those blocks are repeated, not built again. */
  request?: readonly RequestBlocks[];
}

/**
 * A request entry's `auth` and `request` blocks under one target's salt, with the sealed source
 * they carry and their canonical texts: its response entry repeats them (for a 250-item batch the
 * request block alone is 250 HMACs).
 */
export interface RequestBlocks {
  salt: Buffer;
  sealed: SealedSource;
  blocks: EntryBlocks;
  texts: ReadonlyMap<unknown, string>;
}

/** For each target of a job, in order: its entries, in order (and for a `request` job, the blocks its response repeats). */
export type RenderedTarget = ({ format: 'json-line'; lines: string[] } | { format: 'chain'; entries: ChainEntry[] }) & { requestBlocks?: RequestBlocks };

/**
 * Vault's `elide_list_responses`: in a list operation's response entry, `keys` and `key_info` are
 * replaced by their counts (in clear, as Vault writes them; a count says no more than the number of
 * hashes it replaces). Applied to the redacted entry: redaction keeps lengths and key counts.
 */
function elideList(trace: AuditTrace, entry: AuditEntry): AuditEntry {
  const data = (entry.response as { data?: Record<string, unknown> } | undefined)?.data;
  if (trace.operation !== 'list' || !data) return entry;
  if (Array.isArray(data.keys)) data.keys = data.keys.length;
  if (data.key_info && typeof data.key_info === 'object' && !Array.isArray(data.key_info)) data.key_info = Object.keys(data.key_info).length;
  return entry;
}

/** The blocks of a job's entries under `target`'s salt: the request job's when given for that salt, else built. */
function blocksFor(job: RenderJob, target: RenderTarget, sealed: SealedSource, hash: Hasher): Omit<RequestBlocks, 'salt' | 'sealed'> {
  const repeated = job.request?.find((r) => r.salt.equals(target.salt));
  if (repeated) return repeated;
  const blocks = entryBlocks(job.trace, sealed, hash);
  // A pair's or request's entries hold the same block objects: their canonical texts, serialised once and found by identity.
  const texts =
    target.format === 'chain' && job.kind !== 'response'
      ? new Map([blocks.auth, blocks.request].filter((b) => b !== undefined).map((b) => [b, canonicalJsonText(b)]))
      : new Map();
  return { blocks, texts };
}

function entriesOf(job: RenderJob, { blocks }: Pick<RequestBlocks, 'blocks'>, target: RenderTarget, hash: Hasher): AuditEntry[] {
  const response = () => {
    if (!job.outcome || !job.responseTime) throw new Error(`a ${job.kind} render job needs the outcome and the response time`);
    const entry = responseEntry(job.trace, blocks, job.outcome, hash, job.responseTime);
    return target.elideListResponses ? elideList(job.trace, entry) : entry;
  };
  if (job.kind === 'request') return [requestEntry(job.trace, blocks)];
  if (job.kind === 'response') return [response()];
  return [requestEntry(job.trace, blocks), response()];
}

function chainEntry(trace: AuditTrace, sealed: SealedSource, entry: AuditEntry, known: ReadonlyMap<unknown, string>): ChainEntry {
  const bytes = Buffer.from(canonicalObjectText(entry, known), 'utf8');
  return {
    bytes,
    leaf: leafHash(bytes),
    time: new Date(entry.time as string),
    columns: entryColumns(trace, sealed, entry, randomUUID()),
    eventData: jsonbText(entryProjection(entry)),
  };
}

export function renderJob(job: RenderJob): RenderedTarget[] {
  // Sealed once per job (a pure read's two entries, and every device, carry the same ciphertexts); a response repeats its request's.
  const sealed = job.request?.[0]?.sealed ?? sealSource(job.trace.source);
  return job.targets.map((target): RenderedTarget => {
    const hash = memoisedHasher(saltedHasher(target.salt));
    const shared = blocksFor(job, target, sealed, hash);
    const entries = entriesOf(job, shared, target, hash);
    const requestBlocks = job.kind === 'request' ? { salt: target.salt, sealed, ...shared } : undefined;
    if (target.format === 'json-line') return { format: 'json-line', lines: entries.map((e) => JSON.stringify(e) + '\n'), requestBlocks };
    return { format: 'chain', entries: entries.map((e) => chainEntry(job.trace, sealed, e, shared.texts)), requestBlocks };
  });
}
