/**
 * An operation a route does not support (issue 23, item 7): as in Vault, the token and the ACL are
 * judged first (403 without access), then the 405; the request is audited and spends a use. Only
 * the paths Vault serves in its HTTP layer (sys/seal, sys/unseal, ...) and unknown methods answer
 * 405 before the token; while sealed, other routes answer 503.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../support/database';
import { call, initAndUnseal } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { until } from '../support/wait';

jest.setTimeout(120_000);

describe('unsupported operations: the ACL before the 405 (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  let root: string;
  let unsealKey: string;
  let auditFile: string;

  const tokenWith = async (policies: string[], extra: Record<string, unknown> = {}) => {
    const res = await call(a, 'POST', 'auth/token/create', { token: root, body: { policies, ...extra } });
    expect(res.status).toBe(200);
    return res.body.auth.client_token as string;
  };
  const entries = () =>
    readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; error?: string; request: { path: string; operation: string }; response?: unknown });

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrethub-405-'));
    server = await startServerProcess({
      databaseUrl: await createTestDatabase(),
      env: { SECRETHUB_AUDIT_FILE_DIR: join(dir, 'audit'), SECRETHUB_AUDIT_CHECKPOINT_FILE: join(dir, 'checkpoints.jsonl') },
    });
    a = server.address;
    ({ rootToken: root, key: unsealKey } = await initAndUnseal(a));
    expect((await call(a, 'PUT', 'sys/audit/siem', { token: root, body: { type: 'file', options: { file_path: 'siem.log' } } })).status).toBe(204);
    auditFile = join(dir, 'audit', 'siem.log');
    await call(a, 'PUT', 'sys/policies/acl/reader', {
      token: root,
      body: { policy: 'path "sys/policies/acl" { capabilities = ["read"] }\npath "sys/key-status" { capabilities = ["read", "list"] }' },
    });
    await call(a, 'PUT', 'sys/policies/acl/lister', {
      token: root,
      body: { policy: 'path "sys/policies/acl" { capabilities = ["list"] }\npath "sys/key-status" { capabilities = ["read"] }' },
    });
  });
  afterAll(async () => server?.stop());

  it('GET sys/policies/acl (only LIST exists): 403 without a token or without read there, 405 with it', async () => {
    expect(await call(a, 'GET', 'sys/policies/acl')).toMatchObject({ status: 403, body: { errors: ['permission denied'] } });
    expect(await call(a, 'GET', 'sys/policies/acl', { token: 'hvs.nosuchtoken' })).toMatchObject({
      status: 403,
      body: { errors: ['permission denied', 'invalid token'] },
    });
    const nothing = await tokenWith(['default']);
    expect(await call(a, 'GET', 'sys/policies/acl', { token: nothing })).toMatchObject({ status: 403, body: { errors: ['permission denied'] } });
    // LIST on the path is not read: the ACL judges the operation asked for.
    const lister = await tokenWith(['lister']);
    expect(await call(a, 'GET', 'sys/policies/acl', { token: lister })).toMatchObject({ status: 403, body: { errors: ['permission denied'] } });
    expect((await call(a, 'LIST', 'sys/policies/acl', { token: lister })).body.data.keys).toContain('default');
    const reader = await tokenWith(['reader']);
    expect(await call(a, 'GET', 'sys/policies/acl', { token: reader })).toMatchObject({ status: 405, body: { errors: ['unsupported operation'] } });
    expect((await call(a, 'GET', 'sys/policies/acl', { token: root })).status).toBe(405);
    // LIST sys/key-status (only read exists): the same order.
    expect((await call(a, 'LIST', 'sys/key-status', { token: lister })).status).toBe(403);
    expect((await call(a, 'LIST', 'sys/key-status', { token: reader })).status).toBe(405);
    // A sudo path: an operation it lacks still needs sudo before the 405.
    expect((await call(a, 'PUT', 'sys/audit', { token: reader })).status).toBe(403);
    expect((await call(a, 'PUT', 'sys/audit', { token: root })).status).toBe(405);
    // The paths Vault serves in its HTTP layer answer 405 before the token.
    expect(await call(a, 'GET', 'sys/seal')).toMatchObject({ status: 405, body: { errors: [] } });
    expect((await call(a, 'GET', 'sys/unseal')).status).toBe(405);
    expect((await call(a, 'DELETE', 'sys/seal-status')).status).toBe(405);
    expect((await call(a, 'GET', 'sys/rekey/update', { token: 'hvs.nosuchtoken' })).status).toBe(405);
    expect((await call(a, 'DELETE', 'sys/seal', { token: 'hvs.nosuchtoken' })).status).toBe(405);
  });

  it('the 405 is audited (request, then the response with the error) and spends one use of a limited token', async () => {
    const limited = await tokenWith(['reader'], { num_uses: 2 });
    expect((await call(a, 'GET', 'sys/policies/acl', { token: limited })).status).toBe(405);
    await until(async () => entries().some((e) => e.type === 'response' && e.request.path === 'sys/policies/acl' && e.error === 'unsupported operation'));
    const mine = entries().filter((e) => e.request.path === 'sys/policies/acl' && e.request.operation === 'read');
    expect(mine.map((e) => [e.type, e.error])).toEqual(
      expect.arrayContaining([
        ['request', undefined],
        ['response', 'unsupported operation'],
      ]),
    );
    // One use left: the next request is its last, after which the token is gone.
    expect((await call(a, 'GET', 'sys/key-status', { token: limited })).status).toBe(200);
    expect((await call(a, 'GET', 'sys/key-status', { token: limited })).status).toBe(403);
  });

  it('while sealed: 405 on the HTTP-layer paths, 503 on the others', async () => {
    expect((await call(a, 'PUT', 'sys/seal', { token: root })).status).toBe(204);
    try {
      expect((await call(a, 'GET', 'sys/seal')).status).toBe(405);
      expect((await call(a, 'GET', 'sys/policies/acl', { token: root })).status).toBe(503);
    } finally {
      expect((await call(a, 'PUT', 'sys/unseal', { body: { key: unsealKey } })).body.sealed).toBe(false);
    }
  });
});
