/** The generic CLI: an operator writes a policy, creates a token with it, and the token is allowed and denied as the policy says. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';
import { createTestDatabase } from '../support/database';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('CLI: policy, token, read/write/list/delete, login (e2e)', () => {
  let server: ServerProcess;
  const home = mkdtempSync(join(tmpdir(), 'secrethub-home-'));
  const root = 'hvs.clitestroot';
  const run = (args: string[], env: Record<string, string> = {}, stdin = '') => runCli(args, { HOME: home, VAULT_ADDR: server.address, ...env }, stdin);

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

  it('operator flow', async () => {
    const asRoot = { VAULT_TOKEN: root };
    const file = join(home, 'reader.hcl');
    writeFileSync(file, 'path "sys/key-status" {capabilities=["read"]}\npath "sys/policies/acl/*" { capabilities = ["read","list"] }\n');
    expect((await run(['policy', 'fmt', file])).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(
      'path "sys/key-status" {\n  capabilities = ["read"]\n}\n\npath "sys/policies/acl/*" {\n  capabilities = ["read", "list"]\n}\n',
    );
    expect((await run(['policy', 'write', 'reader', file], asRoot)).stdout).toContain('Success! Uploaded policy: reader');
    expect((await run(['policy', 'write', 'from-stdin', '-'], asRoot, 'path "x" { capabilities = ["read"] }')).code).toBe(0);
    expect((await run(['policy', 'list'], asRoot)).stdout.split('\n')).toEqual(expect.arrayContaining(['default', 'from-stdin', 'reader', 'root']));
    expect((await run(['policy', 'read', 'reader'], asRoot)).stdout).toContain('sys/key-status');
    expect((await run(['policy', 'delete', 'from-stdin'], asRoot)).code).toBe(0);

    const created = await run(['token', 'create', '-policy=reader', '-ttl=1h', '-format=json'], asRoot);
    const auth = JSON.parse(created.stdout).auth;
    expect(auth.policies).toEqual(['reader', 'default']);
    const field = await run(['token', 'create', '--policy', 'reader', '--field', 'token'], asRoot);
    expect(field.stdout.trim()).toMatch(/^hvs\./);

    // Log in as the new token: kept in ~/.secrethub-token with mode 0600.
    const login = await run(['login', auth.client_token]);
    expect(login.code).toBe(0);
    expect(statSync(join(home, '.secrethub-token')).mode & 0o777).toBe(0o600);

    expect((await run(['read', 'sys/key-status'])).stdout).toMatch(/term\s+1/);
    expect((await run(['read', '-field=term', 'sys/key-status'])).stdout.trim()).toBe('1');
    expect(JSON.parse((await run(['list', 'sys/policies/acl', '--format', 'json'])).stdout)).toContain('reader');
    const denied = await run(['write', 'sys/policies/acl/evil', 'policy=path "*" { capabilities = ["sudo"] }']);
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain('permission denied');
    expect((await run(['delete', 'sys/policies/acl/reader'])).code).toBe(2);
    expect((await run(['token', 'capabilities', 'sys/key-status'])).stdout.trim()).toBe('read');
    expect((await run(['token', 'capabilities', 'sys/rotate'])).stdout.trim()).toBe('deny');
    expect((await run(['token', 'lookup', '--format', 'json'])).stdout).toContain('"reader"');

    // write with key=value and a 204 answer; delete; revoke-self.
    expect((await run(['write', 'sys/policies/acl/team', 'policy=path "a" { capabilities = ["read"] }'], asRoot)).stdout).toContain(
      'Success! Data written to: sys/policies/acl/team',
    );
    expect((await run(['delete', 'sys/policies/acl/team'], asRoot)).stdout).toContain('Success! Data deleted');
    expect((await run(['token', 'revoke', '--self'])).code).toBe(0);
    expect((await run(['read', 'sys/key-status'])).stderr).toContain('invalid token');
  });

  it('done when: an operator enables a mount, writes a policy, creates a token, and the token is allowed and denied as the policy says', async () => {
    const asRoot = { VAULT_TOKEN: root };
    expect((await run(['secrets', 'enable', '-path=team', '-description=team secrets', 'kv'], asRoot)).stdout).toContain(
      'Success! Enabled the kv secrets engine at: team/',
    );
    expect((await run(['secrets', 'list'], asRoot)).stdout).toMatch(/team\/\s+kv\s+kv_[0-9a-f]{8}\s+team secrets/);
    expect((await run(['write', 'team/app/db', 'password=s3cret'], asRoot)).code).toBe(0);
    expect((await run(['write', 'team/app/admin', 'password=root-only'], asRoot)).code).toBe(0);
    expect((await run(['write', 'team/other/x', 'v=1'], asRoot)).code).toBe(0);
    const policy = join(home, 'team-app.hcl');
    writeFileSync(
      policy,
      'path "team/app/*" { capabilities = ["read", "list"] }\npath "team/app/admin" { capabilities = ["deny"] }\npath "team/app/new" { capabilities = ["create"] }\n',
    );
    expect((await run(['policy', 'write', 'team-app', policy], asRoot)).code).toBe(0);
    const token = (await run(['token', 'create', '-policy=team-app', '-field=token'], asRoot)).stdout.trim();
    const as = { VAULT_TOKEN: token };

    expect((await run(['read', '-field=password', 'team/app/db'], as)).stdout.trim()).toBe('s3cret');
    expect((await run(['list', 'team/app'], as)).stdout).toMatch(/admin\s*\n.*db/s);
    expect((await run(['write', 'team/app/new', 'v=1'], as)).code).toBe(0);
    for (const denied of [
      ['read', 'team/app/admin'],
      ['read', 'team/other/x'],
      ['write', 'team/app/db', 'password=mine'],
      ['write', 'team/app/new', 'v=2'],
      ['delete', 'team/app/db'],
      ['secrets', 'list'],
      ['secrets', 'disable', 'team'],
    ]) {
      const r = await run(denied, as);
      expect({ denied, code: r.code, stderr: r.stderr.includes('permission denied') }).toEqual({ denied, code: 2, stderr: true });
    }
    expect((await run(['read', '-field=password', 'team/app/db'], asRoot)).stdout.trim()).toBe('s3cret');

    expect((await run(['secrets', 'tune', '-default-lease-ttl=1h', 'team'], asRoot)).stdout).toContain('Success! Tuned the secrets engine at: team/');
    expect(JSON.parse((await run(['secrets', 'list', '-format=json'], asRoot)).stdout)['team/'].config.default_lease_ttl).toBe(3600);
    expect((await run(['secrets', 'disable', 'team'], asRoot)).stdout).toContain('Success! Disabled the secrets engine (if it existed) at: team/');
    expect((await run(['read', 'team/app/db'], asRoot)).stderr).toContain('no handler for route');
    expect((await run(['auth', 'list'], asRoot)).stdout).toMatch(/token\/\s+token\s+auth_token_/);
  });
});
