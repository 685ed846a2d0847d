/** sys/mounts, sys/auth and KV v1 over HTTP: Vault's shapes and errors, routing, tune, disable removes data. */
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('mounts API (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  const token = 'hvs.mounttestroot';

  beforeAll(async () => {
    server = await startServerProcess({
      databaseUrl: await createTestDatabase(),
      args: ['--dev', '--dev-root-token-id', token],
      readyText: 'should NOT be used',
    });
    a = server.address;
  });
  afterAll(async () => server?.stop());

  it('lists sys/ and token/ with Vault MountOutput fields, at the top level and under data', async () => {
    const mounts = await call(a, 'GET', 'sys/mounts', { token });
    expect(mounts.status).toBe(200);
    const sys = mounts.body.data['sys/'];
    expect(sys).toMatchObject({ type: 'system', local: false, seal_wrap: false, config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false } });
    expect(sys.accessor).toMatch(/^system_[0-9a-f]{8}$/);
    expect(sys.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(mounts.body['sys/']).toEqual(sys);
    expect(mounts.body.mount_type).toBe('system');
    const auth = await call(a, 'GET', 'sys/auth', { token });
    expect(auth.body.data['token/']).toMatchObject({ type: 'token', config: { token_type: 'default-service' } });
    expect(auth.body.data['token/'].accessor).toMatch(/^auth_token_[0-9a-f]{8}$/);
  });

  it('options: {} for a mount enabled without options (Vault stores its field zero value), null for the built-in mounts', async () => {
    expect((await call(a, 'POST', 'sys/mounts/bare-pki', { token, body: { type: 'pki' } })).status).toBe(204);
    expect((await call(a, 'POST', 'sys/auth/bare-up', { token, body: { type: 'userpass' } })).status).toBe(204);
    expect((await call(a, 'GET', 'sys/mounts/bare-pki', { token })).body.data.options).toEqual({});
    const mounts = (await call(a, 'GET', 'sys/mounts', { token })).body.data;
    expect([mounts['bare-pki/'].options, mounts['sys/'].options, mounts['cubbyhole/'].options, mounts['secret/'].options]).toEqual([
      {},
      null,
      null,
      { version: '2' },
    ]);
    const auth = (await call(a, 'GET', 'sys/auth', { token })).body.data;
    expect([auth['bare-up/'].options, auth['token/'].options]).toEqual([{}, null]);
    expect((await call(a, 'GET', 'sys/internal/ui/mounts/bare-pki', { token })).body.data.options).toEqual({});
  });

  it('enables kv (and the kv-v1 pseudo-type), routes by longest prefix, reads the mount back', async () => {
    expect(
      (await call(a, 'POST', 'sys/mounts/team/kv', { token, body: { type: 'kv', description: 'team', config: { default_lease_ttl: '1h' } } })).status,
    ).toBe(204);
    expect((await call(a, 'POST', 'sys/mounts/v1kv', { token, body: { type: 'kv-v1' } })).status).toBe(204);
    const one = await call(a, 'GET', 'sys/mounts/team/kv', { token });
    expect(one.body.data).toMatchObject({ type: 'kv', description: 'team', config: { default_lease_ttl: 3600, max_lease_ttl: 0 } });
    expect((await call(a, 'GET', 'sys/mounts/v1kv', { token })).body.data.options).toEqual({ version: '1' });

    expect((await call(a, 'PUT', 'team/kv/app/db', { token, body: { password: 's3cret', ttl: '30m' } })).status).toBe(204);
    expect((await call(a, 'PUT', 'team/kv/app/api', { token, body: { key: 'k' } })).status).toBe(204);
    expect((await call(a, 'PUT', 'team/kv/top', { token, body: { a: 1 } })).status).toBe(204);
    const read = await call(a, 'GET', 'team/kv/app/db', { token });
    expect(read.body).toMatchObject({ data: { password: 's3cret', ttl: '30m' }, lease_duration: 1800, lease_id: '', renewable: false, mount_type: 'kv' });
    expect((await call(a, 'GET', 'team/kv/top', { token })).body.lease_duration).toBe(3600);
    expect((await call(a, 'LIST', 'team/kv/app', { token })).body.data.keys).toEqual(['api', 'db']);
    expect((await call(a, 'GET', 'team/kv?list=true', { token })).body.data.keys).toEqual(['app/', 'top']);
    expect(await call(a, 'LIST', 'team/kv/none', { token })).toMatchObject({ status: 404, body: { errors: [] } });
    expect(await call(a, 'GET', 'team/kv/missing', { token })).toMatchObject({ status: 404, body: { errors: [] } });
    // `team/kvx/...` is not under `team/kv/`: whole segments only.
    expect((await call(a, 'GET', 'team/kvx/app/db', { token })).body.errors[0]).toContain('no handler for route');
    // The same key in another mount is another secret.
    expect((await call(a, 'GET', 'v1kv/app/db', { token })).status).toBe(404);
    expect((await call(a, 'DELETE', 'team/kv/app/api', { token })).status).toBe(204);
    expect((await call(a, 'LIST', 'team/kv/app', { token })).body.data.keys).toEqual(['db']);
    expect((await call(a, 'PUT', 'team/kv/app/', { token, body: { a: 1 } })).status).toBe(400);
    expect((await call(a, 'PUT', 'team/kv/empty', { token, body: {} })).status).toBe(400);
  });

  it('refuses conflicting, nested, protected and unknown mounts with Vault messages', async () => {
    await call(a, 'POST', 'sys/mounts/dup', { token, body: { type: 'kv' } });
    expect(await call(a, 'POST', 'sys/mounts/dup', { token, body: { type: 'kv' } })).toMatchObject({
      status: 409,
      body: { errors: ['path is already in use at dup/'] },
    });
    expect(await call(a, 'POST', 'sys/mounts/dup/inner', { token, body: { type: 'kv' } })).toMatchObject({
      status: 409,
      body: { errors: ['path is already in use at dup/'] },
    });
    expect(await call(a, 'POST', 'sys/mounts/team', { token, body: { type: 'kv' } })).toMatchObject({
      status: 409,
      body: { errors: ['path is already in use at team/kv/'] },
    });
    for (const p of ['sys/x', 'auth/x', 'cubbyhole', 'identity', 'audit'])
      expect((await call(a, 'POST', `sys/mounts/${p}`, { token, body: { type: 'kv' } })).status).toBe(403);
    expect(await call(a, 'POST', 'sys/mounts/x', { token, body: { type: 'nope' } })).toMatchObject({
      status: 400,
      body: { errors: ['plugin not found in the catalog: nope'] },
    });
    expect((await call(a, 'POST', 'sys/mounts/x', { token, body: { type: 'system' } })).status).toBe(403);
    expect((await call(a, 'POST', 'sys/mounts/x', { token, body: {} })).body.errors).toEqual(['backend type must be specified as a string']);
    expect((await call(a, 'POST', 'sys/auth/x', { token, body: { type: 'token' } })).body.errors).toEqual(['token credential backend cannot be instantiated']);
    expect(
      (await call(a, 'POST', 'sys/mounts/x', { token, body: { type: 'kv', config: { default_lease_ttl: '2h', max_lease_ttl: '1h' } } })).body.errors,
    ).toEqual(['given default lease TTL greater than given max lease TTL']);
    expect((await call(a, 'POST', 'sys/mounts/x', { token, body: { type: 'kv', config: { default_lease_ttl: 'soon' } } })).status).toBe(400);
    expect((await call(a, 'DELETE', 'sys/mounts/sys', { token })).status).toBe(400);
    expect((await call(a, 'DELETE', 'sys/auth/token', { token })).body.errors).toEqual(['token credential backend cannot be disabled']);
    // Disabling what is not mounted is a 204, as in Vault.
    expect((await call(a, 'DELETE', 'sys/mounts/never-mounted', { token })).status).toBe(204);
    expect((await call(a, 'GET', 'sys/mounts', { token })).body.data['x/']).toBeUndefined();
  });

  it('tunes TTLs and description; reads effective values; warns about unknown parameters', async () => {
    await call(a, 'POST', 'sys/mounts/tuned', { token, body: { type: 'kv' } });
    expect((await call(a, 'GET', 'sys/mounts/tuned/tune', { token })).body.data).toEqual({
      default_lease_ttl: 2764800,
      max_lease_ttl: 2764800,
      force_no_cache: false,
      description: '',
    });
    const tuned = await call(a, 'POST', 'sys/mounts/tuned/tune', {
      token,
      body: { default_lease_ttl: '10m', max_lease_ttl: 7200, description: 'tuned', colour: 'red' },
    });
    expect(tuned.status).toBe(200);
    expect(tuned.body.warnings).toEqual(['Endpoint ignored these unrecognized parameters: [colour]']);
    expect((await call(a, 'GET', 'sys/mounts/tuned/tune', { token })).body.data).toEqual({
      default_lease_ttl: 600,
      max_lease_ttl: 7200,
      force_no_cache: false,
      description: 'tuned',
    });
    expect((await call(a, 'POST', 'sys/mounts/tuned/tune', { token, body: { default_lease_ttl: '3h' } })).body.errors).toEqual([
      'given default lease TTL greater than given max lease TTL',
    ]);
    expect((await call(a, 'POST', 'sys/mounts/tuned/tune', { token, body: { listing_visibility: 'loud' } })).status).toBe(400);
    expect((await call(a, 'POST', 'sys/mounts/tuned/tune', { token, body: { options: { version: '3' } } })).status).toBe(400);
    expect((await call(a, 'POST', 'sys/mounts/tuned/tune', { token, body: { default_lease_ttl: 'system' } })).status).toBe(204);
    expect((await call(a, 'GET', 'sys/mounts/tuned', { token })).body.data.config.default_lease_ttl).toBe(0);
  });

  it('disabling a mount removes its data: re-enabling at the same path starts empty', async () => {
    await call(a, 'POST', 'sys/mounts/gone', { token, body: { type: 'kv' } });
    await call(a, 'PUT', 'gone/k', { token, body: { v: 'x' } });
    expect((await call(a, 'DELETE', 'sys/mounts/gone', { token })).status).toBe(204);
    expect((await call(a, 'GET', 'gone/k', { token })).status).toBe(404);
    await call(a, 'POST', 'sys/mounts/gone', { token, body: { type: 'kv' } });
    expect((await call(a, 'GET', 'gone/k', { token })).status).toBe(404);
  });

  it('sys/internal/ui/mounts shows a mount only to tokens with access under it, with the same 403 otherwise', async () => {
    await call(a, 'POST', 'sys/mounts/ui', { token, body: { type: 'kv-v1' } });
    await call(a, 'PUT', 'sys/policies/acl/ui-reader', { token, body: { policy: 'path "ui/app/*" { capabilities = ["read"] }' } });
    const child = (await call(a, 'POST', 'auth/token/create', { token, body: { policies: ['ui-reader'] } })).body.auth.client_token;
    const mine = await call(a, 'GET', 'sys/internal/ui/mounts/ui/app/x', { token: child });
    expect(mine.body.data).toMatchObject({ path: 'ui/', type: 'kv', options: { version: '1' } });
    const notMine = await call(a, 'GET', 'sys/internal/ui/mounts/team/kv/x', { token: child });
    const none = await call(a, 'GET', 'sys/internal/ui/mounts/nothing-here/x', { token: child });
    expect(notMine.status).toBe(403);
    expect(none.status).toBe(403);
    expect(notMine.body.errors[0]).toContain('preflight capability check returned 403');
    expect((await call(a, 'GET', 'sys/internal/ui/mounts/ui/app', {})).status).toBe(403);
    expect((await call(a, 'GET', 'sys/internal/ui/mounts/ui/app', { token: 'hvs.nonsense' })).status).toBe(403);
    const listed = await call(a, 'GET', 'sys/internal/ui/mounts', { token: child });
    // sys/ and cubbyhole/ are visible through the default policy (sys/capabilities-self and friends, cubbyhole/*).
    expect(Object.keys(listed.body.data.secret)).toEqual(['cubbyhole/', 'sys/', 'ui/']);
  });

  it('serves an OpenAPI document from the route declarations, and ?help=1 per path', async () => {
    await call(a, 'POST', 'sys/mounts/docs', { token, body: { type: 'kv' } });
    const doc = (await call(a, 'GET', 'sys/internal/specs/openapi', { token })).body;
    expect(doc.openapi).toBe('3.0.2');
    expect(doc.paths['/sys/mounts/{path}'].post.requestBody.content['application/json'].schema.properties.type).toMatchObject({ type: 'string' });
    expect(doc.paths['/sys/mounts/{path}/tune'].post.requestBody.content['application/json'].schema.properties.listing_visibility.enum).toEqual([
      '',
      'unauth',
      'hidden',
    ]);
    expect(doc.paths['/docs/{path}']).toHaveProperty('get');
    expect(doc.paths['/docs/{path}/'].get.parameters[0]).toMatchObject({ name: 'list', in: 'query' });
    expect(doc.paths['/auth/token/create']).toHaveProperty('post');
    const anonymous = (await call(a, 'GET', 'sys/internal/specs/openapi', {})).body;
    expect(anonymous.paths['/sys/seal-status']).toHaveProperty('get');
    expect(anonymous.paths['/sys/mounts/{path}']).toBeUndefined();
    expect(anonymous.paths['/docs/{path}']).toBeUndefined();

    const help = await call(a, 'GET', 'docs/some/key?help=1', { token });
    expect(help.status).toBe(200);
    expect(help.body.help).toContain('Read, write');
    expect(Object.keys(help.body.openapi.paths).sort()).toEqual(['/docs/{path}', '/docs/{path}/']);
    expect((await call(a, 'GET', 'sys/mounts/x?help=1', { token })).body.help).toContain('Enable');
    const limited = (await call(a, 'POST', 'auth/token/create', { token, body: { policies: ['default'] } })).body.auth.client_token;
    expect((await call(a, 'GET', 'docs/some/key?help=1', { token: limited })).status).toBe(403);
    expect((await call(a, 'GET', 'docs/some/key?help=1', {})).status).toBe(403);
  });
});
