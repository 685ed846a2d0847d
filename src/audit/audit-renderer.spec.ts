import { randomBytes } from 'node:crypto';
import { BatchedAuditRenderer } from './audit-renderer';
import type { AuditTrace } from './audit-entry';
import { renderJob, type RenderJob, type RenderedTarget } from './entry-render';
import { leafHash } from '../crypto/merkle';
import { canonicalJson } from '../crypto/canonical-json';
import * as hmac from '../crypto/hmac';

const trace: AuditTrace = {
  requestId: 'c7a5f3a4-5d5e-4c39-9a0e-4e1c1f0f0a01',
  time: new Date('2026-11-23T10:00:00Z'),
  operation: 'read',
  path: 'auth/token/lookup-self',
  mount: { path: 'auth/token/', type: 'token', accessor: 'auth_token_1', class: 'auth', clearRequestKeys: [], clearResponseKeys: [] },
  clientToken: 'hvs.canary-token',
  token: {
    accessor: 'acc-1',
    displayName: 'token',
    policies: ['default'],
    tokenType: 'service',
    ttlSeconds: 60,
    issueTime: new Date('2026-11-23T09:00:00Z'),
    meta: { team: 'x' },
  },
  data: {},
  policy: { allowed: true, matched: 'auth/token/lookup-self' },
  source: { remoteAddress: '192.0.2.44', userAgent: 'canary-agent/1', month: '2026-11', key: randomBytes(32) },
};

const salt = randomBytes(32);
const job = (over: Partial<RenderJob> = {}): RenderJob => ({
  kind: 'pair',
  trace,
  outcome: { status: 200, data: { id: 'hvs.canary-token', ttl: 59, raw: Buffer.from('secret bytes'), policies: ['default'] } },
  responseTime: new Date('2026-11-23T10:00:00.005Z'),
  targets: [
    { format: 'chain', salt },
    { format: 'json-line', salt },
  ],
  ...over,
});

/** Event ids and sealed values (a fresh nonce) differ per rendering; everything else is a function of the job. */
const SEALED = /enc:v1:2026-11:[A-Za-z0-9+/=]+/g;
function comparable(targets: RenderedTarget[]): unknown {
  const unsealed = (text: string) => text.replace(SEALED, 'enc:v1:2026-11:…');
  return targets.map((t) =>
    t.format === 'chain'
      ? t.entries.map((e) => ({
          text: unsealed(e.bytes.toString()),
          time: e.time,
          eventData: e.eventData,
          columns: { ...e.columns, eventId: undefined, sourceIp: unsealed(e.columns.sourceIp ?? '') },
        }))
      : t.lines.map(unsealed),
  );
}

describe('audit renderer', () => {
  let renderer: BatchedAuditRenderer;
  beforeEach(() => {
    renderer = new BatchedAuditRenderer();
  });
  afterEach(async () => renderer.close());

  it('gives what renderJob gives, with redacted values and the address sealed once per job', async () => {
    const batched = await renderer.render(job());
    expect(comparable(batched)).toEqual(comparable(renderJob(job())));
    const chain = batched[0];
    if (chain.format !== 'chain') throw new Error('first target is the chain');
    expect(chain.entries).toHaveLength(2);
    for (const e of chain.entries) expect(e.leaf).toEqual(leafHash(e.bytes));
    // The pair's shared blocks are serialised once; each entry's bytes are still its own canonical JSON.
    for (const e of chain.entries) expect(e.bytes.toString()).toBe(canonicalJson(JSON.parse(e.bytes.toString())).toString());
    // One sealing per job: both entries and both devices carry the same ciphertext.
    const addresses = new Set(chain.entries.map((e) => e.columns.sourceIp));
    expect(addresses.size).toBe(1);
    expect(chain.entries[0].bytes.toString()).toContain(`"remote_address":"${[...addresses][0]}"`);
    if (batched[1].format !== 'json-line') throw new Error('second target is a file');
    for (const line of batched[1].lines) expect(line).toContain(`"remote_address":"${[...addresses][0]}"`);
    const text = JSON.stringify(batched);
    expect(text).not.toContain('canary');
    expect(text).not.toContain('192.0.2.44');
    expect(text).not.toContain(Buffer.from('secret bytes').toString('base64'));
  });

  it('renders the jobs of one turn together, after that turn, each answered with its own entries', async () => {
    const jobs = Array.from({ length: 10 }, (_, i) => job({ kind: 'request', trace: { ...trace, path: `secret/data/p${i}` } }));
    let settled = 0;
    const pending = jobs.map((j) => renderer.render(j).then((r) => (settled++, r)));
    await Promise.resolve();
    expect(settled).toBe(0); // nothing is rendered in the turn that queued it
    const results = await Promise.all(pending);
    results.forEach((r, i) => {
      if (r[1].format !== 'json-line') throw new Error('second target is a file');
      expect(JSON.parse(r[1].lines[0]).request.path).toBe(`secret/data/p${i}`);
    });
  });

  it('a job that fails to render is rejected with its error; the others of its batch are answered', async () => {
    const bad = renderer.render(job({ kind: 'response', outcome: undefined }));
    const good = renderer.render(job());
    await expect(bad).rejects.toThrow(/needs the outcome/);
    expect((await good)[0].format).toBe('chain');
  });

  it('close renders what is queued', async () => {
    const pending = renderer.render(job());
    await renderer.close();
    expect((await pending)[0].format).toBe('chain');
  });

  it('elide_list_responses: a list response logs the counts of keys and key_info, on that device only', () => {
    const list = job({
      trace: { ...trace, operation: 'list', path: 'secret/metadata/' },
      outcome: { status: 200, data: { keys: ['a', 'b/', 'c'], key_info: { a: { x: 1 }, c: {} }, other: 'kept' } },
      targets: [
        { format: 'json-line', salt, elideListResponses: true },
        { format: 'json-line', salt },
      ],
    });
    const [elided, full] = renderJob(list).map((t) => (t.format === 'json-line' ? JSON.parse(t.lines[1]).response.data : undefined));
    expect(elided.keys).toBe(3);
    expect(elided.key_info).toBe(2);
    expect(elided.other).toMatch(/^hmac-sha256:/);
    expect(full.keys).toHaveLength(3);
    // A read is never elided, even with keys in its data.
    const read = job({ outcome: { status: 200, data: { keys: ['a'] } }, targets: [{ format: 'json-line', salt, elideListResponses: true }] });
    const [readTarget] = renderJob(read);
    if (readTarget.format !== 'json-line') throw new Error('a file target');
    expect(JSON.parse(readTarget.lines[1]).response.data.keys).toHaveLength(1);
  });

  it("a response job given its request job's blocks repeats them: the entries a pair writes, the request's sealed address, no HMAC of the request again", () => {
    const items = Array.from({ length: 10 }, () => ({ plaintext: randomBytes(96).toString('base64') }));
    const batch = { ...trace, operation: 'update', path: 'transit/encrypt/k', data: { batch_input: items } };
    const outcome = {
      status: 200,
      data: { batch_results: items.map(() => ({ ciphertext: `vault:v1:${randomBytes(96).toString('base64')}`, key_version: 1 })) },
    };
    const targets: RenderJob['targets'] = [{ format: 'chain', salt }];
    const hmacs = jest.spyOn(hmac, 'hmacSha256Hex');
    const [request] = renderJob(job({ kind: 'request', trace: batch, outcome: undefined, responseTime: undefined, targets }));
    expect(request.requestBlocks).toBeDefined();
    hmacs.mockClear();
    const [response] = renderJob(job({ kind: 'response', trace: batch, outcome, targets, request: [request.requestBlocks!] }));
    // The ten ciphertexts, and key_version 1 once (short values are hashed once per render).
    expect(hmacs).toHaveBeenCalledTimes(11);
    hmacs.mockRestore();
    if (request.format !== 'chain' || response.format !== 'chain') throw new Error('chain targets');
    const [pair] = renderJob(job({ kind: 'pair', trace: batch, outcome, targets }));
    expect(comparable([{ format: 'chain', entries: [...request.entries, ...response.entries] }])).toEqual(comparable([pair]));
    const [reqEntry, resEntry] = [request.entries[0], response.entries[0]].map((e) => JSON.parse(e.bytes.toString()));
    expect(resEntry.request).toEqual(reqEntry.request);
    expect(resEntry.request.remote_address).toMatch(SEALED);
    expect(response.entries[0].columns.sourceIp).toBe(request.entries[0].columns.sourceIp);
  });
});
