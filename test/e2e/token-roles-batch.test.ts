/** Batch tokens, token roles, tidy over HTTP; and two nodes on one database see each other's revocations, policy and mount changes at once. */
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('batch tokens, token roles, tidy, cross-node invalidation (e2e)', () => {
  let nodeA: ServerProcess;
  let nodeB: ServerProcess;
  let a: string;
  let b: string;
  const root = 'hvs.rolestestroot';

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    nodeA = await startServerProcess({ databaseUrl, args: ['--dev', '--dev-root-token-id', root], readyText: 'should NOT be used' });
    a = nodeA.address;
    // The second node shares the database; unsealed with the dev key the first one printed.
    nodeB = await startServerProcess({ databaseUrl, args: [], readyText: 'listening on' });
    b = nodeB.address;
    expect((await call(b, 'PUT', 'sys/unseal', { body: { key: /Unseal Key: (\S+)/.exec(nodeA.output())?.[1] } })).body.sealed).toBe(false);
    await call(a, 'PUT', 'sys/policies/acl/app', {
      token: root,
      body: { policy: 'path "auth/token/create" { capabilities = ["update"] }\npath "sys/key-status" { capabilities = ["read"] }' },
    });
    await call(a, 'PUT', 'sys/policies/acl/admin', { token: root, body: { policy: 'path "*" { capabilities = ["sudo", "read"] }' } });
  });
  afterAll(async () => {
    await nodeB?.stop();
    await nodeA?.stop();
  });

  it('batch tokens: hvb., no accessor, not renewable or revocable, cannot create tokens, die with their parent', async () => {
    const parent = (await call(a, 'POST', 'auth/token/create', { token: root, body: { policies: ['app'], ttl: '1h' } })).body.auth.client_token;
    const res = await call(a, 'POST', 'auth/token/create', { token: parent, body: { type: 'batch', ttl: '10m' } });
    expect(res.status).toBe(200);
    const batch = res.body.auth;
    expect(batch.client_token).toMatch(/^hvb\./);
    expect(batch).toMatchObject({ accessor: '', token_type: 'batch', renewable: false, policies: ['app', 'default'], orphan: false });
    const lookup = await call(b, 'GET', 'auth/token/lookup-self', { token: batch.client_token });
    expect(lookup.body.data).toMatchObject({ type: 'batch', accessor: '', policies: ['app', 'default'], renewable: false });
    expect(lookup.body.data.ttl).toBeGreaterThan(590);
    expect((await call(a, 'POST', 'auth/token/renew-self', { token: batch.client_token, body: {} })).body.errors).toEqual(['batch tokens cannot be renewed']);
    expect((await call(a, 'POST', 'auth/token/create', { token: batch.client_token, body: {} })).body.errors).toEqual([
      'batch tokens cannot create more tokens',
    ]);
    // A tampered batch token is just invalid.
    const tampered = batch.client_token.slice(0, -3) + (batch.client_token.endsWith('A') ? 'BBB' : 'AAA');
    expect((await call(a, 'GET', 'auth/token/lookup-self', { token: tampered })).body.errors).toEqual(['permission denied', 'invalid token']);
    expect((await call(a, 'POST', 'auth/token/revoke', { token: root, body: { token: batch.client_token } })).body.errors).toEqual([
      'batch tokens cannot be revoked',
    ]);
    expect((await call(a, 'POST', 'auth/token/create', { token: root, body: { type: 'batch', policies: ['root'] } })).body.errors).toEqual([
      'batch tokens cannot be root tokens',
    ]);
    expect((await call(a, 'POST', 'auth/token/create', { token: root, body: { type: 'batch', num_uses: 2 } })).status).toBe(400);
    // Revoking the parent on node A ends the batch token on node B as soon as the invalidation
    // arrives (B cached the parent when it looked the batch token up), as for any cached token.
    expect((await call(a, 'POST', 'auth/token/revoke', { token: root, body: { token: parent } })).status).toBe(204);
    await waitFor(async () => (await call(b, 'GET', 'auth/token/lookup-self', { token: batch.client_token })).status === 403);
  });

  it('token roles: CRUD with Vault field names, create through a role with allowed/disallowed policies, orphan, period, type', async () => {
    expect(
      (
        await call(a, 'POST', 'auth/token/roles/Deployer', {
          token: root,
          body: { allowed_policies: 'app,other', disallowed_policies: ['admin'], orphan: true, token_period: '1h', path_suffix: 'v1', bogus: 1 },
        })
      ).body.warnings,
    ).toEqual(['Endpoint ignored these unrecognized parameters: [bogus]']);
    const read = await call(a, 'GET', 'auth/token/roles/deployer', { token: root });
    expect(read.body.data).toMatchObject({
      name: 'deployer',
      allowed_policies: ['app', 'other'],
      disallowed_policies: ['admin'],
      orphan: true,
      token_period: 3600,
      period: 3600,
      renewable: true,
      path_suffix: 'v1',
      token_type: 'default-service',
    });
    expect((await call(a, 'LIST', 'auth/token/roles', { token: root })).body.data.keys).toEqual(['deployer']);
    expect((await call(a, 'POST', 'auth/token/roles/deployer', { token: root, body: { token_period: 'soon' } })).status).toBe(400);

    const made = await call(a, 'POST', 'auth/token/create/deployer', { token: root, body: {} });
    expect(made.body.auth).toMatchObject({ policies: ['app', 'other', 'default'], orphan: true, lease_duration: 3600 });
    const looked = await call(a, 'POST', 'auth/token/lookup', { token: root, body: { token: made.body.auth.client_token } });
    expect(looked.body.data).toMatchObject({ role: 'deployer', path: 'auth/token/create/deployer/v1', period: 3600 });
    expect((await call(a, 'POST', 'auth/token/create/deployer', { token: root, body: { policies: ['admin'] } })).status).toBe(400);
    expect((await call(a, 'POST', 'auth/token/create/deployer', { token: root, body: { policies: ['app'] } })).body.auth.policies).toEqual(['app', 'default']);
    expect((await call(a, 'POST', 'auth/token/create/nope', { token: root, body: {} })).body.errors).toEqual(['unknown role nope']);
    // A non-root parent may make an orphan through a role without sudo.
    const appToken = (await call(a, 'POST', 'auth/token/create', { token: root, body: { policies: ['app'] } })).body.auth.client_token;
    await call(a, 'PUT', 'sys/policies/acl/app', {
      token: root,
      body: { policy: 'path "auth/token/create/*" { capabilities = ["update"] }\npath "auth/token/create" { capabilities = ["update"] }' },
    });
    expect((await call(a, 'POST', 'auth/token/create', { token: appToken, body: { no_parent: true } })).status).toBe(400);
    expect((await call(a, 'POST', 'auth/token/create/deployer', { token: appToken, body: {} })).body.auth.orphan).toBe(true);

    await call(a, 'POST', 'auth/token/roles/batcher', { token: root, body: { token_type: 'batch', allowed_policies: ['app'] } });
    expect((await call(a, 'POST', 'auth/token/create/batcher', { token: root, body: {} })).body.auth.client_token).toMatch(/^hvb\./);
    expect((await call(a, 'POST', 'auth/token/create/batcher', { token: root, body: { type: 'service' } })).status).toBe(400);
    expect((await call(a, 'DELETE', 'auth/token/roles/batcher', { token: root })).status).toBe(204);
    expect((await call(a, 'GET', 'auth/token/roles/batcher', { token: root })).status).toBe(404);
  });

  it('tidy answers 202 and removes expired rows', async () => {
    const res = await call(a, 'POST', 'auth/token/tidy', { token: root, body: {} });
    expect(res.status).toBe(202);
    expect(res.body.warnings[0]).toContain('Tidy operation successfully started');
  });

  // Changes reach B by LISTEN/NOTIFY after A's commit: B follows within the delivery time (waitFor), never serving stale for long.
  it('two nodes: a token cached on B stops working there once A revokes it; policies and mounts changed on A apply on B', async () => {
    const t = (await call(a, 'POST', 'auth/token/create', { token: root, body: { policies: ['admin'] } })).body.auth.client_token;
    for (let i = 0; i < 3; i++) expect((await call(b, 'GET', 'sys/key-status', { token: t })).status).toBe(200);
    expect((await call(a, 'POST', 'auth/token/revoke', { token: root, body: { token: t } })).status).toBe(204);
    await waitFor(async () => (await call(b, 'GET', 'sys/key-status', { token: t })).status === 403);

    const reader = (await call(a, 'POST', 'auth/token/create', { token: root, body: { policies: ['flip'] } })).body.auth.client_token;
    await call(a, 'PUT', 'sys/policies/acl/flip', { token: root, body: { policy: 'path "sys/key-status" { capabilities = ["read"] }' } });
    await waitFor(async () => (await call(b, 'GET', 'sys/key-status', { token: reader })).status === 200);
    await call(a, 'PUT', 'sys/policies/acl/flip', { token: root, body: { policy: 'path "sys/key-status" { capabilities = ["deny"] }' } });
    await waitFor(async () => (await call(b, 'GET', 'sys/key-status', { token: reader })).status === 403);

    expect((await call(a, 'POST', 'sys/mounts/shared', { token: root, body: { type: 'kv' } })).status).toBe(204);
    await waitFor(async () => (await call(b, 'PUT', 'shared/k', { token: root, body: { v: 'from-b' } })).status === 204);
    expect((await call(a, 'GET', 'shared/k', { token: root })).body.data).toEqual({ v: 'from-b' });
    expect((await call(a, 'DELETE', 'sys/mounts/shared', { token: root })).status).toBe(204);
    await waitFor(async () => (await call(b, 'GET', 'shared/k', { token: root })).status === 404);
  });
});

/** Changes reach the other node by notification; it drops or re-reads its caches asynchronously. */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not reached in 5 s');
}
