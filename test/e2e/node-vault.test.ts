/**
 * Compatibility: the npm `node-vault` client, unchanged, drives a fresh server through init,
 * unseal, policies, tokens and KV version 2.
 */
import nodeVault from 'node-vault';
import { createTestDatabase } from '../support/database';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

type Client = ReturnType<typeof nodeVault>;

/** node-vault rejects with an error carrying `response.statusCode`; this returns that status (or 0 on success). */
async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 0;
  } catch (err) {
    return (err as { response?: { statusCode?: number } }).response?.statusCode ?? -1;
  }
}

async function messageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('node-vault client (e2e)', () => {
  let server: ServerProcess;
  let vault: Client;
  let rootToken: string;

  beforeAll(async () => {
    server = await startServerProcess({ databaseUrl: await createTestDatabase() });
    vault = nodeVault({ apiVersion: 'v1', endpoint: server.address });
  });
  afterAll(async () => server?.stop());

  it('init and unseal', async () => {
    expect(await vault.initialized()).toEqual({ initialized: false });
    const init = await vault.init({ secret_shares: 3, secret_threshold: 2 });
    expect(init.keys).toHaveLength(3);
    expect(init.root_token).toMatch(/^hvs\./);
    rootToken = init.root_token;
    expect(await vault.status()).toMatchObject({ sealed: true, t: 2, n: 3, progress: 0 });
    expect(await vault.unseal({ secret_shares: 1, key: init.keys[0] })).toMatchObject({ sealed: true, progress: 1 });
    expect(await vault.unseal({ secret_shares: 1, key: init.keys[2] })).toMatchObject({ sealed: false });
    expect((await vault.health()).sealed).toBe(false);
    vault.token = rootToken;
  });

  it('mounts KV version 2 and writes policies (sys/policy and sys/policies/acl)', async () => {
    await vault.mount({ mount_point: 'secret', type: 'kv', options: { version: '2' } });
    expect((await vault.mounts())['secret/']).toMatchObject({ type: 'kv', options: { version: '2' } });
    await vault.addPolicy({
      name: 'app',
      rules: 'path "secret/data/app/*" { capabilities = ["read"] }\npath "secret/metadata/app/*" { capabilities = ["list"] }',
    });
    expect((await vault.getPolicy({ name: 'app' })).rules).toContain('secret/data/app/*');
    expect((await vault.policies()).policies).toEqual(expect.arrayContaining(['app', 'default', 'root']));
    await vault.write('sys/policies/acl/writer', { policy: 'path "secret/data/app/*" { capabilities = ["create", "update", "read"] }' });
    expect((await vault.read('sys/policies/acl/writer')).data.name).toBe('writer');
    await vault.removePolicy({ name: 'writer' });
    expect(await statusOf(vault.read('sys/policies/acl/writer'))).toBe(404);
  });

  /** node-vault adopts the token returned by tokenCreate/tokenRenew (`tokenSource`); the tests go back to root. */
  async function asRoot<T>(promise: Promise<T>): Promise<T> {
    try {
      return await promise;
    } finally {
      vault.token = rootToken;
    }
  }

  it('tokens: create, lookup (self, token, accessor), renew, revoke', async () => {
    const created = await asRoot(vault.tokenCreate({ policies: ['app'], ttl: '1h', meta: { team: 'payments' } }));
    expect(vault.token).toBe(rootToken);
    const { client_token: token, accessor } = created.auth;
    expect(created.auth).toMatchObject({ policies: ['app', 'default'], lease_duration: 3600, renewable: true });
    expect((await vault.tokenLookup({ token })).data).toMatchObject({ accessor, policies: ['app', 'default'], meta: { team: 'payments' } });
    expect((await vault.tokenLookupAccessor({ accessor })).data.accessor).toBe(accessor);
    const app = nodeVault({ apiVersion: 'v1', endpoint: server.address, token });
    expect((await app.tokenLookupSelf()).data.id).toBe(token);
    expect((await app.tokenRenewSelf({ increment: '2h' })).auth.lease_duration).toBe(7200);
    expect((await asRoot(vault.tokenRenew({ token, increment: '30m' }))).auth.lease_duration).toBe(1800);
    const orphan = await asRoot(vault.tokenCreateOrphan({ policies: ['app'] }));
    expect((await vault.tokenLookup({ token: orphan.auth.client_token })).data.orphan).toBe(true);
    await vault.tokenRevokeAccessor({ accessor: orphan.auth.accessor });
    await vault.tokenRevoke({ token });
    expect(await statusOf(app.tokenLookupSelf())).toBe(403);
  });

  it('KV version 2: write, read by version, merge patch, list, cas, delete, undelete, destroy, metadata', async () => {
    const w1 = await vault.write('secret/data/app/db', { data: { user: 'app', password: 'one' } });
    expect(w1.data).toMatchObject({ version: 1, destroyed: false, deletion_time: '' });
    await vault.write('secret/data/app/db', { data: { user: 'app', password: 'two' }, options: { cas: 1 } });
    expect((await vault.read('secret/data/app/db')).data).toMatchObject({ data: { password: 'two' }, metadata: { version: 2 } });
    expect((await vault.read('secret/data/app/db?version=1')).data.data.password).toBe('one');
    expect(await messageOf(vault.write('secret/data/app/db', { data: { x: 1 }, options: { cas: 1 } }))).toBe(
      'check-and-set parameter did not match the current version',
    );

    expect((await vault.update('secret/data/app/db', { data: { password: 'three' } })).data.version).toBe(3);
    expect((await vault.read('secret/data/app/db')).data.data).toEqual({ user: 'app', password: 'three' });

    await vault.write('secret/data/app/cache/redis', { data: { url: 'redis://x' } });
    expect((await vault.list('secret/metadata/app')).data.keys).toEqual(['cache/', 'db']);
    const getList = nodeVault({ apiVersion: 'v1', endpoint: server.address, token: rootToken, noCustomHTTPVerbs: true });
    expect((await getList.list('secret/metadata/app')).data.keys).toEqual(['cache/', 'db']);
    expect(await statusOf(vault.list('secret/metadata/none'))).toBe(404);

    await vault.delete('secret/data/app/db');
    expect(await statusOf(vault.read('secret/data/app/db'))).toBe(404);
    await vault.write('secret/undelete/app/db', { versions: [3] });
    expect((await vault.read('secret/data/app/db')).data.data.password).toBe('three');
    await vault.write('secret/destroy/app/db', { versions: [1] });
    expect(await statusOf(vault.read('secret/data/app/db?version=1'))).toBe(404);

    await vault.write('secret/metadata/app/db', { max_versions: 5, custom_metadata: { owner: 'payments' } });
    const meta = (await vault.read('secret/metadata/app/db')).data;
    expect(meta).toMatchObject({ current_version: 3, max_versions: 5, custom_metadata: { owner: 'payments' } });
    expect(meta.versions['1']).toMatchObject({ destroyed: true });
    await vault.delete('secret/metadata/app/cache/redis');
    expect(await statusOf(vault.read('secret/data/app/cache/redis'))).toBe(404);
  });

  it('a policy-limited token reads and lists what the policy allows and nothing else', async () => {
    const token = (await asRoot(vault.tokenCreate({ policies: ['app'] }))).auth.client_token;
    const app = nodeVault({ apiVersion: 'v1', endpoint: server.address, token });
    expect((await app.read('secret/data/app/db')).data.data.password).toBe('three');
    expect((await app.list('secret/metadata/app')).data.keys).toEqual(['db']);
    expect(await statusOf(app.write('secret/data/app/db', { data: { password: 'mine' } }))).toBe(403);
    expect(await messageOf(app.read('secret/metadata/app/db'))).toBe('permission denied');
    expect(await statusOf(app.mounts())).toBe(403);
  });

  it('seal through the client; a sealed server answers 503', async () => {
    await vault.seal();
    expect((await vault.status()).sealed).toBe(true);
    expect(await statusOf(vault.read('secret/data/app/db'))).toBe(503);
  });
});
