/** sys/policy and sys/policies/acl over HTTP: Vault's shapes, name normalisation, root/default rules. */
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('policies API (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  const token = 'hvs.policytestroot';

  beforeAll(async () => {
    server = await startServerProcess({
      databaseUrl: await createTestDatabase(),
      args: ['--dev', '--dev-root-token-id', token],
      readyText: 'should NOT be used',
    });
    a = server.address;
  });
  afterAll(async () => server?.stop());

  it('lists root and default; default is readable', async () => {
    const list = await call(a, 'GET', 'sys/policy', { token });
    expect(list.body.keys).toEqual(['default', 'root']);
    expect(list.body.policies).toEqual(['default', 'root']);
    expect(list.body.data.keys).toEqual(['default', 'root']);
    const def = await call(a, 'GET', 'sys/policies/acl/default', { token });
    expect(def.body.data.name).toBe('default');
    expect(def.body.data.policy).toContain('auth/token/lookup-self');
  });

  it('writes HCL and JSON policies; names are trimmed and lower-cased', async () => {
    const hcl = 'path "secret/*" {\n  capabilities = ["read", "list"]\n}\n';
    expect((await call(a, 'PUT', 'sys/policies/acl/Dev-Team', { token, body: { policy: hcl } })).status).toBe(204);
    const read = await call(a, 'GET', 'sys/policies/acl/dev-team', { token });
    expect(read.body.data).toEqual({ name: 'dev-team', policy: hcl });
    expect((await call(a, 'GET', 'sys/policy/DEV-TEAM', { token })).body.data).toEqual({ name: 'dev-team', rules: hcl });
    const json = JSON.stringify({ path: { 'kv/data/app': { capabilities: ['read'] } } });
    expect((await call(a, 'PUT', 'sys/policy/app', { token, body: { rules: json } })).body.warnings).toEqual([
      "'rules' is deprecated, please use 'policy' instead",
    ]);
    const b64 = Buffer.from('path "x/*" { capabilities = ["list"] }').toString('base64');
    expect((await call(a, 'PUT', 'sys/policies/acl/b64', { token, body: { policy: b64 } })).status).toBe(204);
    expect((await call(a, 'GET', 'sys/policies/acl/b64', { token })).body.data.policy).toContain('path "x/*"');
    const list = await call(a, 'LIST', 'sys/policies/acl', { token });
    expect(list.body.data.keys).toEqual(['app', 'b64', 'default', 'dev-team', 'root']);
  });

  it('refuses bad policies, root edits and default deletion with Vault messages', async () => {
    expect((await call(a, 'PUT', 'sys/policies/acl/bad', { token, body: { policy: 'path "x" { capabilities = ["fly"] }' } })).body.errors[0]).toContain(
      'path "x": invalid capability (expected one of',
    );
    expect((await call(a, 'PUT', 'sys/policies/acl/bad', { token, body: { policy: 'path {' } })).status).toBe(400);
    expect((await call(a, 'PUT', 'sys/policies/acl/bad', { token, body: {} })).status).toBe(400);
    for (const name of ['root', 'ROOT', '%20root', 'root%20']) {
      expect((await call(a, 'PUT', `sys/policies/acl/${name}`, { token, body: { policy: 'path "*" { capabilities = ["read"] }' } })).body).toEqual({
        errors: ['cannot update "root" policy'],
      });
    }
    // A tab is refused earlier, by path canonicalisation: still a 400, never a policy named root.
    expect((await call(a, 'PUT', 'sys/policies/acl/root%09', { token, body: { policy: 'path "*" { capabilities = ["read"] }' } })).status).toBe(400);
    expect((await call(a, 'GET', 'sys/policy', { token })).body.keys).not.toContain('root\t');
    expect((await call(a, 'DELETE', 'sys/policies/acl/root', { token })).body).toEqual({ errors: ['cannot delete "root" policy'] });
    expect((await call(a, 'DELETE', 'sys/policies/acl/Default', { token })).body).toEqual({ errors: ['cannot delete default policy'] });
    expect((await call(a, 'GET', 'sys/policies/acl/root', { token })).status).toBe(404);
    expect((await call(a, 'GET', 'sys/policies/acl/missing', { token })).body).toEqual({ errors: [] });
  });

  it('a hostile policy is refused at once with 400 and never holds up other requests (issue 22)', async () => {
    const DEPTH = 'failed to parse policy: document nesting is deeper than the limit of 16 levels';
    const timed = async <T>(p: Promise<T>, started: number) => ({ result: await p, ms: Date.now() - started });
    const hostile = 'path "x" {\n' + '  a {\n'.repeat(5000) + '}\n'.repeat(5000) + '}\n';
    const started = Date.now();
    const put = timed(call(a, 'PUT', 'sys/policies/acl/deep', { token, body: { policy: hostile } }), started);
    const health = await timed(call(a, 'GET', 'sys/health'), started);
    expect(health.result.status).toBe(200);
    expect(health.ms).toBeLessThan(1000);
    const refused = await put;
    expect(refused.result.body).toEqual({ errors: [DEPTH] });
    expect(refused.ms).toBeLessThan(1000);
    // The same through the legacy path, in JSON, with block keys instead of braces, and for password policies.
    const deepJson = '{"path": {"x": {"capabilities": ["read"], "allowed_parameters": {"k": ' + '['.repeat(5000) + ']'.repeat(5000) + '}}}}';
    expect((await call(a, 'PUT', 'sys/policy/deep', { token, body: { rules: deepJson } })).body.errors).toEqual([DEPTH]);
    expect(
      (await call(a, 'PUT', 'sys/policies/acl/deep', { token, body: { policy: 'path ' + '"k" '.repeat(1000) + '{ capabilities = ["read"] }' } })).body.errors,
    ).toEqual([DEPTH]);
    expect(
      (
        await call(a, 'PUT', 'sys/policies/password/deep', {
          token,
          body: { policy: 'length = 20\nrule "charset" ' + '{ a = '.repeat(100) + '1' + ' }'.repeat(100) },
        })
      ).body.errors,
    ).toEqual(['invalid password policy: unable to decode: document nesting is deeper than the limit of 16 levels']);
    const big = await call(a, 'PUT', 'sys/policies/acl/big', { token, body: { policy: `path "x" { comment = "${'s3cret'.repeat(50_000)}" }` } });
    expect(big.body).toEqual({ errors: ['failed to parse policy: document is larger than the limit of 131072 bytes'] });
    expect((await call(a, 'GET', 'sys/policies/acl/deep', { token })).status).toBe(404);
  });

  it('a large real policy (500 path blocks) is accepted, and requests go on while it is parsed', async () => {
    const policy = Array.from(
      { length: 500 },
      (_, i) => `path "secret/data/team-${i}/*" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}\n`,
    ).join('');
    const started = Date.now();
    const put = call(a, 'PUT', 'sys/policies/acl/large', { token, body: { policy } });
    const health = await call(a, 'GET', 'sys/health');
    const healthMs = Date.now() - started;
    expect((await put).status).toBe(204);
    expect(health.status).toBe(200);
    expect(healthMs).toBeLessThan(1000);
    expect((await call(a, 'GET', 'sys/policies/acl/large', { token })).body.data.policy).toBe(policy);
  });

  it('deletes a policy; needs a token', async () => {
    expect((await call(a, 'DELETE', 'sys/policies/acl/b64', { token })).status).toBe(204);
    expect((await call(a, 'GET', 'sys/policies/acl/b64', { token })).status).toBe(404);
    expect((await call(a, 'GET', 'sys/policy')).status).toBe(403);
  });
});
