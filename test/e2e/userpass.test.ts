/** userpass over HTTP against the built server, and `secrethub login -method=userpass`. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('userpass (e2e)', () => {
  let server: ServerProcess;
  const home = mkdtempSync(join(tmpdir(), 'secrethub-home-'));
  const root = 'hvs.userpassroot';
  const run = (args: string[], stdin = '') => runCli(args, { HOME: home, VAULT_ADDR: server.address }, stdin);

  beforeAll(async () => {
    server = await startServerProcess({
      databaseUrl: await createTestDatabase(),
      args: ['--dev', '--dev-root-token-id', root],
      readyText: 'should NOT be used',
    });
    expect((await call(server.address, 'POST', 'sys/auth/userpass', { token: root, body: { type: 'userpass' } })).status).toBe(204);
    expect(
      (await call(server.address, 'POST', 'sys/policies/acl/reader', { token: root, body: { policy: 'path "sys/key-status" { capabilities = ["read"] }' } }))
        .status,
    ).toBe(204);
    expect(
      (await call(server.address, 'POST', 'auth/userpass/users/alice', { token: root, body: { password: 's3cret-alice', token_policies: 'reader' } })).status,
    ).toBe(204);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('LIST users with the LIST method; login over HTTP; unknown user and wrong password answer alike', async () => {
    expect((await call(server.address, 'LIST', 'auth/userpass/users', { token: root })).body.data).toEqual({ keys: ['alice'] });
    const ok = await call(server.address, 'POST', 'auth/userpass/login/Alice', { body: { password: 's3cret-alice' } });
    expect(ok.status).toBe(200);
    expect(ok.body.auth).toMatchObject({ policies: ['reader', 'default'], metadata: { username: 'alice' } });
    const wrong = await call(server.address, 'POST', 'auth/userpass/login/alice', { body: { password: 'nope' } });
    const unknown = await call(server.address, 'POST', 'auth/userpass/login/mallory', { body: { password: 'nope' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({ errors: ['invalid username or password'] });
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: wrong.status, body: wrong.body });
  });

  it('secrethub login -method=userpass stores a working token; the password is prompted when absent', async () => {
    const login = await run(['login', '-method=userpass', 'username=alice', 'password=s3cret-alice']);
    expect(login.code).toBe(0);
    expect(login.stdout).toContain('Success! You are now authenticated.');
    expect(login.stdout).not.toContain('s3cret-alice');
    const stored = readFileSync(join(home, '.secrethub-token'), 'utf8');
    expect(stored).toMatch(/^hvs\./);
    expect((await call(server.address, 'GET', 'sys/key-status', { token: stored })).status).toBe(200);
    expect((await run(['read', '-field=term', 'sys/key-status'])).stdout.trim()).toBe('1');

    const prompted = await run(['login', '-method=userpass', '-no-store', '-format=json', 'username=alice'], 's3cret-alice\n');
    expect(prompted.code).toBe(0);
    expect(prompted.stderr).toContain('Password (will be hidden): ');
    expect(JSON.parse(prompted.stdout).auth.metadata).toEqual({ username: 'alice' });

    const bad = await run(['login', '-method=userpass', 'username=alice', 'password=wrong']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('invalid username or password');
  });
});
