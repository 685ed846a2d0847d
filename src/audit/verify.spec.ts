import { randomBytes, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import {
  chainHash,
  frontierAppend,
  frontierRoot,
  genesisHash,
  leafHash,
  newSigningKey,
  publicKeyPem,
  signCheckpoint,
  signingKeyFromDer,
} from '../crypto/audit-chain';
import { canonicalJson } from '../crypto/canonical-json';
import { rootOf } from '../crypto/merkle';
import { pruneEntry } from './prune-record';
import { verifyAuditExport, type VerifyInput } from './verify';

type Line = Record<string, unknown>;

const key = signingKeyFromDer(newSigningKey());
const pem = publicKeyPem(key);
const logId = randomBytes(16).toString('hex');
const header: Line = { kind: 'header', format: 'secrethub-audit-export-v1', log_id: logId };

const entryBytes = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.from(JSON.stringify({ n: i + 1, path: 'secret/data/x' })));

/** Entry lines for `bytes` (sequence i+1), every link and hash computed as the server would. */
function entryLines(bytes: readonly Buffer[], id = logId): Line[] {
  let prev = genesisHash(Buffer.from(id, 'hex'));
  return bytes.map((b, i) => {
    const current = chainHash(i + 1, prev, leafHash(b));
    const line = {
      kind: 'entry',
      sequence_number: i + 1,
      timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
      entry: b.toString('base64'),
      previous_hash: prev.toString('hex'),
      current_hash: current.toString('hex'),
    };
    prev = current;
    return line;
  });
}

/** A checkpoint line over entries 1..size of `bytes`, carrying the leaves of previous+1..size. */
function checkpointLine(bytes: readonly Buffer[], size: number, previous: number, opts: { signer?: KeyObject; id?: string; time?: string } = {}): Line {
  const id = opts.id ?? logId;
  const leaves = bytes.slice(0, size).map((b) => leafHash(b));
  const lines = entryLines(bytes.slice(0, size), id);
  const cp = signCheckpoint(
    {
      logId: id,
      treeSize: size,
      root: rootOf(leaves).toString('base64'),
      chainHash: size === 0 ? genesisHash(Buffer.from(id, 'hex')).toString('hex') : (lines[size - 1].current_hash as string),
      time: opts.time ?? '2025-01-02T00:00:00.000Z',
    },
    opts.signer ?? key,
  );
  return {
    kind: 'checkpoint',
    log_id: cp.logId,
    tree_size: cp.treeSize,
    root: cp.root,
    chain_hash: cp.chainHash,
    time: cp.time,
    signature: cp.signature,
    previous_tree_size: previous,
    leaves: Buffer.concat(leaves.slice(previous)).toString('base64'),
  };
}

const text = (lines: readonly Line[]): string => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
const withoutLeaves = ({ leaves: _l, previous_tree_size: _p, ...rest }: Line): Line => rest;

const original = entryBytes(10);
const checkpoints = [checkpointLine(original, 4, 0), checkpointLine(original, 10, 4)];
const goodLines = [header, ...entryLines(original), ...checkpoints];

const verify = (lines: readonly Line[], extra: Partial<VerifyInput> = {}) => verifyAuditExport({ exportText: text(lines), publicKeyPem: pem, ...extra });

/** The same log with entry 6 replaced and every later link and hash recomputed consistently. */
const rewritten = original.map((b, i) => (i === 5 ? Buffer.from(JSON.stringify({ n: 6, path: 'secret/data/evil' })) : b));

describe('verifyAuditExport', () => {
  it('accepts an untouched export and counts its checkpoints', () => {
    expect(verify(goodLines)).toEqual({
      ok: true,
      entries: 10,
      firstSequence: 1,
      lastSequence: 10,
      checkpointsVerified: 2,
      prunedThrough: 0,
      checkpointedThrough: 10,
      beyondEnd: null,
    });
  });

  it('accepts CRLF line ends, blank lines and checkpoints repeated in the trusted file (counted once)', () => {
    const crlf = goodLines.map((l) => JSON.stringify(l)).join('\r\n\r\n');
    const r = verifyAuditExport({ exportText: crlf, publicKeyPem: pem, trustedCheckpointsText: text([checkpoints[1], withoutLeaves(checkpoints[0])]) });
    expect(r).toMatchObject({ ok: true, checkpointsVerified: 2 });
  });

  it('reports a modified entry at its sequence', () => {
    const lines = [header, ...entryLines(original), ...checkpoints];
    lines[7] = { ...lines[7], entry: Buffer.from(JSON.stringify({ n: 7, path: 'secret/data/y' })).toString('base64') };
    expect(verify(lines)).toMatchObject({ ok: false, problem: { sequence: 7, reason: expect.stringMatching(/^entry modified: hash mismatch/) } });
  });

  it('reports a deleted entry at the missing sequence', () => {
    const lines = goodLines.filter((l) => l.sequence_number !== 5);
    expect(verify(lines).problem).toEqual({ sequence: 5, reason: expect.stringMatching(/^missing entry: sequence 5 is absent/) });
  });

  it('reports swapped entries at the first displaced sequence', () => {
    const lines = [...goodLines];
    [lines[4], lines[5]] = [lines[5], lines[4]];
    expect(verify(lines).problem).toEqual({ sequence: 4, reason: expect.stringMatching(/^out of order: found 5 where 4 expected/) });
  });

  it('reports a duplicated entry at the sequence it displaces', () => {
    const lines = [...goodLines];
    lines.splice(4, 0, lines[3]);
    expect(verify(lines).problem).toEqual({ sequence: 4, reason: expect.stringMatching(/^out of order: found 3 where 4 expected/) });
  });

  it('reports a previous_hash that does not link, even when current_hash was left alone', () => {
    const lines = [...goodLines];
    lines[5] = { ...lines[5], previous_hash: 'ab'.repeat(32) };
    expect(verify(lines).problem).toEqual({ sequence: 5, reason: 'previous_hash does not link to entry 4' });
  });

  it('reports tail truncation below a checkpoint in the export, with or without the trusted file', () => {
    const lines = [header, ...entryLines(original).slice(0, 8), ...checkpoints];
    for (const trustedCheckpointsText of [undefined, text(checkpoints)]) {
      const r = verify(lines, { trustedCheckpointsText });
      expect(r.problem).toEqual({ sequence: 9, reason: expect.stringMatching(/^truncated: .*covers tree size 10 but the export ends at sequence 8/) });
    }
  });

  describe('a trusted checkpoint beyond the export’s end (a live checkpoint file that grew after the export)', () => {
    // The export as taken at size 8 (with the checkpoint then signed), the live file as it is later.
    const early = [header, ...entryLines(original).slice(0, 8), checkpoints[0]];
    const live = [
      checkpoints[0],
      checkpointLine(original, 9, 4, { time: '2025-01-02T01:00:00.000Z' }),
      checkpointLine(original, 10, 9, { time: '2025-01-02T02:00:00.000Z' }),
    ];

    it('verifies up to the end, the newest checkpoint at or below it included, and reports the later ones as not covered', () => {
      expect(verify(early, { trustedCheckpointsText: text(live) })).toEqual({
        ok: true,
        entries: 8,
        firstSequence: 1,
        lastSequence: 8,
        checkpointsVerified: 1,
        prunedThrough: 0,
        checkpointedThrough: 4,
        beyondEnd: { checkpoints: 2, firstTreeSize: 9, firstTime: '2025-01-02T01:00:00.000Z', lastTreeSize: 10 },
      });
      // An export cut short with its later checkpoint lines removed reads the same: nothing signed says where an export ends.
      const r = verify([header, ...entryLines(original).slice(0, 8)], { trustedCheckpointsText: text([withoutLeaves(checkpoints[1])]) });
      expect(r).toMatchObject({ ok: true, checkpointedThrough: 0, beyondEnd: { checkpoints: 1, firstTreeSize: 10, lastTreeSize: 10 } });
    });

    it('fails at the first sequence not covered when coverage is required', () => {
      expect(verify(early, { trustedCheckpointsText: text(live), requireCoverage: true })).toMatchObject({
        ok: false,
        checkpointsVerified: 1,
        problem: {
          sequence: 9,
          reason: expect.stringMatching(/^not covered: the signed checkpoint at tree size 9 lies beyond the export's end at sequence 8/),
        },
      });
      expect(verify(goodLines, { trustedCheckpointsText: text(live), requireCoverage: true })).toMatchObject({ ok: true, beyondEnd: null });
    });

    it('still checks the entries after the newest covered checkpoint against a later one’s signed leaves', () => {
      const r = verify([header, ...entryLines(rewritten).slice(0, 8), checkpoints[0]], { trustedCheckpointsText: text(live) });
      expect(r.problem).toEqual({ sequence: 6, reason: 'entry 6 differs from the one signed in checkpoint at tree size 9' });
    });

    it('is no excuse for an export that is not a prefix of the signed log', () => {
      const lines = [...early];
      lines[3] = { ...lines[3], previous_hash: '00'.repeat(32) };
      expect(verify(lines, { trustedCheckpointsText: text(live) })).toMatchObject({ ok: false, problem: { sequence: 3 } });
    });
  });

  it('pinpoints a rewrite with recomputed hashes from the checkpoints’ leaves', () => {
    const lines = [header, ...entryLines(rewritten), ...checkpoints];
    expect(verify(lines)).toMatchObject({
      ok: false,
      checkpointsVerified: 1,
      problem: { sequence: 6, reason: 'entry 6 differs from the one signed in checkpoint at tree size 10' },
    });
    // The same with the genuine checkpoints only in the auditor's file.
    expect(verify([header, ...entryLines(rewritten)], { trustedCheckpointsText: text(checkpoints) }).problem?.sequence).toBe(6);
  });

  it('bounds a rewrite to a range when only the last checkpoint’s leaves are available', () => {
    const lines = [header, ...entryLines(rewritten), withoutLeaves(checkpoints[0]), checkpoints[1]];
    expect(verify(lines).problem).toEqual({ sequence: 5, reason: expect.stringContaining('the rewrite lies in the range 5..10') });
  });

  it('does not trust the unsigned previous_tree_size to bound a rewrite', () => {
    const lines = [header, ...entryLines(rewritten), checkpoints[1]];
    expect(verify(lines).problem).toEqual({ sequence: 1, reason: expect.stringContaining('range 1..10') });
  });

  it('pinpoints a rewrite below the end of a truncated export', () => {
    const lines = [header, ...entryLines(rewritten).slice(0, 8), ...checkpoints];
    expect(verify(lines).problem?.sequence).toBe(6);
  });

  it('reports a rewrite ahead of a later broken link (the lowest bad sequence wins)', () => {
    const lines = [header, ...entryLines(rewritten), ...checkpoints];
    lines[9] = { ...lines[9], previous_hash: '00'.repeat(32) };
    expect(verify(lines).problem).toEqual({ sequence: 6, reason: 'entry 6 differs from the one signed in checkpoint at tree size 10' });
  });

  it('rejects a checkpoint signed by another key', () => {
    const other = signingKeyFromDer(newSigningKey());
    const lines = [header, ...entryLines(original), checkpoints[0], checkpointLine(original, 10, 4, { signer: other })];
    expect(verify(lines)).toMatchObject({ checkpointsVerified: 1, problem: { sequence: 10, reason: expect.stringMatching(/^checkpoint signature invalid/) } });
  });

  it('rejects a checkpoint for another log', () => {
    const otherId = randomBytes(16).toString('hex');
    const lines = [header, ...entryLines(original), checkpointLine(original, 10, 0, { id: otherId })];
    expect(verify(lines).problem).toEqual({ sequence: 10, reason: `checkpoint at tree size 10 is for log ${otherId}, not ${logId}` });
  });

  it('rejects entries chained from another log’s genesis', () => {
    const lines = [header, ...entryLines(original, randomBytes(16).toString('hex'))];
    expect(verify(lines).problem).toEqual({ sequence: 1, reason: 'previous_hash of entry 1 is not the genesis hash of this log' });
  });

  it('reports two signed checkpoints that disagree at one tree size', () => {
    const forked = checkpointLine(rewritten, 10, 0, { time: '2025-01-03T00:00:00.000Z' });
    const r = verify(goodLines, { trustedCheckpointsText: text([forked]) });
    expect(r).toMatchObject({ ok: false, problem: { sequence: 10, reason: expect.stringMatching(/^two signed checkpoints disagree at tree size 10/) } });
  });

  it('reports malformed input without throwing', () => {
    const cases: [string, number, RegExp][] = [
      ['', 0, /^missing header/],
      [text(goodLines.slice(1)), 0, /^missing header/],
      [text([{ ...header, format: 'v0' }, ...goodLines.slice(1)]), 0, /^unsupported export format/],
      [text([{ ...header, log_id: 'xyz' }]), 0, /log_id is not hex/],
      [text(goodLines).replace(/\n/, '\n{not json\n'), 0, /^export line 2 is not valid JSON/],
      [
        text(goodLines.map((l) => (l.sequence_number === 3 ? { ...l, current_hash: 'zz'.repeat(32) } : l))),
        3,
        /^export line 4: current_hash is not a 32-byte hex hash/,
      ],
      [text(goodLines.map((l) => (l.sequence_number === 2 ? { ...l, entry: '***' } : l))), 2, /entry is not valid base64/],
      [text(goodLines.map((l) => (l.tree_size === 10 ? { ...l, leaves: 'AAAA' } : l))), 10, /leaves holds 3 bytes/],
      [text([...goodLines, { kind: 'footer' }]), 0, /unexpected kind "footer"/],
    ];
    for (const [exportText, sequence, reason] of cases) {
      expect(verifyAuditExport({ exportText, publicKeyPem: pem })).toMatchObject({ ok: false, problem: { sequence, reason: expect.stringMatching(reason) } });
    }
    expect(verify(goodLines, { trustedCheckpointsText: '[1]' }).problem).toEqual({ sequence: 0, reason: 'trusted checkpoint line 1 is not a JSON object' });
    expect(verify(goodLines, { publicKeyPem: 'nonsense' }).problem).toMatchObject({ sequence: 0, reason: expect.stringMatching(/public key/) });
  });

  it('finds a single flipped byte in any entry at exactly that sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (seq, pos, mask) => {
        const lines = [header, ...entryLines(original), ...checkpoints];
        const bytes = Buffer.from(original[seq - 1]);
        bytes[pos % bytes.length] ^= mask;
        lines[seq] = { ...lines[seq], entry: bytes.toString('base64') };
        const r = verify(lines);
        return !r.ok && r.problem?.sequence === seq;
      }),
      { numRuns: 100 },
    );
  });

  it('verifies a long export with many checkpoints', () => {
    const many = entryBytes(5000);
    const cps = Array.from({ length: 50 }, (_, i) => checkpointLine(many, (i + 1) * 100, i * 100));
    const r = verify([header, ...entryLines(many), ...cps]);
    expect(r).toEqual({
      ok: true,
      entries: 5000,
      firstSequence: 1,
      lastSequence: 5000,
      checkpointsVerified: 50,
      prunedThrough: 0,
      checkpointedThrough: 5000,
      beyondEnd: null,
    });
  });
});

describe('verifyAuditExport after retention pruned a prefix', () => {
  const PRUNED = 5;

  /** Entries 1..12 where entry 7 is the prune record for 1..5 (signed by `signer`, frontier optionally broken). */
  function prunedLog(opts: { signer?: KeyObject; breakFrontier?: boolean; rewrite9?: boolean } = {}): Buffer[] {
    const before = entryBytes(6);
    let frontier: Buffer[] = [];
    let chain = genesisHash(Buffer.from(logId, 'hex'));
    before.slice(0, PRUNED).forEach((b, i) => {
      frontier = frontierAppend(frontier, i, leafHash(b));
      chain = chainHash(i + 1, chain, leafHash(b));
    });
    const checkpoint = signCheckpoint(
      { logId, treeSize: PRUNED, root: frontierRoot(frontier).toString('base64'), chainHash: chain.toString('hex'), time: '2025-03-01T00:00:00.000Z' },
      opts.signer ?? key,
    );
    if (opts.breakFrontier) frontier = [...frontier.slice(0, -1), randomBytes(32)];
    const prune = canonicalJson(pruneEntry({ checkpoint, frontier, partitions: ['audit_logs_y2025m01'] }, new Date('2025-03-01T00:00:00Z')));
    const after = [8, 9, 10, 11, 12].map((n) => Buffer.from(JSON.stringify({ n, path: opts.rewrite9 && n === 9 ? 'secret/data/evil' : 'secret/data/x' })));
    return [...before, prune, ...after];
  }
  const full = prunedLog();
  const afterPrune = (bytes: readonly Buffer[]) => entryLines(bytes).slice(PRUNED);

  it('verifies an export that starts after the prune point from the signed prune record', () => {
    const r = verify([header, ...afterPrune(full), checkpointLine(full, 4, 0), checkpointLine(full, 12, 4)]);
    expect(r).toEqual({
      ok: true,
      entries: 7,
      firstSequence: 6,
      lastSequence: 12,
      checkpointsVerified: 2,
      prunedThrough: 5,
      checkpointedThrough: 12,
      beyondEnd: null,
    });
  });

  it('verifies the whole log too, checking the prune record as a checkpoint at its size', () => {
    expect(verify([header, ...entryLines(full), checkpointLine(full, 12, 0)])).toMatchObject({ ok: true, checkpointsVerified: 2, prunedThrough: 0 });
  });

  it('reports missing leading entries when no prune record vouches for them', () => {
    const plain = entryBytes(12);
    const r = verify([header, ...entryLines(plain).slice(PRUNED), checkpointLine(plain, 12, 0)]);
    expect(r.problem).toEqual({ sequence: 1, reason: expect.stringContaining('missing entries: the export starts at 6') });
  });

  it('refuses a prune record signed by another key or with a frontier that does not fold to its root', () => {
    const other = signingKeyFromDer(newSigningKey());
    for (const bytes of [prunedLog({ signer: other }), prunedLog({ breakFrontier: true })]) {
      expect(verify([header, ...afterPrune(bytes)]).problem?.sequence).toBe(1);
    }
  });

  it('names a rewritten entry after the prune point from the signed leaves', () => {
    const signed = checkpointLine(full, 12, PRUNED);
    const r = verify([header, ...afterPrune(prunedLog({ rewrite9: true })), signed]);
    expect(r.problem).toEqual({ sequence: 9, reason: 'entry 9 differs from the one signed in checkpoint at tree size 12' });
  });

  it('reports a malformed prune record at its sequence', () => {
    const bytes = [...entryBytes(3), Buffer.from('{"prune":{"pruned_through":"x"},"type":"prune"}')];
    expect(verify([header, ...entryLines(bytes)]).problem).toEqual({ sequence: 4, reason: expect.stringContaining('malformed prune record') });
  });
});
