/** The sys seal API over HTTP against a server on its own database: wire shapes, status codes, limits. */
import { createTestDatabase } from '../support/database';
import { call, rawRequest } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('sys API over HTTP (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  let keys: string[];
  let rootToken: string;

  beforeAll(async () => {
    server = await startServerProcess({ databaseUrl: await createTestDatabase() });
    a = server.address;
  });
  afterAll(async () => server?.stop());

  it('before init: health 501, seal-status fields, uninitialised unseal refused', async () => {
    const health = await call(a, 'GET', 'sys/health');
    expect(health.status).toBe(501);
    expect(health.body).toMatchObject({ initialized: false, sealed: true, standby: false });
    expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await call(a, 'GET', 'sys/health?uninitcode=200')).status).toBe(200);
    const ss = (await call(a, 'GET', 'sys/seal-status')).body;
    for (const f of ['type', 'initialized', 'sealed', 't', 'n', 'progress', 'nonce', 'version', 'build_date', 'migration', 'recovery_seal', 'storage_type'])
      expect(ss).toHaveProperty(f);
    expect(ss).toMatchObject({ type: 'shamir', initialized: false, sealed: true, storage_type: 'postgresql' });
    expect((await call(a, 'PUT', 'sys/unseal', { body: { key: 'aa'.repeat(33) } })).body).toEqual({ errors: ['Vault is not initialized'] });
  });

  it('init validates its parameters with Vault messages', async () => {
    expect((await call(a, 'PUT', 'sys/init', { body: { secret_shares: 5, secret_threshold: 1 } })).body).toEqual({
      errors: ['threshold must be greater than one for multiple shares'],
    });
    expect((await call(a, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 4 } })).status).toBe(400);
    expect((await call(a, 'PUT', 'sys/init', { body: { secret_shares: 256, secret_threshold: 3 } })).status).toBe(400);
    expect((await call(a, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 2, pgp_keys: ['x', 'y', 'z'] } })).status).toBe(400);
    // Lenient body: JSON sent form-encoded (curl -d), numbers as strings.
    const init = await call(a, 'POST', 'sys/init', {
      rawBody: '{"secret_shares":"3","secret_threshold":"2"}',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(init.status).toBe(200);
    keys = init.body.keys;
    rootToken = init.body.root_token;
    expect((await call(a, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })).body).toEqual({ errors: ['Vault is already initialized'] });
  });

  it('sealed: 503 for everything but the unauthenticated sys endpoints', async () => {
    expect((await call(a, 'GET', 'sys/health')).status).toBe(503);
    expect((await call(a, 'GET', 'sys/health?sealedcode=299')).status).toBe(299);
    const sealed = await call(a, 'GET', 'sys/key-status', { token: rootToken });
    expect([sealed.body, sealed.headers.get('content-type')]).toEqual([{ errors: ['Vault is sealed'] }, 'application/json']);
    expect((await call(a, 'GET', 'sys/leader')).status).toBe(503);
    expect((await call(a, 'GET', 'secret/data/foo', { token: rootToken })).status).toBe(503);
  });

  it('wrong shares: "unseal failed, invalid key" and progress reset; field names are case-insensitive', async () => {
    const wrong = Buffer.from(keys[0], 'hex');
    wrong[5] ^= 0xff;
    expect((await call(a, 'PUT', 'sys/unseal', { body: { Key: keys[1] } })).body.progress).toBe(1);
    const bad = await call(a, 'PUT', 'sys/unseal', { body: { key: wrong.toString('hex') } });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ errors: ['unseal failed, invalid key'] });
    expect((await call(a, 'GET', 'sys/seal-status')).body.progress).toBe(0);
    expect((await call(a, 'PUT', 'sys/unseal', { body: {} })).status).toBe(400);
    await call(a, 'PUT', 'sys/unseal', { body: { key: keys[0] } });
    const done = await call(a, 'PUT', 'sys/unseal', { body: { key: keys[2] } });
    expect(done.body).toMatchObject({ sealed: false, progress: 0 });
    expect(done.body.cluster_name).toMatch(/^vault-cluster-/);
  });

  it('health codes and overrides when active; HEAD has no body', async () => {
    expect((await call(a, 'GET', 'sys/health')).status).toBe(200);
    expect((await call(a, 'GET', 'sys/health?activecode=204')).status).toBe(204);
    expect((await call(a, 'GET', 'sys/health?standbyok=true&perfstandbyok=true')).status).toBe(200);
    expect((await call(a, 'GET', 'sys/health?activecode=abc')).status).toBe(400);
    expect((await call(a, 'GET', 'sys/health?standbyok=maybe')).body).toEqual({ errors: ['bad value for standbyok parameter'] });
    const head = await call(a, 'HEAD', 'sys/health');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect((await call(a, 'GET', 'sys/leader')).body).toMatchObject({ ha_enabled: true, is_self: true, leader_address: a });
  });

  it('tokens: missing → 403, bad → 403 invalid token, 9 KB → 403, Bearer accepted', async () => {
    expect((await call(a, 'GET', 'sys/key-status')).body).toEqual({ errors: ['permission denied'] });
    expect((await call(a, 'GET', 'sys/key-status', { token: 'hvs.nope' })).body).toEqual({ errors: ['permission denied', 'invalid token'] });
    expect((await call(a, 'GET', 'sys/key-status', { token: 'hvs.' + 'x'.repeat(9 * 1024) })).status).toBe(403);
    const bearer = await call(a, 'GET', 'sys/key-status', { headers: { Authorization: `Bearer ${rootToken}` } });
    expect(bearer.status).toBe(200);
    expect(bearer.body).toMatchObject({
      term: 1,
      encryptions: expect.any(Number),
      data: { term: 1 },
      mount_type: 'system',
      wrap_info: null,
      auth: null,
      lease_id: '',
    });
    expect((await call(a, 'GET', 'no/such/mount', { token: rootToken })).status).toBe(404);
    expect((await call(a, 'GET', 'no/such/mount')).status).toBe(403);
  });

  it('rotate needs the root token and adds a term', async () => {
    expect((await call(a, 'PUT', 'sys/rotate')).status).toBe(403);
    expect((await call(a, 'PUT', 'sys/rotate', { token: rootToken })).status).toBe(204);
    expect((await call(a, 'GET', 'sys/key-status', { token: rootToken })).body.data.term).toBe(2);
  });

  it('LIST is accepted and treated as GET ?list=true', async () => {
    const viaList = await call(a, 'LIST', 'sys/key-status', { token: rootToken });
    const viaQuery = await call(a, 'GET', 'sys/key-status?list=true', { token: rootToken });
    expect(viaList.status).toBe(405);
    expect(viaQuery.status).toBe(405);
    const raw = await rawRequest(server.port, `LIST /v1/sys/seal-status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(raw.status).toBe(405);
    // `?list=` is a Go boolean: 1/t/TRUE list, 0/f/false read, anything else is a 400.
    expect((await call(a, 'GET', 'sys/policies/acl?list=1', { token: rootToken })).body.data.keys).toContain('default');
    expect((await call(a, 'GET', 'sys/policies/acl?list=T', { token: rootToken })).body.data.keys).toContain('default');
    expect((await call(a, 'GET', 'sys/key-status?list=0', { token: rootToken })).status).toBe(200);
    expect(await call(a, 'GET', 'sys/key-status?list=yes', { token: rootToken })).toMatchObject({ status: 400, body: { errors: [] } });
  });

  it('limits: 33 MB body → 413; deep JSON, 100k keys, __proto__ → 400; the server stays up', async () => {
    // Only the head is sent: the 413 comes back at once, so the server never waits for (or buffers) the body.
    const big = await rawRequest(
      server.port,
      `PUT /v1/sys/unseal HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${33 * 1024 * 1024}\r\n\r\n`,
    );
    expect([big.status, big.headers['content-type'], big.body]).toEqual([413, 'application/json', '{"errors":["http: request body too large"]}']);
    // Headers over Node's 16 KB: refused below the router, in Vault's shape too.
    const hugeHeaders = await rawRequest(server.port, `GET /v1/sys/health HTTP/1.1\r\nHost: x\r\nX-Padding: ${'x'.repeat(20 * 1024)}\r\n\r\n`);
    expect([hugeHeaders.status, hugeHeaders.headers['content-type'], hugeHeaders.body]).toEqual([
      431,
      'application/json',
      '{"errors":["request header fields too large"]}',
    ]);
    expect((await call(a, 'PUT', 'sys/unseal', { rawBody: '['.repeat(10_000) + ']'.repeat(10_000) })).status).toBe(400);
    const wide = '{' + Array.from({ length: 100_000 }, (_, i) => `"k${i}":1`).join(',') + '}';
    expect((await call(a, 'PUT', 'sys/unseal', { rawBody: wide })).body.errors[0]).toMatch(/entries/);
    expect((await call(a, 'PUT', 'sys/unseal', { rawBody: '{"__proto__":{"polluted":true},"key":"aa"}' })).status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await call(a, 'PUT', 'sys/unseal', { rawBody: '{not json' })).status).toBe(400);
    expect((await call(a, 'GET', 'sys/health')).status).toBe(200);
  });

  it('paths: dot segments, double slashes, encoded forms and backslashes → 400', async () => {
    for (const path of [
      '/v1/sys/../sys/seal',
      '/v1/sys/./seal',
      '/v1/sys//seal',
      '/v1/sys/%2e%2e/sys/seal',
      '/v1/sys%2Fseal',
      '/v1/sys\\seal',
      '/v1/sys/seal.',
    ]) {
      const res = await rawRequest(
        server.port,
        `PUT ${path} HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${rootToken}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
    }
    expect((await call(a, 'GET', 'sys/seal-status')).body.sealed).toBe(false);
  });

  it('rekey start/cancel need a sudo token; update is share-authorised; old shares refused after verification', async () => {
    expect((await call(a, 'PUT', 'sys/rekey/init', { body: { secret_shares: 2, secret_threshold: 2 } })).status).toBe(403);
    const started = await call(a, 'PUT', 'sys/rekey/init', { token: rootToken, body: { secret_shares: 2, secret_threshold: 2, require_verification: true } });
    expect(started.body).toMatchObject({ started: true, t: 2, n: 2, progress: 0, required: 2, verification_required: true });
    const nonce = started.body.nonce as string;
    // Without a token nobody can cancel it or start another.
    expect((await call(a, 'DELETE', 'sys/rekey/init')).status).toBe(403);
    expect((await call(a, 'GET', 'sys/rekey/init')).body).toMatchObject({ started: true, nonce });
    await call(a, 'PUT', 'sys/rekey/update', { body: { key: keys[0], nonce } });
    const done = await call(a, 'PUT', 'sys/rekey/update', { body: { key: keys[1], nonce } });
    expect(done.body).toMatchObject({ complete: true, verification_required: true });
    const newKeys = done.body.keys as string[];
    const vnonce = done.body.verification_nonce as string;
    expect((await call(a, 'GET', 'sys/rekey/verify')).body).toMatchObject({ nonce: vnonce, t: 2, n: 2, progress: 0 });
    await call(a, 'PUT', 'sys/rekey/verify', { body: { key: newKeys[0], nonce: vnonce } });
    expect((await call(a, 'PUT', 'sys/rekey/verify', { body: { key: newKeys[1], nonce: vnonce } })).body).toEqual({ nonce: vnonce, complete: true });

    expect((await call(a, 'PUT', 'sys/seal')).status).toBe(403);
    expect((await call(a, 'PUT', 'sys/seal', { token: rootToken })).status).toBe(204);
    await call(a, 'PUT', 'sys/unseal', { body: { key: keys[0] } });
    expect((await call(a, 'PUT', 'sys/unseal', { body: { key: keys[1] } })).body).toEqual({ errors: ['unseal failed, invalid key'] });
    await call(a, 'PUT', 'sys/unseal', { body: { key: newKeys[1] } });
    expect((await call(a, 'PUT', 'sys/unseal', { body: { key: newKeys[0] } })).body.sealed).toBe(false);
  });
});
