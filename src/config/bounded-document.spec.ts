import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { POLICY_DOCUMENT_LIMITS } from '../kernel/policy/policy-parser';
import { DEFAULT_POLICY } from '../kernel/policy/policy-store.service';
import { DocumentLimitError, documentLimitError, parseBoundedDocument, parseBoundedDocumentSync } from './bounded-document';
import { parseHcl } from './hcl';
import { hclNestingExceeds } from './hcl-scan';
import { HclThread } from './hcl-thread';

const LIMITS = POLICY_DOCUMENT_LIMITS;
const DEPTH = 'document nesting is deeper than the limit of 16 levels';

/** The depth the scan finds: the least limit it does not exceed. */
const scanDepth = (text: string) => {
  let d = 0;
  while (hclNestingExceeds(text, d)) d++;
  return d;
};
const nested = (n: number) => 'path "x" {' + 'a {'.repeat(n) + '}'.repeat(n) + '}';
const pathBlocks = (n: number) =>
  Array.from({ length: n }, (_, i) => `path "secret/data/team-${i}/*" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}\n`).join('');

describe('document limits', () => {
  it('real policies pass, with room: HCL nests 4 levels, JSON with every block in a list 8', () => {
    const hcl =
      'path "kv/data/{{identity.entity.id}}/*" {\n  capabilities = ["read"]\n  allowed_parameters = { "k" = ["v1", "v2"] }\n  conditions { source_cidrs = ["10.0.0.0/8"] }\n}\n';
    expect(scanDepth(hcl)).toBe(4);
    expect(scanDepth(DEFAULT_POLICY)).toBe(3);
    const json = JSON.stringify({ path: [{ 'a/*': [{ capabilities: ['read'], allowed_parameters: [{ k: ['v'] }] }] }] });
    for (const text of [hcl, DEFAULT_POLICY, json, pathBlocks(500)]) expect(documentLimitError(text, LIMITS)).toBeNull();
  });

  it('counts braces and brackets, and block keys: `a "b" "c" {` is three levels', () => {
    expect(scanDepth(nested(5))).toBe(7);
    expect(scanDepth('x = [[[[1]]]]')).toBe(4);
    expect(scanDepth('path ' + '"k" '.repeat(40) + '{ }')).toBe(41);
    expect(documentLimitError('path ' + '"k" '.repeat(1000) + '{ capabilities = ["read"] }', LIMITS)).toBe(DEPTH);
    expect(documentLimitError(nested(5000), LIMITS)).toBe(DEPTH);
    // Values after `=` are not keys; commas and closing braces end a run of keys.
    expect(scanDepth('a = "x"\nb = 1\nc { d = "y"\n e { } }')).toBe(2);
  });

  it('ignores braces in strings, comments and heredocs, as HCL v1 scans them', () => {
    for (const inside of [
      '"{{{{{{{{{{{{{{{{{{"',
      '# {{{{{{{{{{{{{{{{{{',
      '// [[[[[[[[[[[[[[[[[[',
      '/* {{{{{{{{{{{{{{{{{{\n]]]]]]]]]]]]]]]]]] */',
      '<<EOT\n{{{{{{{{{{{{{{{{{{\n  EOT\n',
      '<<-EOT\n[[[[[[[[[[[[[[[[[[\n  EOT\n',
    ]) {
      expect({ inside, depth: scanDepth(`a = ${inside}\nb = 1`) }).toEqual({ inside, depth: 0 });
    }
    // Quotes inside ${ } do not end a string; a string ends at a newline; an escaped quote does not end it.
    expect(scanDepth('a = "${ f("[[[[") }"\nb = 1')).toBe(0);
    expect(scanDepth('a = "unterminated\n{{{{')).toBe(4);
    expect(scanDepth('a = "\\" {{{{ "')).toBe(0);
  });

  it('never leaves a string, comment or heredoc later than HCL v1 does (attempts to hide nesting)', () => {
    const deep = '{'.repeat(20) + '}'.repeat(20);
    const attempts = [
      `a = "\${"}" ${deep} "`, // the quote inside \${ } closes the interpolation's brace count first
      `a = "\\x\${" ${deep} "`, // \x keeps a non-hex character: "$" is swallowed, "{" is plain, the quote ends the string
      `a = "\\u"" ${deep} "`, // \u swallows the quote after it: the string goes on to the next quote
      `a <" ${deep} "`, // "<" not followed by "<" takes the next character with it
      `a = <<EOF x\n${deep}\nEOF\n`, // a heredoc anchor with trailing characters is no heredoc
      `a = "\u0000 ${deep} "`, // NUL ends the string
      `# comment \u0000 ${deep}`, // and a comment
      `a = <<EOF\nbody\n  EOF\n${deep}`, // the terminator may be indented
    ];
    for (const text of attempts) expect({ text, exceeds: hclNestingExceeds(text, 16) }).toEqual({ text, exceeds: true });
    expect(documentLimitError('a = <<\u00c9\n"${\n\u00c9\n{', LIMITS)).toBe('heredoc anchors must be ASCII letters, digits or _');
  });

  it('JSON is counted by JSON rules, and a document HCL would read as JSON (Go white space first) is parsed as JSON', async () => {
    const deepJson = '{"a":' + '['.repeat(40) + ']'.repeat(40) + '}';
    expect(documentLimitError(deepJson, LIMITS)).toBe(DEPTH);
    expect(documentLimitError('{"a": "${", "b": ' + '['.repeat(40) + ']'.repeat(40) + ', "c": "}"}', LIMITS)).toBe(DEPTH);
    // HCL's JSON reader would end this string at the newline; JSON.parse refuses the document instead.
    await expect(parseBoundedDocument('\u0085{"a": "${\n' + '{'.repeat(40) + '}'.repeat(40) + '"}', LIMITS)).rejects.toThrow(/^invalid JSON/);
    expect(() => parseBoundedDocumentSync('\u0085{"path": {}}', LIMITS)).toThrow('invalid JSON');
  });

  it('refuses documents over the size limit; no message quotes the input', async () => {
    const big = `path "x" { comment = "${'s3cret'.repeat(50_000)}" }`;
    expect(documentLimitError(big, LIMITS)).toBe('document is larger than the limit of 131072 bytes');
    await expect(parseBoundedDocument(big, LIMITS)).rejects.toThrow(DocumentLimitError);
    await expect(parseBoundedDocument('{"a": s3cret}', LIMITS)).rejects.toThrow(/^invalid JSON: unexpected token$/);
    await expect(parseBoundedDocument(nested(5000), LIMITS)).rejects.toThrow(DEPTH);
  });

  it('parses HCL on the parser thread exactly as on the calling thread', async () => {
    const text = DEFAULT_POLICY + pathBlocks(20);
    expect(await parseBoundedDocument(text, LIMITS)).toEqual(parseHcl(text));
    await expect(parseBoundedDocument('path {', LIMITS)).rejects.toThrow(/^At 1:\d+: /);
    expect(await parseBoundedDocument('{"path": {"a": {"capabilities": ["read"]}}}', LIMITS)).toEqual({ path: { a: { capabilities: ['read'] } } });
  });

  it('HCL is parsed off the event loop: the loop keeps turning while a 1,000-block policy parses', async () => {
    await parseBoundedDocument('a = 1', LIMITS); // the thread is up
    const text = pathBlocks(1000);
    let turns = 0;
    let parsing = true;
    const turn = () => {
      turns++;
      if (parsing) setImmediate(turn);
    };
    const started = performance.now();
    setImmediate(turn);
    const parsed = await parseBoundedDocument(text, LIMITS);
    parsing = false;
    const wall = performance.now() - started;
    expect(Object.keys((parsed.path as object[])[0])).toHaveLength(1);
    // Parsed on this thread, the document would be done before the first turn.
    expect(turns).toBeGreaterThan(0);
    // The measurement for docs/policies.md (shown with --verbose); a timing, so not asserted.
    process.stdout.write(`1,000 path blocks (${text.length} B): ${wall.toFixed(0)} ms on the thread, ${turns} turns of the event loop meanwhile\n`);
  });

  it('a job runs while the calling thread goes on: a parser that waits for the caller finishes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hcl-thread-'));
    const parser = join(dir, 'parser.js');
    const signal = join(dir, 'go');
    // Spins until the calling thread, from a timer, creates the signal file: on the calling thread it could never finish.
    writeFileSync(
      parser,
      `const fs = require('node:fs'); exports.parse = (t) => { while (!fs.existsSync(${JSON.stringify(signal)})); return JSON.stringify({ t }); };`,
    );
    const thread = new HclThread({ timeoutMs: 20_000, maxHeapMb: 64, parser });
    try {
      const job = thread.parse('waited');
      setTimeout(() => writeFileSync(signal, ''), 20);
      expect(await job).toBe('{"t":"waited"}');
    } finally {
      await thread.close();
    }
  });

  it('a job over the timeout, or one that throws in the parser, fails; the thread is replaced for the next one', async () => {
    const parser = join(mkdtempSync(join(tmpdir(), 'hcl-thread-')), 'parser.js');
    writeFileSync(
      parser,
      "exports.parse = (t) => { if (t === 'spin') for (;;); if (t === 'throw') throw new Error('boom'); return JSON.stringify({ t }, null, 8); };",
    );
    const thread = new HclThread({ timeoutMs: 2_000, maxHeapMb: 64, parser });
    try {
      const spin = thread.parse('spin');
      const queued = thread.parse('queued');
      await expect(spin).rejects.toThrow('document took too long to parse');
      expect(await queued).toBe('{"t":"queued"}'); // compacted
      await expect(thread.parse('throw')).rejects.toThrow(/^document could not be parsed$/);
      expect(await thread.parse('after')).toBe('{"t":"after"}');
    } finally {
      await thread.close();
    }
  });

  it('an idle thread keeps nothing alive: a process that parsed a policy can still exit by itself', async () => {
    const alive = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker').length;
    const before = alive();
    const thread = new HclThread({ timeoutMs: 10_000, maxHeapMb: 64 });
    try {
      expect(JSON.parse(await thread.parse('path "a" { capabilities = ["read"] }'))).toEqual({ path: [{ a: [{ capabilities: ['read'] }] }] });
      expect(alive()).toBe(before);
    } finally {
      await thread.close();
    }
  });

  it('an idle thread is ended after idleMs (its RSS returned); the next job starts a new one', async () => {
    const thread = new HclThread({ timeoutMs: 10_000, maxHeapMb: 64, idleMs: 200 });
    try {
      expect(JSON.parse(await thread.parse('a = 1'))).toEqual({ a: 1 });
      expect(thread.threadAlive).toBe(true);
      const second = thread.parse('b = 2');
      await new Promise((r) => setTimeout(r, 100));
      expect(JSON.parse(await second)).toEqual({ b: 2 });
      expect(thread.threadAlive).toBe(true); // the idle clock restarts after each job
      await new Promise((r) => setTimeout(r, 600));
      expect(thread.threadAlive).toBe(false);
      expect(JSON.parse(await thread.parse('c = 3'))).toEqual({ c: 3 });
      expect(thread.threadAlive).toBe(true);
    } finally {
      await thread.close();
    }
  });

  it('property: the scan never finds less nesting than the parser builds', () => {
    // Documents from HCL's pieces, tricky strings, comments and heredocs included; the decoded
    // JSON nests at most 2 levels (a list and an object) per level the scan counts, plus the root.
    const str = fc.constantFrom('"plain"', '"${a}"', '"${ "q" }"', '"a\\"b"', '"{{x}}"', '"\\x41"', '"\\u00e9"');
    const gap = fc.constantFrom(' ', '\n', ' # c "{\n', ' // x }\n', ' /* { " */ ');
    const value: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        str,
        fc.constantFrom('1', 'true', '<<EOT\n" {\nEOT\n'),
        fc.array(tie('value'), { maxLength: 3 }).map((vs) => `[${vs.join(', ')}]`),
        fc.array(fc.tuple(fc.constantFrom('k', '"k"'), tie('value')), { maxLength: 3 }).map((kv) => `{ ${kv.map(([k, v]) => `${k} = ${v}`).join('\n')} }`),
        fc.tuple(fc.array(str, { minLength: 1, maxLength: 3 }), gap, tie('value')).map(([keys, g, v]) => `{ blk ${keys.join(' ')}${g}{ x = ${v} } }`),
      ),
    })).value;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'path "p"', 'b "c" "d"'), gap, value), { minLength: 1, maxLength: 4 }), (items) => {
        const text = items.map(([k, g, v]) => (k === 'a' ? `${k} =${g}${v}` : `${k}${g}{ v = ${v} }`)).join('\n');
        let doc: unknown;
        try {
          doc = parseHcl(text);
        } catch {
          return;
        }
        const jsonDepth = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as object).map(jsonDepth)) : 0);
        expect(jsonDepth(doc)).toBeLessThanOrEqual(1 + 2 * scanDepth(text));
      }),
      { numRuns: 150 },
    );
  });
});
