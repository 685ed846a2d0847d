/**
 * Tokens and policies end to end: an operator writes a policy, creates a token with it, and the
 * token is allowed and denied exactly as the policy says; token lifecycle rules of security.md.
 */
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('tokens and ACL (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  const root = 'hvs.tokentestroot';

  const create = async (body: Record<string, unknown>, token = root) => call(a, 'POST', 'auth/token/create', { token, body });

  beforeAll(async () => {
    server = await startServerProcess({
      databaseUrl: await createTestDatabase(),
      args: ['--dev', '--dev-root-token-id', root],
      readyText: 'should NOT be used',
    });
    a = server.address;
    await call(a, 'PUT', 'sys/policies/acl/ops', {
      token: root,
      body: {
        policy: `
          path "sys/policies/acl/*" { capabilities = ["read", "list"] }
          path "sys/policies/acl/team-*" { capabilities = ["create", "update", "read"] }
          path "sys/key-status" { capabilities = ["read"] }
          path "sys/rotate" { capabilities = ["update"] }
          path "auth/token/create" { capabilities = ["update"] }
          path "auth/token/create-orphan" { capabilities = ["update"] }
        `,
      },
    });
  });
  afterAll(async () => server?.stop());

  it('a token can do exactly what its policies allow', async () => {
    const res = await create({ policies: ['ops'], ttl: '1h', meta: { team: 'a' } });
    expect(res.status).toBe(200);
    const auth = res.body.auth;
    expect(auth.client_token).toMatch(/^hvs\./);
    expect(auth.policies).toEqual(['ops', 'default']);
    expect(auth).toMatchObject({ renewable: true, orphan: false, token_type: 'service', metadata: { team: 'a' } });
    expect(auth.lease_duration).toBeGreaterThan(3500);
    const t = auth.client_token as string;

    expect((await call(a, 'GET', 'sys/key-status', { token: t })).status).toBe(200);
    expect((await call(a, 'GET', 'sys/policies/acl/ops', { token: t })).status).toBe(200);
    expect((await call(a, 'PUT', 'sys/policies/acl/team-a', { token: t, body: { policy: 'path "x" { capabilities = ["read"] }' } })).status).toBe(204);
    expect((await call(a, 'PUT', 'sys/policies/acl/other', { token: t, body: { policy: 'path "x" { capabilities = ["read"] }' } })).status).toBe(403);
    expect((await call(a, 'DELETE', 'sys/policies/acl/team-a', { token: t })).status).toBe(403);
    // sys/rotate is sudo-protected: update alone is not enough.
    expect((await call(a, 'PUT', 'sys/rotate', { token: t })).status).toBe(403);
    expect((await call(a, 'PUT', 'sys/seal', { token: t })).status).toBe(403);
    expect((await call(a, 'GET', 'sys/policy', { token: t })).status).toBe(403);
    // The default policy: lookup-self works; unknown paths are 403, not 404.
    const self = await call(a, 'GET', 'auth/token/lookup-self', { token: t });
    expect(self.body.data).toMatchObject({ id: t, policies: ['ops', 'default'], meta: { team: 'a' }, path: 'auth/token/create', type: 'service' });
    expect((await call(a, 'GET', 'no/such/path', { token: t })).status).toBe(403);
    // Children: only a subset of the parent's policies.
    expect((await create({ policies: ['ops'] }, t)).status).toBe(200);
    expect((await create({ policies: ['team-a'] }, t)).body.errors[0]).toContain('subset');
  });

  it('policy names " root", "ROOT", "root\\t" never make a root token', async () => {
    for (const name of [' root', 'ROOT', 'root\t', 'Root ']) {
      const res = await create({ policies: [name] });
      expect(res.status).toBe(400);
    }
    const ops = (await create({ policies: ['ops'] })).body.auth.client_token;
    expect((await create({ policies: ['root'] }, ops)).status).toBe(400);
  });

  it('num_uses=3 under 50 concurrent requests: exactly 3 succeed', async () => {
    const t = (await create({ policies: ['ops'], num_uses: 3 })).body.auth.client_token;
    const results = await Promise.all(Array.from({ length: 50 }, () => call(a, 'GET', 'sys/key-status', { token: t })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    expect(results.filter((r) => r.status === 403)).toHaveLength(47);
    expect((await call(a, 'GET', 'auth/token/lookup-self', { token: t })).status).toBe(403);
  });

  it('revoking a parent revokes its children; orphans survive; revoke-orphan needs sudo', async () => {
    const parent = (await create({ policies: ['ops'] })).body.auth.client_token;
    const child = (await create({ policies: ['ops'] }, parent)).body.auth.client_token;
    const grandchild = (await create({ policies: ['default'] }, child)).body.auth.client_token;
    const orphan = (await call(a, 'POST', 'auth/token/create-orphan', { token: parent, body: { policies: ['default'] } })).body.auth;
    expect(orphan.orphan).toBe(true);
    expect((await call(a, 'POST', 'auth/token/create', { token: parent, body: { no_parent: true } })).status).toBe(400);
    expect((await call(a, 'POST', 'auth/token/revoke-self', { token: parent })).status).toBe(204);
    for (const t of [parent, child, grandchild]) expect((await call(a, 'GET', 'auth/token/lookup-self', { token: t })).status).toBe(403);
    expect((await call(a, 'GET', 'auth/token/lookup-self', { token: orphan.client_token })).status).toBe(200);

    const p2 = (await create({ policies: ['ops'] })).body.auth.client_token;
    const c2 = (await create({ policies: ['default'] }, p2)).body.auth.client_token;
    expect((await call(a, 'POST', 'auth/token/revoke-orphan', { token: p2, body: { token: p2 } })).status).toBe(403);
    expect((await call(a, 'POST', 'auth/token/revoke-orphan', { token: root, body: { token: p2 } })).status).toBe(204);
    const c2self = await call(a, 'GET', 'auth/token/lookup-self', { token: c2 });
    expect(c2self.body.data.orphan).toBe(true);
  });

  it('TTL: a child never outlives its parent; renew is capped by explicit_max_ttl; expired tokens are refused at once', async () => {
    const parent = (await create({ policies: ['ops'], ttl: '60s' })).body.auth.client_token;
    const child = (await create({ policies: ['default'], ttl: '1h' }, parent)).body.auth;
    expect(child.lease_duration).toBeLessThanOrEqual(60);
    const capped = (await create({ policies: ['default'], ttl: '2s', explicit_max_ttl: '3s' })).body.auth.client_token;
    const renewed = await call(a, 'POST', 'auth/token/renew-self', { token: capped, body: { increment: '1h' } });
    expect(renewed.body.auth.lease_duration).toBeLessThanOrEqual(3);
    const short = (await create({ policies: ['default'], ttl: '1s' })).body.auth.client_token;
    await new Promise((r) => setTimeout(r, 1300));
    expect((await call(a, 'GET', 'auth/token/lookup-self', { token: short })).body.errors).toEqual(['permission denied', 'invalid token']);
    const fixed = (await create({ policies: ['default'], renewable: false })).body.auth.client_token;
    expect((await call(a, 'POST', 'auth/token/renew-self', { token: fixed })).body.errors).toEqual(['lease is not renewable']);
  });

  it('accessors: lookup and revoke by accessor; LIST accessors needs sudo', async () => {
    const created = (await create({ policies: ['ops'] })).body.auth;
    const byAccessor = await call(a, 'POST', 'auth/token/lookup-accessor', { token: root, body: { accessor: created.accessor } });
    expect(byAccessor.body.data).toMatchObject({ accessor: created.accessor, id: '', policies: ['ops', 'default'] });
    const list = await call(a, 'LIST', 'auth/token/accessors', { token: root });
    expect(list.body.data.keys).toContain(created.accessor);
    expect((await call(a, 'LIST', 'auth/token/accessors', { token: created.client_token })).status).toBe(403);
    expect((await call(a, 'POST', 'auth/token/revoke-accessor', { token: root, body: { accessor: created.accessor } })).status).toBe(204);
    expect((await call(a, 'GET', 'auth/token/lookup-self', { token: created.client_token })).status).toBe(403);
  });

  it('bound CIDRs: a token bound elsewhere is refused from here', async () => {
    const bound = (await create({ policies: ['default'], bound_cidrs: ['10.0.0.0/8'] })).body.auth.client_token;
    expect((await call(a, 'GET', 'auth/token/lookup-self', { token: bound })).status).toBe(403);
    const local = (await create({ policies: ['default'], bound_cidrs: '127.0.0.1/32,::1/128' })).body.auth.client_token;
    expect((await call(a, 'GET', 'auth/token/lookup-self', { token: local })).status).toBe(200);
    expect((await create({ policies: ['default'], bound_cidrs: ['not-a-cidr'] })).status).toBe(400);
  });

  it('every route alias reaches the same ACL decision', async () => {
    await call(a, 'PUT', 'sys/policies/acl/lister', {
      token: root,
      body: { policy: 'path "sys/policies/acl/*" { capabilities = ["list"] }\npath "sys/rotate*" { capabilities = ["update"] }' },
    });
    await call(a, 'PUT', 'sys/policies/acl/rotator', { token: root, body: { policy: 'path "sys/rotate*" { capabilities = ["update", "sudo"] }' } });
    const lister = (await create({ policies: ['lister'] })).body.auth.client_token;
    const plain = (await create({ policies: ['default'] })).body.auth.client_token;
    const rotator = (await create({ policies: ['rotator'] })).body.auth.client_token;
    for (const [token, expected] of [
      [lister, 200],
      [plain, 403],
    ] as const) {
      expect((await call(a, 'LIST', 'sys/policies/acl', { token })).status).toBe(expected);
      expect((await call(a, 'GET', 'sys/policies/acl?list=true', { token })).status).toBe(expected);
      expect((await call(a, 'LIST', 'sys/policies/acl/', { token })).status).toBe(expected);
    }
    for (const path of ['sys/rotate', 'sys/rotate/keyring']) {
      expect((await call(a, 'PUT', path, { token: lister })).status).toBe(403);
      expect((await call(a, 'PUT', path, { token: rotator })).status).toBe(204);
    }
  });

  it('sudo on the create path lifts the subset rule (Vault isSudo); root, wrapping, orphans, periods and roles keep theirs', async () => {
    const sudoCreate = ['auth/token/create', 'auth/token/create-orphan', 'auth/token/create/*']
      .map((p) => `path "${p}" { capabilities = ["update", "sudo"] }`)
      .join('\n');
    await call(a, 'PUT', 'sys/policies/acl/minter', { token: root, body: { policy: sudoCreate } });
    await call(a, 'PUT', 'sys/policies/acl/role-user', {
      token: root,
      body: {
        policy:
          'path "auth/token/create/*" { capabilities = ["update"] }\npath "auth/token/create" { capabilities = ["update"] }\npath "auth/token/create-orphan" { capabilities = ["update"] }',
      },
    });
    await call(a, 'POST', 'auth/token/roles/open', { token: root, body: {} });
    await call(a, 'POST', 'auth/token/roles/orphaner', { token: root, body: { orphan: true } });
    const minter = (await create({ policies: ['minter'], no_default_policy: true })).body.auth.client_token;
    const roleUser = (await create({ policies: ['role-user'] })).body.auth.client_token;

    // Policies the caller does not hold: allowed with sudo on the path, default added as for root.
    expect((await create({ policies: ['ops'] }, minter)).body.auth).toMatchObject({ policies: ['ops', 'default'], orphan: false });
    expect((await create({ policies: ['ops'], no_default_policy: true }, minter)).body.auth.policies).toEqual(['ops']);
    expect((await call(a, 'POST', 'auth/token/create-orphan', { token: minter, body: { policies: ['ops'] } })).body.auth).toMatchObject({
      policies: ['ops', 'default'],
      orphan: true,
    });
    expect((await call(a, 'POST', 'auth/token/create/open', { token: minter, body: { policies: ['ops'] } })).body.auth).toMatchObject({
      policies: ['ops', 'default'],
    });
    expect((await create({ policies: ['ops'], period: '1h', no_parent: true }, minter)).body.auth).toMatchObject({ orphan: true, lease_duration: 3600 });
    // Without sudo the subset rule stands, on every create path.
    expect((await create({ policies: ['ops'] }, roleUser)).body.errors).toEqual(['child policies must be subset of parent (ops not held)']);
    expect((await call(a, 'POST', 'auth/token/create/open', { token: roleUser, body: { policies: ['ops'] } })).body.errors).toEqual([
      'child policies must be subset of parent (ops not held)',
    ]);
    // Root only from root; response-wrapping never, not even from root.
    expect((await create({ policies: ['root'] }, minter)).body.errors).toEqual(['root tokens may not be created without parent token being root']);
    expect((await create({ policies: ['response-wrapping'], no_default_policy: true })).body.errors).toEqual(['cannot assign policy "response-wrapping"']);
    // no_parent needs sudo, on create-orphan too; a period in the request needs sudo, through a role too.
    expect((await call(a, 'POST', 'auth/token/create-orphan', { token: roleUser, body: { no_parent: true } })).body.errors).toEqual([
      'root or sudo privileges required to create orphan token',
    ]);
    expect((await call(a, 'POST', 'auth/token/create-orphan', { token: roleUser, body: {} })).body.auth.orphan).toBe(true);
    expect((await call(a, 'POST', 'auth/token/create/open', { token: roleUser, body: { period: '1h' } })).body.errors).toEqual([
      'root or sudo privileges required to create periodic token',
    ]);
    await call(a, 'POST', 'auth/token/roles/periodic', { token: root, body: { token_period: '2h' } });
    expect((await call(a, 'POST', 'auth/token/create/periodic', { token: roleUser, body: {} })).body.auth.lease_duration).toBe(7200);
    const both = await call(a, 'POST', 'auth/token/create/periodic', { token: minter, body: { period: '1h' } });
    expect([both.body.auth.lease_duration, both.body.warnings]).toEqual([
      3600,
      ['Period specified both during creation call and in role; using the lesser value of 3600 seconds'],
    ]);
    // A role is chosen by the path only: role_name in the body is ignored (with Vault's warning on create).
    const notViaRole = await create({ role_name: 'orphaner' }, roleUser);
    expect(notViaRole.body.auth).toMatchObject({ orphan: false, policies: ['role-user', 'default'] });
    expect(notViaRole.body.warnings).toEqual(['Endpoint ignored these unrecognized parameters: [role_name]']);
    expect((await call(a, 'POST', 'auth/token/create-orphan', { token: roleUser, body: { role_name: 'nope' } })).status).toBe(200);
    const viaPath = await call(a, 'POST', 'auth/token/create/orphaner', { token: roleUser, body: { role_name: 'open' } });
    expect(viaPath.body.auth.orphan).toBe(true);
    expect((await call(a, 'POST', 'auth/token/lookup', { token: root, body: { token: viaPath.body.auth.client_token } })).body.data.role).toBe('orphaner');
  });
});
