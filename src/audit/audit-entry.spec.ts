import canonicalize from 'canonicalize';
import { entryBlocks, entryProjection, requestEntry, responseEntry, type AuditTrace } from './audit-entry';
import { saltedHasher } from './redaction';

const hash = saltedHasher(Buffer.alloc(32, 7));
const trace: AuditTrace = {
  requestId: '6f1c2a0e-0000-4000-8000-000000000001',
  time: new Date('2026-11-22T10:00:00Z'),
  operation: 'update',
  path: 'secret/data/app',
  mount: { path: 'secret/', type: 'kv', accessor: 'kv_1234', class: 'secret', clearRequestKeys: [], clearResponseKeys: [] },
  clientToken: 'hvs.canary-token',
  token: {
    accessor: 'acc-1',
    displayName: 'token',
    policies: ['default', 'app'],
    tokenType: 'service',
    ttlSeconds: 3600,
    issueTime: new Date('2026-11-22T09:00:00Z'),
    meta: { z: 'last', a: 'first' },
  },
  data: { options: { cas: 1 }, data: { password: 'canary', 'b-key': 2, a: [1, { y: 1, x: 2 }] } },
  policy: { allowed: true, matched: 'secret/data/*' },
  source: { remoteAddress: '192.0.2.7', userAgent: 'canary-agent', month: '2026-11', key: Buffer.alloc(32, 9) },
};
const sealed = { remoteAddress: 'enc:v1:2026-11:AAAA', userAgent: 'enc:v1:2026-11:BBBB' };

describe('audit entries', () => {
  const blocks = entryBlocks(trace, sealed, hash);
  const request = requestEntry(trace, blocks);
  const response = responseEntry(
    trace,
    blocks,
    {
      status: 200,
      data: { version: 3, created_time: 'x', custom_metadata: null },
      warnings: ['w'],
      auth: { policies: ['p'], client_token: 't', accessor: 'a' },
    },
    hash,
    new Date('2026-11-22T10:00:01Z'),
  );

  it('are built with every key in order, so their canonical bytes are plain JSON.stringify', () => {
    for (const entry of [request, response]) expect(JSON.stringify(entry)).toBe(canonicalize(entry));
  });

  it('hash the token and accessor once for both places each appears, and share the blocks between request and response', () => {
    expect((request.auth as Record<string, unknown>).client_token).toBe(hash('hvs.canary-token'));
    expect((request.request as Record<string, unknown>).client_token).toBe(hash('hvs.canary-token'));
    expect((request.request as Record<string, unknown>).client_token_accessor).toBe(hash('acc-1'));
    expect(response.request).toBe(request.request);
    expect(JSON.stringify(request)).not.toContain('canary');
    expect(JSON.stringify(request)).not.toContain('192.0.2.7');
    expect((request.request as Record<string, unknown>).remote_address).toBe(sealed.remoteAddress);
  });

  it('project to event_data without response data, token hashes or the sealed address', () => {
    const projected = JSON.stringify(entryProjection(response));
    expect(entryProjection(response)).toMatchObject({
      type: 'response',
      request: { path: 'secret/data/app', operation: 'update' },
      response: { status_code: 200 },
    });
    for (const absent of [hash('hvs.canary-token'), 'enc:v1:', hash('3')]) expect(projected).not.toContain(absent);
  });
});
