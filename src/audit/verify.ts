/**
 * Offline verifier for an audit export (secrethub-audit-export-v1, JSON lines), against a pinned
 * Ed25519 public key and optionally checkpoints the auditor kept elsewhere. Pure: the caller passes
 * the texts in, nothing here reads files or the database.
 *
 * Invariants established for an ok report:
 *   - entries carry sequences 1..n (or S+1..n after retention pruned 1..S: then the export holds a
 *     prune record for S signed by the pinned key, whose frontier folds to its signed root, and the
 *     walk starts from its chain hash and frontier), each exactly once and in order;
 *   - each previous_hash is the chain hash of the entry before (genesis for entry 1) and each
 *     current_hash is chainHash(seq, previous, leafHash(entry));
 *   - every prune record in the export is also a signed checkpoint (at its pruned size);
 *   - every checkpoint (export and trusted file) is signed by the pinned key for this log, no two
 *     disagree at a tree size, and each tree size T is covered by the export with the Merkle root
 *     and chain hash over entries 1..T equal to the signed ones (checkpoints below the prune point
 *     are checked for their signature only: their entries are gone) — except a checkpoint of the
 *     trusted file beyond the export's last entry (below).
 * A failed report names the lowest sequence at which one of these breaks.
 *
 * A trusted checkpoint beyond the export's last entry is what a live checkpoint file holds once the
 * server signs past an export; it is indistinguishable from an export cut short with its own later
 * checkpoint lines removed. It is reported in `beyondEnd`, not as a problem, unless
 * `requireCoverage`; its signed leaf hashes still check the export's entries up to the end. A
 * checkpoint of the export itself beyond its last entry is always a problem (`truncated`): an
 * export lists only checkpoints signed before its entries were read.
 */
import {
  chainHash,
  frontierAppend,
  frontierRoot,
  genesisHash,
  HASH_BYTES,
  leafHash,
  publicKeyFromPem,
  verifyCheckpoint,
  type Checkpoint,
} from '../crypto/audit-chain';
import { EXPORT_FORMAT } from './export-format';
import { frontierMatches, parsePruneEntry, type PruneRecord } from './prune-record';
import type { KeyObject } from 'node:crypto';

export interface VerifyInput {
  exportText: string;
  publicKeyPem: string;
  trustedCheckpointsText?: string;
  /** Fail (`not covered`) when a trusted checkpoint lies beyond the export's last entry. */
  requireCoverage?: boolean;
}

export interface VerifyProblem {
  sequence: number;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  /** Entry lines in the export (those read before a malformed line, if any). */
  entries: number;
  /** Sequence numbers of the first and last entry lines, in file order. */
  firstSequence: number | null;
  lastSequence: number | null;
  /** Distinct checkpoints whose signature verified and whose root and chain hash the export reproduces. */
  checkpointsVerified: number;
  /** Entries 1..prunedThrough were removed by retention (a signed prune record vouches for them); 0 if none. */
  prunedThrough: number;
  /** The largest tree size whose signed checkpoint the export reproduces (prunedThrough if none). */
  checkpointedThrough: number;
  /** Trusted checkpoints beyond the export's last entry, which this export cannot check; null if none. */
  beyondEnd: BeyondEnd | null;
  problem?: VerifyProblem;
}

/** Distinct tree sizes of verified-signature checkpoints beyond the export's last entry. */
export interface BeyondEnd {
  checkpoints: number;
  /** The lowest of them and its signed time: an export taken after that time was cut short. */
  firstTreeSize: number;
  firstTime: string;
  /** The highest: entries lastSequence+1..lastTreeSize are in the signed log but not in this export. */
  lastTreeSize: number;
}

/** A checkpoint line: the signed fields plus the leaf hashes of sequences previousTreeSize+1..treeSize. */
export type ExportedCheckpoint = Checkpoint & { previousTreeSize: number; leaves: Buffer };

/** Malformed input; `sequence` is the line's sequence (tree size for a checkpoint) if known, else 0. */
export class AuditFormatError extends Error {
  override readonly name = 'AuditFormatError';
  constructor(
    readonly sequence: number,
    message: string,
  ) {
    super(message);
  }
}

interface ExportEntry {
  sequence: number;
  bytes: Buffer;
  previous: Buffer;
  current: Buffer;
}

const HEX_HASH = /^[0-9a-fA-F]{64}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const safeInt = (v: unknown, min: number): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? v : null);

function intField(o: Record<string, unknown>, key: string, min: number, seq: number): number {
  const v = safeInt(o[key], min);
  if (v === null) throw new AuditFormatError(seq, `${key} is not an integer ≥ ${min}`);
  return v;
}

function stringField(o: Record<string, unknown>, key: string, seq: number): string {
  const v = o[key];
  if (typeof v !== 'string') throw new AuditFormatError(seq, `${key} is missing or not a string`);
  return v;
}

function hashField(o: Record<string, unknown>, key: string, seq: number): Buffer {
  const v = stringField(o, key, seq);
  if (!HEX_HASH.test(v)) throw new AuditFormatError(seq, `${key} is not a 32-byte hex hash`);
  return Buffer.from(v, 'hex');
}

/** Only canonical (padded, standard-alphabet) base64 is accepted, so one value has one spelling. */
function base64Field(o: Record<string, unknown>, key: string, seq: number): Buffer {
  const v = stringField(o, key, seq);
  const bytes = Buffer.from(v, 'base64');
  if (bytes.toString('base64') !== v) throw new AuditFormatError(seq, `${key} is not valid base64`);
  return bytes;
}

/**
 * Reads one checkpoint object (snake_case fields). A checkpoint kept without `leaves` and
 * `previous_tree_size` (e.g. in a trusted file) carries an empty range. Throws AuditFormatError.
 */
export function parseCheckpointLine(obj: unknown): ExportedCheckpoint {
  if (!isRecord(obj)) throw new AuditFormatError(0, 'checkpoint is not a JSON object');
  const seq = safeInt(obj.tree_size, 0) ?? 0;
  if (obj.kind !== undefined && obj.kind !== 'checkpoint') throw new AuditFormatError(seq, `kind is ${JSON.stringify(obj.kind)}, not "checkpoint"`);
  const logId = stringField(obj, 'log_id', seq);
  if (!HEX.test(logId)) throw new AuditFormatError(seq, 'log_id is not hex');
  const treeSize = intField(obj, 'tree_size', 0, seq);
  const root = stringField(obj, 'root', seq);
  if (base64Field(obj, 'root', seq).length !== HASH_BYTES) throw new AuditFormatError(seq, 'root is not a 32-byte base64 hash');
  const chain = stringField(obj, 'chain_hash', seq);
  hashField(obj, 'chain_hash', seq);
  const time = stringField(obj, 'time', seq);
  const signature = stringField(obj, 'signature', seq);
  const signed: Checkpoint = { logId, treeSize, root, chainHash: chain, time, signature };
  if (obj.leaves === undefined && obj.previous_tree_size === undefined) return { ...signed, previousTreeSize: treeSize, leaves: Buffer.alloc(0) };
  const previousTreeSize = intField(obj, 'previous_tree_size', 0, seq);
  if (previousTreeSize > treeSize) throw new AuditFormatError(seq, `previous_tree_size ${previousTreeSize} exceeds tree_size ${treeSize}`);
  const leaves = base64Field(obj, 'leaves', seq);
  if (leaves.length !== (treeSize - previousTreeSize) * HASH_BYTES) {
    throw new AuditFormatError(seq, `leaves holds ${leaves.length} bytes, not ${treeSize - previousTreeSize} leaf hashes`);
  }
  return { ...signed, previousTreeSize, leaves };
}

function parseEntry(o: Record<string, unknown>): ExportEntry {
  const seq = safeInt(o.sequence_number, 1) ?? 0;
  const sequence = intField(o, 'sequence_number', 1, seq);
  stringField(o, 'timestamp', seq);
  return { sequence, bytes: base64Field(o, 'entry', seq), previous: hashField(o, 'previous_hash', seq), current: hashField(o, 'current_hash', seq) };
}

/** Non-blank lines with their 1-based line numbers; each must be a JSON object. */
function* jsonLines(text: string, label: string): Generator<[number, Record<string, unknown>]> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new AuditFormatError(0, `${label} line ${i + 1} is not valid JSON`);
    }
    if (!isRecord(obj)) throw new AuditFormatError(0, `${label} line ${i + 1} is not a JSON object`);
    yield [i + 1, obj];
  }
}

function withLine<T>(label: string, lineNo: number, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof AuditFormatError) throw new AuditFormatError(e.sequence, `${label} line ${lineNo}: ${e.message}`);
    throw e;
  }
}

interface ParsedExport {
  logId: string;
  entries: ExportEntry[];
  checkpoints: ExportedCheckpoint[];
  /** Prune records found among the entries. */
  prunes: PruneRecord[];
}

/** An entry that is a prune record also counts as a checkpoint at its pruned size (with no leaf range). */
function collectPrune(entry: ExportEntry, into: ParsedExport): void {
  let record: PruneRecord | null;
  try {
    record = parsePruneEntry(entry.bytes);
  } catch (e) {
    throw new AuditFormatError(entry.sequence, `entry ${entry.sequence} is a malformed prune record: ${(e as Error).message}`);
  }
  if (!record) return;
  into.prunes.push(record);
  into.checkpoints.push({ ...record.checkpoint, previousTreeSize: record.checkpoint.treeSize, leaves: Buffer.alloc(0) });
}

/** Fills `into` as it goes, so a caller still knows what was read before a malformed line. */
function parseExport(text: string, into: ParsedExport): void {
  let header = false;
  for (const [lineNo, obj] of jsonLines(text, 'export')) {
    if (!header) {
      if (obj.kind !== 'header') throw new AuditFormatError(0, `missing header: export line ${lineNo} is not a header line`);
      if (obj.format !== EXPORT_FORMAT) throw new AuditFormatError(0, `unsupported export format ${JSON.stringify(obj.format)} (expected ${EXPORT_FORMAT})`);
      if (typeof obj.log_id !== 'string' || !HEX.test(obj.log_id)) throw new AuditFormatError(0, 'header log_id is not hex');
      into.logId = obj.log_id.toLowerCase();
      header = true;
    } else if (obj.kind === 'entry') {
      const entry = withLine('export', lineNo, () => parseEntry(obj));
      into.entries.push(entry);
      collectPrune(entry, into);
    } else if (obj.kind === 'checkpoint') {
      into.checkpoints.push(withLine('export', lineNo, () => parseCheckpointLine(obj)));
    } else {
      const seq = safeInt(obj.sequence_number, 1) ?? 0;
      throw new AuditFormatError(seq, `export line ${lineNo}: unexpected kind ${JSON.stringify(obj.kind)}`);
    }
  }
  if (!header) throw new AuditFormatError(0, 'missing header: the export is empty');
}

/** Where the walk starts: after entry `size` (0 for a whole log), at that chain hash and frontier. */
interface Start {
  size: number;
  chain: Buffer;
  frontier: Buffer[];
}

interface Walk {
  /** Entries start.size+1..good are contiguous, linked and hashed correctly. */
  good: number;
  problem?: VerifyProblem;
  /** Leaf hashes of entries start.size+1..good, 32 bytes each. */
  leaves: Buffer;
  /** Tree head and chain hash after `size` entries, for each requested size ≤ good. */
  states: Map<number, { root: Buffer; chain: Buffer }>;
}

function walkEntries(entries: readonly ExportEntry[], start: Start, sizes: ReadonlySet<number>): Walk {
  const leaves = Buffer.alloc(entries.length * HASH_BYTES);
  const states = new Map<number, { root: Buffer; chain: Buffer }>();
  let prev = start.chain;
  let frontier = start.frontier;
  if (sizes.has(start.size)) states.set(start.size, { root: frontierRoot(frontier), chain: prev });
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const expected = start.size + i + 1;
    const fail = (reason: string): Walk => ({ good: expected - 1, problem: { sequence: expected, reason }, leaves, states });
    if (e.sequence > expected) {
      if (!entries.slice(i + 1).some((later) => later.sequence === expected))
        return fail(`missing entry: sequence ${expected} is absent (the next entry is ${e.sequence})`);
      return fail(`out of order: found ${e.sequence} where ${expected} expected (${expected} appears later)`);
    }
    if (e.sequence < expected) return fail(`out of order: found ${e.sequence} where ${expected} expected (${e.sequence} was already seen)`);
    if (!e.previous.equals(prev)) {
      return fail(expected === 1 ? 'previous_hash of entry 1 is not the genesis hash of this log' : `previous_hash does not link to entry ${expected - 1}`);
    }
    const leaf = leafHash(e.bytes);
    const current = chainHash(expected, prev, leaf);
    if (!current.equals(e.current)) return fail('entry modified: hash mismatch (current_hash does not match the entry)');
    leaf.copy(leaves, i * HASH_BYTES);
    frontier = frontierAppend(frontier, expected - 1, leaf);
    prev = current;
    if (sizes.has(expected)) states.set(expected, { root: frontierRoot(frontier), chain: current });
  }
  return { good: start.size + entries.length, leaves, states };
}

/** Verified, mutually agreeing checkpoints of one tree size; `leafRanges` from every copy. */
interface SizeGroup {
  size: number;
  root: Buffer;
  chain: Buffer;
  members: number;
  leafRanges: { from: number; leaves: Buffer }[];
  /** Some copy came from the export itself. */
  inExport: boolean;
  /** The signed time of the first copy read. */
  time: string;
}

/**
 * The signed leaf hashes start.size+1..size, if leaf ranges chain from the start to `size` through
 * verified checkpoints, each prefix reproducing its checkpoint's root. Built lazily in ascending size.
 */
function signedLeafIndex(groups: readonly SizeGroup[], start: Start): (size: number) => Buffer | null {
  type Node = { frontier: Buffer[]; prev: Node | null; leaves: Buffer };
  const nodes = new Map<number, Node>([[start.size, { frontier: start.frontier, prev: null, leaves: Buffer.alloc(0) }]]);
  let next = 0;
  return (size) => {
    for (; next < groups.length && groups[next].size <= size; next++) {
      const g = groups[next];
      for (const range of g.leafRanges) {
        const base = nodes.get(range.from);
        if (!base || nodes.has(g.size) || range.from >= g.size) continue;
        let frontier = base.frontier;
        for (let n = range.from; n < g.size; n++) {
          const at = (n - range.from) * HASH_BYTES;
          frontier = frontierAppend(frontier, n, range.leaves.subarray(at, at + HASH_BYTES));
        }
        if (frontierRoot(frontier).equals(g.root)) nodes.set(g.size, { frontier, prev: base, leaves: range.leaves });
      }
    }
    const parts: Buffer[] = [];
    for (let node = nodes.get(size) ?? null; node; node = node.prev) parts.unshift(node.leaves);
    return nodes.has(size) ? Buffer.concat(parts) : null;
  };
}

/** The first sequence in base+1..upTo whose leaf differs between the two lists (both from base+1), or null. */
function firstDifference(signed: Buffer, exported: Buffer, base: number, upTo: number): number | null {
  const n = Math.min(upTo - base, signed.length / HASH_BYTES, exported.length / HASH_BYTES);
  for (let i = 0; i < n; i++) {
    const at = i * HASH_BYTES;
    if (!signed.subarray(at, at + HASH_BYTES).equals(exported.subarray(at, at + HASH_BYTES))) return base + i + 1;
  }
  return null;
}

/**
 * Where the export's walk starts: the genesis for an export from entry 1; after a prune, the state
 * a prune record for exactly the missing entries vouches for, if one is signed by the pinned key.
 */
function startOf(parsed: ParsedExport, key: KeyObject): Start | VerifyProblem {
  const first = parsed.entries[0]?.sequence ?? 1;
  if (first <= 1) return { size: 0, chain: genesisHash(Buffer.from(parsed.logId, 'hex')), frontier: [] };
  const size = first - 1;
  const anchor = parsed.prunes.find(
    (p) => p.checkpoint.treeSize === size && p.checkpoint.logId.toLowerCase() === parsed.logId && verifyCheckpoint(p.checkpoint, key) && frontierMatches(p),
  );
  if (!anchor) {
    return { sequence: 1, reason: `missing entries: the export starts at ${first} and holds no prune record for 1..${size} signed by the pinned key` };
  }
  return { size, chain: Buffer.from(anchor.checkpoint.chainHash, 'hex'), frontier: anchor.frontier };
}

export function verifyAuditExport(input: VerifyInput): VerifyReport {
  const parsed: ParsedExport = { logId: '', entries: [], checkpoints: [], prunes: [] };
  let prunedThrough = 0;
  const report: Report = (checkpointsVerified, problem, coverage = { checkpointedThrough: prunedThrough, beyondEnd: null }) => ({
    ok: problem === undefined,
    entries: parsed.entries.length,
    firstSequence: parsed.entries[0]?.sequence ?? null,
    lastSequence: parsed.entries[parsed.entries.length - 1]?.sequence ?? null,
    checkpointsVerified,
    prunedThrough,
    ...coverage,
    ...(problem ? { problem } : {}),
  });
  let key: KeyObject;
  try {
    key = publicKeyFromPem(input.publicKeyPem);
  } catch (e) {
    return report(0, { sequence: 0, reason: `the pinned public key is unusable: ${(e as Error).message}` });
  }
  try {
    parseExport(input.exportText, parsed);
    const checkpoints: SourcedCheckpoint[] = parsed.checkpoints.map((cp) => ({ cp, inExport: true }));
    for (const [lineNo, obj] of jsonLines(input.trustedCheckpointsText ?? '', 'trusted checkpoint')) {
      checkpoints.push({ cp: withLine('trusted checkpoint', lineNo, () => parseCheckpointLine(obj)), inExport: false });
    }
    const start = startOf(parsed, key);
    if (!('size' in start)) return report(0, start);
    prunedThrough = start.size;
    return verifyParsed(parsed, start, checkpoints, key, input.requireCoverage ?? false, report);
  } catch (e) {
    if (e instanceof AuditFormatError) return report(0, { sequence: e.sequence, reason: e.message });
    return report(0, { sequence: 0, reason: `verification failed: ${(e as Error).message}` });
  }
}

type Report = (checkpointsVerified: number, problem?: VerifyProblem, coverage?: Pick<VerifyReport, 'checkpointedThrough' | 'beyondEnd'>) => VerifyReport;

/** A checkpoint and whether it came from the export (else only from the trusted file). */
interface SourcedCheckpoint {
  cp: ExportedCheckpoint;
  inExport: boolean;
}

function verifyParsed(
  parsed: ParsedExport,
  start: Start,
  checkpoints: readonly SourcedCheckpoint[],
  key: KeyObject,
  requireCoverage: boolean,
  report: Report,
): VerifyReport {
  // Candidates in order of specificity; the lowest sequence wins, ties go to the earlier one.
  const problems: VerifyProblem[] = [];
  const distinct = new Map<string, SourcedCheckpoint & { leafRanges: { from: number; leaves: Buffer }[] }>();
  for (const { cp, inExport } of checkpoints) {
    const id = JSON.stringify([cp.logId, cp.treeSize, cp.root, cp.chainHash, cp.time, cp.signature]);
    const seen = distinct.get(id) ?? { cp, inExport, leafRanges: [] };
    seen.inExport ||= inExport;
    if (cp.previousTreeSize < cp.treeSize) seen.leafRanges.push({ from: cp.previousTreeSize, leaves: cp.leaves });
    distinct.set(id, seen);
  }

  const checkpointProblems: VerifyProblem[] = [];
  const bySize = new Map<number, SizeGroup>();
  const disputed = new Set<number>();
  for (const { cp, inExport, leafRanges } of distinct.values()) {
    const size = cp.treeSize;
    if (cp.logId.toLowerCase() !== parsed.logId) {
      checkpointProblems.push({ sequence: size, reason: `checkpoint at tree size ${size} is for log ${cp.logId}, not ${parsed.logId}` });
      continue;
    }
    if (!verifyCheckpoint(cp, key)) {
      checkpointProblems.push({ sequence: size, reason: `checkpoint signature invalid at tree size ${size} (not signed by the pinned key)` });
      continue;
    }
    const root = Buffer.from(cp.root, 'base64');
    const chain = Buffer.from(cp.chainHash, 'hex');
    const group = bySize.get(size);
    if (!group) {
      bySize.set(size, { size, root, chain, members: 1, leafRanges: [...leafRanges], inExport, time: cp.time });
    } else if (group.root.equals(root) && group.chain.equals(chain)) {
      group.members++;
      group.leafRanges.push(...leafRanges);
      group.inExport ||= inExport;
    } else if (!disputed.has(size)) {
      disputed.add(size);
      checkpointProblems.push({ sequence: size, reason: `two signed checkpoints disagree at tree size ${size} (different root or chain hash)` });
    }
  }
  // Which of two disagreeing checkpoints is genuine is unknowable, so neither is compared with the export.
  const groups = [...bySize.values()].filter((g) => !disputed.has(g.size)).sort((a, b) => a.size - b.size);

  const walk = walkEntries(parsed.entries, start, new Set(groups.map((g) => g.size)));
  if (walk.problem) problems.push(walk.problem);
  problems.push(...checkpointProblems);

  const signedLeaves = signedLeafIndex(groups, start);
  let verified = 0;
  let lastMatched = start.size;
  const beyond: SizeGroup[] = [];
  for (const g of groups) {
    const size = g.size;
    if (size < start.size) continue; // its entries were pruned: only its signature could be checked
    if (size <= walk.good) {
      const state = walk.states.get(size);
      if (state && state.root.equals(g.root) && state.chain.equals(g.chain)) {
        verified += g.members;
        lastMatched = size;
        continue;
      }
      // Entries 1..lastMatched reproduce a signed checkpoint, so (signer honest, checkpoints
      // consistent) the rewrite lies after lastMatched; previous_tree_size is unsigned and not used.
      const signed = signedLeaves(size);
      const at = signed ? firstDifference(signed, walk.leaves, start.size, size) : null;
      if (at !== null) {
        problems.push({ sequence: at, reason: `entry ${at} differs from the one signed in checkpoint at tree size ${size}` });
      } else if (signed) {
        problems.push({ sequence: size, reason: `chain hash at tree size ${size} differs from the signed checkpoint` });
      } else {
        const from = lastMatched + 1;
        const reason = `log rewritten: the export differs from the checkpoint signed at tree size ${size}; the rewrite lies in the range ${from}..${size} (no signed leaf hashes to pinpoint the entry)`;
        problems.push({ sequence: from, reason });
      }
      break;
    }
    const signed = signedLeaves(size);
    const at = signed ? firstDifference(signed, walk.leaves, start.size, walk.good) : null;
    if (at !== null) {
      problems.push({ sequence: at, reason: `entry ${at} differs from the one signed in checkpoint at tree size ${size}` });
      break;
    }
    if (walk.problem) continue;
    if (g.inExport || requireCoverage) {
      const reason = g.inExport
        ? `truncated: the signed checkpoint covers tree size ${size} but the export ends at sequence ${walk.good} (the checkpoint is one of the export's own)`
        : `not covered: the signed checkpoint at tree size ${size} lies beyond the export's end at sequence ${walk.good} (cut short, or exported before it was signed)`;
      problems.push({ sequence: walk.good + 1, reason });
      break;
    }
    beyond.push(g);
  }

  const first = problems.reduce<VerifyProblem | undefined>((best, p) => (!best || p.sequence < best.sequence ? p : best), undefined);
  const beyondEnd =
    beyond.length === 0
      ? null
      : { checkpoints: beyond.length, firstTreeSize: beyond[0].size, firstTime: beyond[0].time, lastTreeSize: beyond[beyond.length - 1].size };
  return report(verified, first, { checkpointedThrough: lastMatched, beyondEnd });
}
