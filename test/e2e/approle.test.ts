/**
 * AppRole over HTTP against the built server: the CLI sets up a role as with Vault's
 * (`auth enable approle`, `write ... token_policies=a,b`, `write -f .../secret-id`), an
 * application logs in with the node-vault client and with `secrethub login -method=approle`,
 * a fleet's concurrent logins on one secret ID do not lock its role_id, and every refusal is the
 * same 400.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodeVault from 'node-vault';
import { runCli } from '../support/cli';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('AppRole (e2e)', () => {
  let server: ServerProcess;
  const home = mkdtempSync(join(tmpdir(), 'secrethub-home-'));
  const root = 'hvs.approlee2eroot';
  const asRoot = { VAULT_TOKEN: root };
  const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { HOME: home, VAULT_ADDR: server.address, ...env });
  let roleId: string;

  beforeAll(async () => {
    server = await startServerProcess({
      databaseUrl: await createTestDatabase(),
      args: ['--dev', '--dev-root-token-id', root],
      readyText: 'should NOT be used',
    });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('the CLI enables approle and writes a role with comma-separated policies', async () => {
    expect((await run(['auth', 'enable', 'approle'], asRoot)).code).toBe(0);
    const write = await run(['write', 'auth/approle/role/ci', 'token_policies=app,audit', 'secret_id_num_uses=5', 'token_ttl=20m'], asRoot);
    expect(write.stderr).toBe('');
    expect(write.code).toBe(0);
    const read = await run(['read', '-format=json', 'auth/approle/role/ci'], asRoot);
    expect(JSON.parse(read.stdout).data).toMatchObject({ token_policies: ['app', 'audit'], secret_id_num_uses: 5, token_ttl: 1200, bind_secret_id: true });
    roleId = (await run(['read', '-field=role_id', 'auth/approle/role/ci/role-id'], asRoot)).stdout.trim();
    expect(roleId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("write with no data needs -f, as Vault's CLI; -f generates a secret ID", async () => {
    const bare = await run(['write', 'auth/approle/role/ci/secret-id'], asRoot);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('Must supply data or use -force');
    for (const flag of ['-f', '-force']) {
      const res = await run(['write', flag, '-format=json', 'auth/approle/role/ci/secret-id'], asRoot);
      expect(res.code).toBe(0);
      expect(JSON.parse(res.stdout).data).toMatchObject({
        secret_id: expect.any(String),
        secret_id_accessor: expect.any(String),
        secret_id_num_uses: 5,
        secret_id_ttl: 0,
      });
    }
  });

  it("node-vault approleLogin gets a token with the role's policies and metadata", async () => {
    const secret = await call(server.address, 'POST', 'auth/approle/role/ci/secret-id', { token: root, body: {} });
    const vault = nodeVault({ apiVersion: 'v1', endpoint: server.address });
    const result = await vault.approleLogin({ role_id: roleId, secret_id: secret.body.data.secret_id });
    expect(result.auth).toMatchObject({ policies: ['app', 'audit', 'default'], metadata: { role_name: 'ci' }, renewable: true, token_type: 'service' });
    expect(result.auth.lease_duration).toBeLessThanOrEqual(1200);
    expect(vault.token).toBe(result.auth.client_token);
    const self = await vault.tokenLookupSelf();
    expect(self.data).toMatchObject({ display_name: 'approle', path: 'auth/approle/login' });
  });

  it('secrethub login -method=approle keeps the token', async () => {
    const secretId = (await run(['write', '-f', '-field=secret_id', 'auth/approle/role/ci/secret-id'], asRoot)).stdout.trim();
    const login = await run(['login', '-method=approle', `role_id=${roleId}`, `secret_id=${secretId}`]);
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).toContain('Success! You are now authenticated');
    expect(login.stdout).not.toContain(secretId);
    const token = readFileSync(join(home, '.secrethub-token'), 'utf8');
    expect(token).toMatch(/^hvs\./);
    const lookup = await call(server.address, 'GET', 'auth/token/lookup-self', { token });
    expect(lookup.body.data.meta).toEqual({ role_name: 'ci' });
  });

  it('50 concurrent logins on a 3-use secret ID: 3 tokens, 47 refusals, and the role_id is not locked for the next machine', async () => {
    expect((await call(server.address, 'POST', 'auth/approle/role/fleet', { token: root, body: { secret_id_num_uses: 3 } })).status).toBe(204);
    const fleetRoleId = (await call(server.address, 'GET', 'auth/approle/role/fleet/role-id', { token: root })).body.data.role_id as string;
    const newSecretId = async () =>
      (await call(server.address, 'POST', 'auth/approle/role/fleet/secret-id', { token: root, body: {} })).body.data.secret_id as string;
    const login = (secretId: string) => call(server.address, 'POST', 'auth/approle/login', { body: { role_id: fleetRoleId, secret_id: secretId } });
    const shared = await newSecretId();
    const results = await Promise.all(Array.from({ length: 50 }, () => login(shared)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(400);
      expect(r.text).toBe('{"errors":["invalid role or secret ID"]}');
    }
    expect((await login(await newSecretId())).status).toBe(200);
  });

  it('unknown role_id, wrong secret ID and a refused CLI login: the same 400, nothing secret echoed', async () => {
    const secret = (await call(server.address, 'POST', 'auth/approle/role/ci/secret-id', { token: root, body: {} })).body.data.secret_id as string;
    const unknownRole = await call(server.address, 'POST', 'auth/approle/login', { body: { role_id: 'nope', secret_id: secret } });
    const wrongSecret = await call(server.address, 'POST', 'auth/approle/login', { body: { role_id: roleId, secret_id: 'not-the-secret' } });
    for (const res of [unknownRole, wrongSecret]) {
      expect(res.status).toBe(400);
      expect(res.text).toBe('{"errors":["invalid role or secret ID"]}');
    }
    const cli = await run(['login', '-method=approle', '-no-store', `role_id=${roleId}`, 'secret_id=not-the-secret']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('invalid role or secret ID');
    expect(cli.stderr).not.toContain('not-the-secret');
    expect(server.output()).not.toContain(secret);
    expect(server.output()).not.toContain('not-the-secret');
  });
});
