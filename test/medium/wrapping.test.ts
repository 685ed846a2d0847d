/**
 * Response wrapping, the cubbyhole engine and X-Forwarded-For on a real kernel and PostgreSQL,
 * through the audited pipeline.
 */
import { buildConfig } from '../../src/config/config';
import { createLogger } from '../../src/logger';
import { auditedPipeline, openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const INVALID = 'wrapping token is not valid or does not exist';

describe('response wrapping and cubbyhole (medium)', () => {
  let k: TestKernel;
  let call: Call;
  let rootToken: string;
  beforeAll(async () => {
    ({ k, call, rootToken } = await openAuditedKernel({ databaseDevice: true }));
    expect((await call('PUT', 'secret/data/app', { data: { password: 'wrapped-canary' } })).status).toBe(200);
  });
  afterAll(async () => k.close());

  const child = async (policies: string[] = ['default']) => (await call('PUT', 'auth/token/create', { policies })).json.auth.client_token as string;

  it("cubbyhole: a token's own storage, invisible to every other token (root too), gone with the token", async () => {
    const alice = await child();
    expect((await call('PUT', 'cubbyhole/notes/a', { v: 'mine' }, alice)).status).toBe(204);
    expect((await call('GET', 'cubbyhole/notes/a', undefined, alice)).json.data).toEqual({ v: 'mine' });
    expect((await call('GET', 'cubbyhole/?list=true', undefined, alice)).json.data.keys).toEqual(['notes/']);
    expect((await call('GET', 'cubbyhole/notes?list=true', undefined, alice)).json.data.keys).toEqual(['a']);
    expect((await call('GET', 'cubbyhole/notes/a')).status).toBe(404); // root's own cubbyhole is another one
    expect((await call('GET', 'cubbyhole/notes/a', undefined, await child())).status).toBe(404);
    const [{ n }] = await k.dataSource.query(
      "SELECT count(*)::int AS n FROM cubbyhole_entries WHERE position(convert_to('mine', 'UTF8') IN value_ciphertext) > 0",
    );
    expect(n).toBe(0); // barrier ciphertext
    expect((await call('PUT', 'auth/token/revoke-self', undefined, alice)).status).toBe(204);
    expect(await k.dataSource.query('SELECT 1 FROM cubbyhole_entries e JOIN tokens t USING (token_hmac)')).toHaveLength(0);
    const batch = (await call('PUT', 'auth/token/create', { policies: ['default'], type: 'batch', ttl: '1h' })).json.auth.client_token as string;
    expect((await call('PUT', 'cubbyhole/x', { v: 1 }, batch)).status).toBe(400);
  });

  it('X-Vault-Wrap-TTL wraps a read: the client gets wrap_info only, and the token unwraps once', async () => {
    const wrapped = await call('GET', 'secret/data/app', undefined, rootToken, { headers: { 'x-vault-wrap-ttl': '5m' } });
    expect(wrapped.status).toBe(200);
    expect(wrapped.json).toMatchObject({
      data: null,
      auth: null,
      wrap_info: { ttl: 300, creation_path: 'secret/data/app', token: expect.stringMatching(/^hvs\./), accessor: expect.any(String) },
    });
    expect(wrapped.body).not.toContain('wrapped-canary');
    const token = wrapped.json.wrap_info.token as string;

    // The wrapping token is good for nothing else.
    expect((await call('GET', 'secret/data/app', undefined, token)).status).toBe(403);
    expect((await call('GET', 'cubbyhole/response', undefined, token)).status).toBe(403);
    expect((await call('PUT', 'sys/wrapping/lookup', { token }, '')).json.data).toMatchObject({ creation_path: 'secret/data/app', creation_ttl: 300 });

    const unwrapped = await call('PUT', 'sys/wrapping/unwrap', undefined, token);
    expect(unwrapped.status).toBe(200);
    expect(unwrapped.json.data.data).toEqual({ password: 'wrapped-canary' });
    // Spent: as the request's token it is no token at all (403); in the body, not a wrapping token (400).
    expect((await call('PUT', 'sys/wrapping/unwrap', undefined, token)).status).toBe(403);
    const again = await call('PUT', 'sys/wrapping/unwrap', { token });
    expect([again.status, again.json.errors]).toEqual([400, [INVALID]]);
    expect((await call('PUT', 'sys/wrapping/lookup', { token }, '')).json.errors).toEqual([INVALID]);
  });

  it('of concurrent unwraps of one token exactly one succeeds', async () => {
    const token = (await call('GET', 'secret/data/app', undefined, rootToken, { headers: { 'x-vault-wrap-ttl': '60' } })).json.wrap_info.token as string;
    const results = await Promise.all(Array.from({ length: 20 }, () => call('PUT', 'sys/wrapping/unwrap', { token })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && r.json.errors[0] === INVALID)).toHaveLength(19);
  });

  it('sys/wrapping/wrap (default 5m), rewrap (the old token is spent) and unwrap with the token in the body', async () => {
    const wrapped = await call('PUT', 'sys/wrapping/wrap', { api_key: 'k-123' });
    expect(wrapped.json.wrap_info).toMatchObject({ ttl: 300, creation_path: 'sys/wrapping/wrap' });
    const old = wrapped.json.wrap_info.token as string;
    const rewrapped = await call('PUT', 'sys/wrapping/rewrap', { token: old });
    expect(rewrapped.json.wrap_info).toMatchObject({ ttl: 300, creation_path: 'sys/wrapping/wrap' });
    expect((await call('PUT', 'sys/wrapping/unwrap', { token: old })).json.errors).toEqual([INVALID]);
    expect((await call('PUT', 'sys/wrapping/unwrap', { token: rewrapped.json.wrap_info.token })).json.data).toEqual({ api_key: 'k-123' });
    expect((await call('PUT', 'sys/wrapping/wrap', {})).status).toBe(400);
  });

  it('an expired wrapping token unwraps nothing; a bad TTL header is a 400; ttl 0 means no wrapping', async () => {
    const token = (await call('GET', 'secret/data/app', undefined, rootToken, { headers: { 'x-vault-wrap-ttl': '1s' } })).json.wrap_info.token as string;
    await sleep(1200);
    expect((await call('PUT', 'sys/wrapping/unwrap', { token })).json.errors).toEqual([INVALID]);
    const bad = await call('GET', 'secret/data/app', undefined, rootToken, { headers: { 'x-vault-wrap-ttl': 'soon' } });
    expect([bad.status, bad.json.errors]).toEqual([400, ['error parsing wrap TTL: not a duration']]);
    expect((await call('GET', 'secret/data/app', undefined, rootToken, { headers: { 'x-vault-wrap-ttl': '0' } })).json.data.data).toEqual({
      password: 'wrapped-canary',
    });
  });

  it('wraps a token creation (wrapped_accessor names the new token) and records wrap_info hashed in the audit log', async () => {
    const wrapped = await call('PUT', 'auth/token/create', { policies: ['default'] }, rootToken, { headers: { 'x-vault-wrap-ttl': '2m' } });
    const info = wrapped.json.wrap_info;
    expect(info.wrapped_accessor).toEqual(expect.any(String));
    expect(info.wrapped_accessor).not.toBe('');
    const created = (await call('PUT', 'sys/wrapping/unwrap', { token: info.token })).json.auth;
    expect(created.accessor).toBe(info.wrapped_accessor);
    const rows: { entry_bytes: Buffer }[] = await k.dataSource.query(
      "SELECT entry_bytes FROM audit_logs WHERE event_data #> '{response,status_code}' IS NOT NULL ORDER BY sequence_number DESC LIMIT 40",
    );
    const text = rows.map((r) => r.entry_bytes.toString('utf8')).join('\n');
    expect(text).toContain('"wrap_info":{"accessor":"hmac-sha256:');
    for (const secret of [info.token, info.accessor, created.client_token, 'wrapped-canary']) expect(text).not.toContain(secret);
  });

  it('the response-wrapping policy name is reserved', async () => {
    expect((await call('PUT', 'sys/policies/acl/response-wrapping', { policy: 'path "*" { capabilities = ["read"] }' })).status).toBe(400);
  });
});

describe('X-Forwarded-For (medium)', () => {
  let k: TestKernel;
  let rootToken: string;
  beforeAll(async () => ({ k, rootToken } = await openAuditedKernel()));
  afterAll(async () => k.close());

  it('is honoured only from trusted proxies: bound CIDRs see the forwarded address, others are refused or ignored', async () => {
    const trusted = buildConfig({ listener: { tcp: { address: '127.0.0.1:8200', x_forwarded_for_authorized_addrs: '10.0.0.0/8' } } }, {}, {}).listener;
    const viaProxy = auditedPipeline(k, rootToken, createLogger('error'), trusted);
    const direct = auditedPipeline(k, rootToken);
    const bound = (await direct('PUT', 'auth/token/create', { policies: ['default'], bound_cidrs: ['203.0.113.0/24'] })).json.auth.client_token as string;
    const lookup = (c: Call, remoteAddress: string, xff?: string) =>
      c('GET', 'auth/token/lookup-self', undefined, bound, { remoteAddress, headers: xff ? { 'x-forwarded-for': xff } : {} });

    expect((await lookup(viaProxy, '10.1.2.3', '198.51.100.1, 203.0.113.9')).status).toBe(200);
    const untrusted = await lookup(viaProxy, '192.0.2.1', '203.0.113.9');
    expect([untrusted.status, untrusted.json.errors]).toEqual([
      400,
      ['client address not authorized for x-forwarded-for and configuration set to reject connection'],
    ]);
    expect((await lookup(viaProxy, '10.1.2.3')).status).toBe(400); // reject_not_present
    // Without trusted proxies the header is ignored: the connection's address is outside the bound CIDRs.
    expect((await lookup(direct, '192.0.2.1', '203.0.113.9')).status).toBe(403);
  });
});
