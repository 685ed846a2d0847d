/**
 * A canary secret sent through endpoints and error paths never appears in the audit log (every
 * audit table, the chained entry bytes, a file device), the server log (debug level) or an error
 * response (security.md "Audit"): KV, tokens, policies, cubbyhole, response wrapping, leases, the
 * seal's key-share steps, ACL refusals, and bad input at the pipeline and at the HTTP listener.
 * Auth methods and engines: audit-canary-engines.test.ts.
 *
 * Paths are not secret: Vault's audit entries carry the request path in clear, and so do ours, so
 * a value put in a path segment (a lease ID in sys/renew/<id>, a key name) is expected there in
 * clear; those requests use PATH_MARKER, not the canary, and the test checks the path is kept.
 */
import { buildConfig } from '../../src/config/config';
import { apiModuleFor, createApiServer, type HttpServerHandle } from '../../src/http/http-server';
import { createLogger } from '../../src/logger';
import { auditedPipeline, kernelPipeline, openAuditedKernel, type Call } from '../support/audit';
import { newCanary, watchCanary, type CanaryWatch } from '../support/canary';
import { rawRequest } from '../support/http';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

const CANARY = newCanary();
const PATH_MARKER = newCanary('path');

describe('audit canary (medium)', () => {
  let k: TestKernel;
  let call: Call;
  let rootToken: string;
  let watch: CanaryWatch;
  let secrets: CanaryWatch['secrets'];
  const logLines: string[] = [];
  const log = createLogger('debug', (line) => logLines.push(line));

  beforeAll(async () => {
    let plain: Call;
    ({ k, call: plain, rootToken } = await openAuditedKernel({ databaseDevice: true, log }));
    watch = await watchCanary(k, plain, CANARY, logLines);
    ({ call, secrets } = watch);
    expect((await call('PUT', 'sys/mounts/kv1', { type: 'kv', options: { version: '1' } })).status).toBe(204);
  });
  afterAll(async () => k?.close());

  it('KV v1/v2, tokens, policies, audit-hash, capabilities, unknown mount, malformed JSON', async () => {
    const requests: [string, string, unknown?, string?][] = [
      ['PUT', 'secret/data/c', { data: { password: CANARY, nested: [{ pin: CANARY }] } }],
      ['GET', 'secret/data/c'],
      ['PATCH', 'secret/data/c', { data: { other: CANARY } }],
      ['PUT', 'secret/data/c', { options: { cas: 1 }, data: { password: CANARY } }], // cas mismatch
      ['PUT', 'secret/data/c', { data: CANARY }], // not a map
      ['PUT', 'secret/metadata/c', { custom_metadata: { owner: CANARY } }],
      ['GET', 'secret/metadata/c'],
      ['GET', `secret/data/c?version=${CANARY}`],
      ['PUT', 'secret/data/d', `{"data": {"password": "${CANARY}"`], // malformed JSON
      ['PUT', 'kv1/c', { value: CANARY, ttl: CANARY }],
      ['PUT', 'kv1/d', { value: CANARY }],
      ['GET', 'kv1/d'],
      ['PUT', 'auth/token/create', { meta: { note: CANARY }, ttl: CANARY }],
      ['PUT', 'auth/token/lookup', { token: CANARY }],
      ['GET', 'auth/token/lookup-self', undefined, CANARY], // the canary as a token
      ['GET', 'secret/data/c', undefined, `hvs.${CANARY}`],
      ['PUT', 'sys/policies/acl/p', { policy: `# ${CANARY}\npath "secret/*" { capabilities = ["read"] }` }],
      ['GET', 'sys/policies/acl/p'],
      ['PUT', 'sys/policies/acl/q', { policy: `path "x" { capabilities = ["${CANARY}"] }` }], // bad policy
      ['PUT', 'sys/audit-hash/siem', { input: CANARY }],
      ['PUT', 'sys/capabilities-self', { paths: ['secret/data/c'], extra: CANARY }],
      ['PUT', 'no/such/mount', { value: CANARY }],
    ];
    for (const [method, url, body, token] of requests) await call(method, url, body, token);
    watch.keepAuth('child', await call('PUT', 'auth/token/create', { meta: { note: CANARY }, policies: ['default'] }));
    expect(watch.answers.filter((a) => a.status >= 400).length).toBeGreaterThanOrEqual(8);
    const [{ n }] = await k.dataSource.query('SELECT count(*)::int AS n FROM audit_logs');
    expect(n).toBeGreaterThan(2 * requests.length - 4);
    await watch.check();
  });

  it('cubbyhole write/read/list and response wrapping: wrap, lookup, rewrap, unwrap, spent and foreign tokens', async () => {
    const child = watch.keepAuth('cubbyhole owner', await call('PUT', 'auth/token/create', { policies: ['default'] }));
    expect((await call('PUT', 'cubbyhole/c', { secret: CANARY }, child)).status).toBe(204);
    expect((await call('GET', 'cubbyhole/c', undefined, child)).json.data).toEqual({ secret: CANARY });
    expect((await call('GET', 'cubbyhole/?list=true', undefined, child)).json.data.keys).toEqual(['c']);
    expect((await call('GET', 'cubbyhole/c')).status).toBe(404); // root's cubbyhole is another one
    expect((await call('PUT', 'cubbyhole/dir/', { secret: CANARY }, child)).status).toBe(400);
    expect((await call('PUT', 'cubbyhole/c', { secret: CANARY }, CANARY)).status).toBe(403);

    const wrap = async (name: string, method: string, url: string, body?: unknown) => {
      const res = await call(method, url, body, rootToken, { headers: { 'x-vault-wrap-ttl': '5m' } });
      expect(res.status).toBe(200);
      expect(res.body).not.toContain(CANARY);
      secrets[`${name} wrapping token`] = res.json.wrap_info.token;
      secrets[`${name} wrapping accessor`] = res.json.wrap_info.accessor;
      await watch.expectHashed(res.json.wrap_info.token);
      return res.json.wrap_info.token as string;
    };
    const first = await wrap('wrap', 'PUT', 'sys/wrapping/wrap', { secret: CANARY });
    expect((await call('PUT', 'sys/wrapping/lookup', { token: first }, '')).json.data).toMatchObject({ creation_path: 'sys/wrapping/wrap', creation_ttl: 300 });
    const rewrapped = await call('PUT', 'sys/wrapping/rewrap', { token: first }, '');
    expect(rewrapped.status).toBe(200);
    const second = rewrapped.json.wrap_info.token as string;
    secrets['rewrapped token'] = second;
    secrets['rewrapped accessor'] = rewrapped.json.wrap_info.accessor;
    expect((await call('PUT', 'sys/wrapping/unwrap', { token: first }, '')).status).toBe(400); // spent by the rewrap
    expect((await call('PUT', 'sys/wrapping/unwrap', undefined, first)).status).toBe(403);
    expect((await call('PUT', 'sys/wrapping/unwrap', { token: second }, '')).json.data).toEqual({ secret: CANARY });
    expect((await call('PUT', 'sys/wrapping/unwrap', { token: second }, '')).status).toBe(400);
    expect((await call('PUT', 'sys/wrapping/rewrap', { token: second }, '')).status).toBe(400);
    for (const url of ['sys/wrapping/unwrap', 'sys/wrapping/lookup', 'sys/wrapping/rewrap']) {
      expect((await call('PUT', url, { token: CANARY }, '')).status).toBe(400);
      expect((await call('PUT', url, undefined, CANARY)).status).toBe(403);
    }
    // A wrapped KV read: the client gets only wrap_info; the unwrap hands the secret to its holder.
    expect((await call('PUT', 'secret/data/wrapped', { data: { password: CANARY } })).status).toBe(200);
    const kv = await wrap('kv read', 'GET', 'secret/data/wrapped');
    expect((await call('PUT', 'sys/wrapping/unwrap', undefined, kv)).json.data.data).toEqual({ password: CANARY });
    expect((await call('PUT', 'sys/wrapping/wrap', {})).status).toBe(400);
    for (const ttl of [CANARY, `${CANARY}s`, '-5m']) {
      expect((await call('PUT', 'sys/wrapping/wrap', { secret: CANARY }, rootToken, { headers: { 'x-vault-wrap-ttl': ttl } })).status).toBe(400);
    }
    await watch.check();
  });

  it('leases with the canary as lease ID; unseal, rekey and generate-root steps with the canary as the key', async () => {
    expect((await call('PUT', 'sys/leases/lookup', { lease_id: CANARY })).json.errors).toEqual(['invalid lease']);
    expect((await call('PUT', 'sys/leases/renew', { lease_id: CANARY, increment: '1h' })).status).toBe(400);
    expect((await call('PUT', 'sys/leases/renew', { lease_id: CANARY, increment: CANARY })).status).toBe(400);
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: CANARY })).status).toBeLessThan(500);
    expect((await call('GET', `sys/leases?type=irrevocable&limit=${CANARY}`)).status).toBe(400);
    expect((await call('GET', `sys/leases?type=${CANARY}`)).status).toBe(400);
    // In the path the lease ID is a path, in clear as in Vault (see the file comment).
    expect((await call('PUT', `sys/renew/${PATH_MARKER}`)).status).toBe(400);
    expect((await call('PUT', `sys/revoke/${PATH_MARKER}`)).status).toBeLessThan(500);
    const [{ n }] = await k.dataSource.query('SELECT count(*)::int AS n FROM audit_logs WHERE secret_path = $1', [`sys/renew/${PATH_MARKER}`]);
    expect(n).toBeGreaterThan(0);

    // Unsealed: a submitted share changes nothing; the other steps fail, none echoes the key.
    const unseal = await call('PUT', 'sys/unseal', { key: CANARY }, '');
    expect([unseal.status, unseal.json.sealed]).toEqual([200, false]);
    expect(unseal.body).not.toContain(CANARY);
    expect((await call('PUT', 'sys/unseal', { key: CANARY, reset: true }, '')).status).toBe(400);
    expect((await call('PUT', 'sys/unseal', { key: CANARY, migrate: true }, '')).status).toBe(400);
    for (const url of ['sys/rekey/update', 'sys/rekey/verify', 'sys/rekey-recovery-key/update', 'sys/rekey-recovery-key/verify'])
      expect((await call('PUT', url, { key: CANARY, nonce: CANARY }, '')).status).toBe(400);
    expect((await call('DELETE', `sys/rekey/init?nonce=${CANARY}`)).status).toBeLessThan(500);
    expect((await call('PUT', 'sys/rekey/init', { secret_shares: CANARY, pgp_keys: [CANARY] })).status).toBe(400);
    expect((await call('PUT', 'sys/rekey-recovery-key/init', { secret_shares: CANARY, pgp_keys: [CANARY] })).status).toBe(400);
    // generate-root refuses each step (no attempt, OTP of the wrong length, PGP), with or without a token, never echoing the value.
    for (const [url, body] of [
      ['sys/generate-root/update', { key: CANARY, nonce: CANARY }],
      ['sys/generate-root/attempt', { otp: CANARY }],
      ['sys/generate-root/attempt', { pgp_key: CANARY }],
    ] as const) {
      for (const token of [undefined, ''] as const) {
        const answer = await call('PUT', url, body, token);
        expect(answer.status).toBe(400);
        expect(answer.body).not.toContain(CANARY);
      }
    }
    await watch.check();
  });

  it('ACL refusals: a limited token writing the canary where it may not, or with denied parameters', async () => {
    const policy = [
      'path "secret/data/limited/*" { capabilities = ["read"] }',
      'path "kv1/params/*" {',
      '  capabilities = ["create", "update", "read"]',
      '  denied_parameters = { "password" = [] }',
      '  allowed_parameters = { "value" = ["ok"], "password" = [] }',
      '}',
    ].join('\n');
    expect((await call('PUT', 'sys/policies/acl/limited', { policy })).status).toBe(204);
    const limited = watch.keepAuth('limited', await call('PUT', 'auth/token/create', { policies: ['limited'] }));
    const refused: [string, string, unknown][] = [
      ['PUT', 'secret/data/limited/x', { data: { password: CANARY } }],
      ['PUT', 'secret/data/elsewhere', { data: { password: CANARY } }],
      ['PATCH', 'secret/data/limited/x', { data: { password: CANARY } }],
      ['PUT', 'kv1/params/a', { password: CANARY }],
      ['PUT', 'kv1/params/a', { value: CANARY }],
      ['PUT', 'kv1/elsewhere', { value: CANARY }],
      ['PUT', 'sys/policies/acl/evil', { policy: `# ${CANARY}` }],
      ['PUT', 'auth/token/create', { meta: { note: CANARY } }],
      ['PUT', 'sys/audit-hash/siem', { input: CANARY }],
      ['PUT', 'no/such/mount', { value: CANARY }],
      ['GET', `kv1/elsewhere?x=${CANARY}`, undefined],
    ];
    for (const [method, url, body] of refused) {
      const res = await call(method, url, body, limited, method === 'PATCH' ? { headers: { 'content-type': 'application/merge-patch+json' } } : {});
      expect([method, url, res.status, res.json.errors]).toEqual([method, url, 403, ['permission denied']]);
    }
    expect((await call('PUT', 'kv1/params/a', { value: 'ok' }, limited)).status).toBe(204);
    await watch.check();
  });

  it('bad input at the pipeline: method, content type, list flag, form and JSON limits, token headers, user agent, forwarded-for', async () => {
    const expectStatus = async (status: number, ...args: Parameters<Call>) =>
      expect([args[0], args[1], (await call(...args)).status]).toEqual([args[0], args[1], status]);
    await expectStatus(405, 'PROPFIND', 'secret/data/c', { data: { password: CANARY } });
    await expectStatus(405, 'DELETE', 'sys/wrapping/unwrap', { token: CANARY });
    await expectStatus(415, 'PATCH', 'secret/data/c', { data: { password: CANARY } });
    await expectStatus(400, 'PATCH', 'secret/data/c', { data: { password: CANARY } }, rootToken, { headers: { 'content-type': '' } });
    await expectStatus(400, 'GET', `secret/metadata/?list=${CANARY}`);
    await expectStatus(200, 'GET', `secret/metadata/?list=true&after=a&limit=${CANARY}`); // a bad limit is ignored
    await expectStatus(200, 'GET', `kv1/d?extra=${CANARY}&list=false`);
    // Form bodies: values are data (HMAC'd); a refused key is named, its value is not.
    const form = { headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    await expectStatus(204, 'PUT', 'kv1/form', `password=${CANARY}`, rootToken, form);
    await expectStatus(400, 'PUT', 'kv1/form', `__proto__=${CANARY}`, rootToken, form);
    await expectStatus(400, 'PUT', 'kv1/deep', `${'{"a":'.repeat(400)}"${CANARY}"${'}'.repeat(400)}`);
    await expectStatus(400, 'PUT', 'kv1/proto', `{"__proto__": {"password": "${CANARY}"}}`);
    // Tokens: the canary as a bearer token, an oversized token, a token with spaces.
    await expectStatus(403, 'GET', 'auth/token/lookup-self', undefined, '', { headers: { authorization: `Bearer ${CANARY}` } });
    await expectStatus(403, 'PUT', 'secret/data/c', { data: { password: CANARY } }, '', { headers: { authorization: `Bearer hvs.${CANARY}` } });
    await expectStatus(403, 'GET', 'secret/data/c', undefined, `hvs.${CANARY.repeat(300)}`);
    await expectStatus(403, 'GET', 'secret/data/c', undefined, ` ${CANARY} `);
    await expectStatus(403, 'GET', 'secret/data/c', undefined, '');
    // User agent and X-Forwarded-For (not trusted by default: ignored) on a good and a refused request.
    const headers = { 'user-agent': CANARY, 'x-forwarded-for': CANARY };
    await expectStatus(200, 'GET', 'secret/data/c', undefined, rootToken, { headers });
    await expectStatus(404, 'GET', 'secret/data/none', undefined, rootToken, { headers });
    await expectStatus(403, 'GET', 'secret/data/c', undefined, CANARY, { headers });
    // Behind a trusted proxy: a forwarded address that is no address is refused without echoing it.
    const trusted = buildConfig({ listener: { tcp: { address: '127.0.0.1:8200', x_forwarded_for_authorized_addrs: '192.0.2.0/24' } } }, {}, {}).listener;
    const proxied = watchRecorded(auditedPipeline(k, rootToken, log, trusted));
    for (const xff of [CANARY, `203.0.113.7, ${CANARY}`, `[${CANARY}]`]) {
      expect((await proxied('GET', 'secret/data/c', undefined, rootToken, { headers: { 'x-forwarded-for': xff, 'user-agent': CANARY } })).status).toBe(400);
    }
    expect((await proxied('GET', 'secret/data/c', undefined, rootToken, { headers: { 'x-forwarded-for': `${CANARY}, 203.0.113.7` } })).status).toBe(200);
    // A value in a path segment is a path, kept in clear (see the file comment).
    await expectStatus(404, 'GET', `secret/data/${PATH_MARKER}`);
    const [{ n }] = await k.dataSource.query('SELECT count(*)::int AS n FROM audit_logs WHERE secret_path = $1', [`secret/data/${PATH_MARKER}`]);
    expect(n).toBeGreaterThan(0);
    await watch.check();
  });

  /** `c`, with its answers recorded as the watch's (so `check` sees its errors too). */
  function watchRecorded(c: Call): Call {
    return async (...args) => {
      const res = await c(...args);
      watch.answers.push({ method: args[0], url: args[1], status: res.status, body: res.body ?? '' });
      return res;
    };
  }

  it('bad input at the HTTP listener: 413 body with the canary (sized and chunked), unknown methods, malformed URLs', async () => {
    const listener = buildConfig({ listener: { tcp: { max_request_size: 4096 } } }, {}, { listen: '127.0.0.1:0' }).listener;
    let server: HttpServerHandle | undefined;
    try {
      server = await createApiServer(apiModuleFor(kernelPipeline(k, log, listener)), listener, log);
      const port = Number(new URL(await server.listen()).port);
      // The client keeps its side open until the answer (Node's server drops a slow answer to a half-closed connection).
      const send = async (label: string, request: string, halfClose = false) => {
        const res = await rawRequest(port, request, { halfClose });
        // The whole answer, status line and headers included, is what the client sees.
        watch.answers.push({ method: label, url: request.split('\r\n')[0], status: res.status, body: res.text });
        return res;
      };
      const big = JSON.stringify({ data: { password: CANARY, padding: CANARY.repeat(300) } });
      const head = (method: string, path: string, extra = '') =>
        `${method} /v1/${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: ${rootToken}\r\nContent-Type: application/json\r\nConnection: close\r\n${extra}`;
      const sized = await send('413 sized', `${head('PUT', 'secret/data/big', `Content-Length: ${big.length}\r\n`)}\r\n${big}`);
      expect(sized.status).toBe(413);
      expect(sized.text).toMatch(/body (is )?too large/i);
      const chunks = [big.slice(0, 3000), big.slice(3000)].map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('');
      expect((await send('413 chunked', `${head('PUT', 'secret/data/big', 'Transfer-Encoding: chunked\r\n')}\r\n${chunks}0\r\n\r\n`)).status).toBe(413);
      const small = JSON.stringify({ data: { password: CANARY } });
      const withBody = (method: string, path: string) => `${head(method, path, `Content-Length: ${small.length}\r\n`)}\r\n${small}`;
      expect((await send('PROPFIND', withBody('PROPFIND', 'secret/data/c'))).status).toBeGreaterThanOrEqual(400);
      expect((await send('OPTIONS', withBody('OPTIONS', 'secret/data/c'))).status).toBeGreaterThanOrEqual(400);
      expect((await send('LIST', withBody('LIST', `secret/metadata/empty/?after=${CANARY}`))).status).toBe(404);
      // A target that does not decode is refused before routing; the answer must not echo it (its query may hold secrets).
      const badEscape = await send('bad escape', withBody('GET', `secret/data/%E0%A4%A?version=${CANARY}`));
      expect([badEscape.status, badEscape.text.slice(badEscape.text.indexOf('\r\n\r\n') + 4)]).toEqual([
        400,
        JSON.stringify({ errors: ['malformed request URL'] }),
      ]);
      expect((await send('bad escape in a long path', withBody('GET', `secret/data/${'a'.repeat(300)}%zz?version=${CANARY}`))).status).toBe(400);
      expect((await send('bad query', withBody('GET', `secret/data/c?version=%${CANARY}`))).status).toBe(400);
      expect(
        (
          await send(
            'bearer',
            `GET /v1/secret/data/c HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${CANARY}\r\nUser-Agent: ${CANARY}\r\nConnection: close\r\n\r\n`,
          )
        ).status,
      ).toBe(403);
      // A body shorter than its Content-Length, then the client's end: no answer, or a 4xx without the body.
      expect((await send('short body', `${head('PUT', 'secret/data/c', `Content-Length: ${small.length + 50}\r\n`)}\r\n${small}`, true)).status).not.toBe(200);
    } finally {
      await server?.close();
    }
    await watch.check();
  });
});
