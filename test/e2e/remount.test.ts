/** sys/remount over HTTP: secrets engines and auth methods move with their data; what they issued is revoked; Vault's refusals. */
import { createTestDatabase } from '../support/database';
import { call, initAndUnseal } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('sys/remount (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  let root: string;

  beforeAll(async () => {
    server = await startServerProcess({ databaseUrl: await createTestDatabase() });
    a = server.address;
    ({ rootToken: root } = await initAndUnseal(a));
  });
  afterAll(async () => server?.stop());

  const remount = (body: Record<string, unknown>, token = root) => call(a, 'POST', 'sys/remount', { token, body });

  it('moves a KV v2 mount with its secrets; the status says success', async () => {
    expect((await call(a, 'POST', 'sys/mounts/old-kv', { token: root, body: { type: 'kv-v2' } })).status).toBe(204);
    expect((await call(a, 'POST', 'old-kv/data/app', { token: root, body: { data: { password: 'kept-across-move' } } })).status).toBe(200);
    const accessor = (await call(a, 'GET', 'sys/mounts/old-kv', { token: root })).body.data.accessor;
    const res = await remount({ from: 'old-kv', to: 'new/kv' });
    expect(res.status).toBe(200);
    const id = res.body.data.migration_id;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await call(a, 'GET', `sys/remount/status/${id}`, { token: root })).body.data).toEqual({
      migration_id: id,
      migration_info: { source_mount: 'old-kv/', target_mount: 'new/kv/', status: 'success' },
    });
    expect((await call(a, 'GET', 'new/kv/data/app', { token: root })).body.data.data).toEqual({ password: 'kept-across-move' });
    expect((await call(a, 'GET', 'old-kv/data/app', { token: root })).status).toBe(404);
    const mounts = (await call(a, 'GET', 'sys/mounts', { token: root })).body.data;
    expect(mounts['new/kv/']).toMatchObject({ type: 'kv', accessor, options: { version: '2' } });
    expect(mounts['old-kv/']).toBeUndefined();
    expect((await call(a, 'GET', 'sys/remount/status/00000000-0000-0000-0000-000000000000', { token: root })).status).toBe(404);
  });

  it('moves an auth method: its users stay, the tokens it issued are revoked', async () => {
    expect((await call(a, 'POST', 'sys/auth/up', { token: root, body: { type: 'userpass' } })).status).toBe(204);
    expect((await call(a, 'POST', 'auth/up/users/alice', { token: root, body: { password: 'correct-horse', token_policies: 'default' } })).status).toBe(204);
    const before = (await call(a, 'POST', 'auth/up/login/alice', { body: { password: 'correct-horse' } })).body.auth.client_token;
    expect((await call(a, 'GET', 'auth/token/lookup-self', { token: before })).status).toBe(200);
    expect((await remount({ from: 'auth/up', to: 'auth/people' })).status).toBe(200);
    expect((await call(a, 'GET', 'auth/token/lookup-self', { token: before })).status).toBe(403);
    const after = await call(a, 'POST', 'auth/people/login/alice', { body: { password: 'correct-horse' } });
    expect(after.status).toBe(200);
    expect(after.body.auth.metadata).toMatchObject({ username: 'alice' });
    expect(Object.keys((await call(a, 'GET', 'sys/auth', { token: root })).body.data)).toContain('people/');
  });

  it('refuses what Vault refuses, without echoing the requested paths; needs sudo', async () => {
    await call(a, 'POST', 'sys/mounts/busy', { token: root, body: { type: 'kv' } });
    const refused = async (body: Record<string, unknown>, errors: string[]) => {
      const res = await remount(body);
      expect([res.status, res.body]).toEqual([400, { errors }]);
      return res;
    };
    await refused({ from: 'busy' }, ["both 'from' and 'to' path must be specified as a string"]);
    await refused({ from: ' busy', to: 'x' }, ["'from' path cannot contain trailing whitespace"]);
    await refused({ from: 'sys', to: 'elsewhere' }, ['cannot remount "sys/"']);
    await refused({ from: 'cubbyhole', to: 'elsewhere' }, ['cannot remount "cubbyhole/"']);
    await refused({ from: 'busy', to: 'sys/busy' }, ['cannot remount to destination sys/']);
    await refused({ from: 'busy', to: 'auth/busy' }, ['cannot remount to destination auth/']);
    await refused({ from: 'auth/token', to: 'auth/tok2' }, ['cannot remount "auth/token/"']);
    await refused({ from: 'auth/people', to: 'auth/token/people' }, ['cannot remount to destination "auth/token/"']);
    await refused({ from: 'auth/people', to: 'people' }, ['cannot remount auth mount to non-auth mount']);
    await refused({ from: 'busy', to: 'new/kv/inner' }, ['path already in use at "new/kv/"']);
    await refused({ from: 'busy', to: 'new' }, ['path already in use at "new/kv/"']);
    const missing = await refused({ from: 'never-mounted-path-xyz', to: 'other-place-xyz' }, ["no matching mount at the 'from' path"]);
    expect(missing.text).not.toContain('xyz');
    const bad = await remount({ from: 'busy', to: 'a/../sneaky-dest' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatch(/^invalid destination mount: /);
    expect(bad.text).not.toContain('sneaky-dest');
    // Nothing moved.
    expect((await call(a, 'GET', 'sys/mounts/busy', { token: root })).status).toBe(200);
    await call(a, 'PUT', 'sys/policies/acl/mounts-no-sudo', {
      token: root,
      body: { policy: 'path "sys/*" { capabilities = ["create", "read", "update", "list"] }' },
    });
    const plain = (await call(a, 'POST', 'auth/token/create', { token: root, body: { policies: ['mounts-no-sudo'] } })).body.auth.client_token;
    expect((await remount({ from: 'busy', to: 'moved' }, plain)).status).toBe(403);
  });
});
