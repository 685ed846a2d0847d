/** Response wrapping over HTTP and through the CLI, as `vault read -wrap-ttl` and `vault unwrap`; policies' wrapping TTL limits. */
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { runCli } from '../support/cli';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('response wrapping (e2e)', () => {
  let server: ServerProcess;
  let rootToken: string;

  beforeAll(async () => {
    server = await startServerProcess({ databaseUrl: await createTestDatabase() });
    const init = (await call(server.address, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })).body;
    await call(server.address, 'PUT', 'sys/unseal', { body: { key: init.keys[0] } });
    rootToken = init.root_token as string;
    await call(server.address, 'PUT', 'sys/mounts/secret', { token: rootToken, body: { type: 'kv', options: { version: '2' } } });
    await call(server.address, 'PUT', 'secret/data/db', { token: rootToken, body: { data: { password: 'p4ss' } } });
  });
  afterAll(async () => server?.stop());

  it('secrethub read -wrap-ttl gives a wrapping token; secrethub unwrap gives the secret once', async () => {
    const cli = (...args: string[]) => runCli(args, { VAULT_ADDR: server.address, VAULT_TOKEN: rootToken });

    const wrapped = await cli('read', '-wrap-ttl=60s', 'secret/data/db');
    expect(wrapped.code).toBe(0);
    expect(wrapped.stdout).toMatch(/wrapping_token\s+hvs\./);
    expect(wrapped.stdout).toMatch(/wrapping_token_creation_path\s+secret\/data\/db/);
    expect(wrapped.stdout).not.toContain('p4ss');
    const token = (await cli('read', '-wrap-ttl=60s', '-field=wrapping_token', 'secret/data/db')).stdout.trim();

    const unwrapped = await cli('unwrap', '-format=json', token);
    expect(unwrapped.code).toBe(0);
    expect(JSON.parse(unwrapped.stdout).data.data).toEqual({ password: 'p4ss' });
    const again = await cli('unwrap', token);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('wrapping token is not valid or does not exist');

    // Over HTTP, with the wrapping token as the request's token (as `VAULT_TOKEN=<wrapping token> vault unwrap`).
    const raw = await call(server.address, 'GET', 'secret/data/db', { token: rootToken, headers: { 'X-Vault-Wrap-TTL': '30' } });
    expect(raw.body.wrap_info.ttl).toBe(30);
    const viaHeader = await call(server.address, 'PUT', 'sys/wrapping/unwrap', { token: raw.body.wrap_info.token });
    expect(viaHeader.body.data.data).toEqual({ password: 'p4ss' });
  });

  it('min_wrapping_ttl / max_wrapping_ttl: a wrap TTL within the limits is wrapped; outside them, or none, is 403 (Vault)', async () => {
    const policy = [
      'path "secret/data/db" {\n  capabilities = ["read"]\n  min_wrapping_ttl = "1m"\n  max_wrapping_ttl = "10m"\n}',
      'path "secret/data/max-only" {\n  capabilities = ["read", "create", "update"]\n  max_wrapping_ttl = "5m"\n}',
    ].join('\n');
    expect((await call(server.address, 'PUT', 'sys/policies/acl/must-wrap', { token: rootToken, body: { policy } })).status).toBe(204);
    const token = (await call(server.address, 'POST', 'auth/token/create', { token: rootToken, body: { policies: ['must-wrap'] } })).body.auth
      .client_token as string;
    const read = (path: string, wrapTtl?: string) =>
      call(server.address, 'GET', path, { token, headers: wrapTtl === undefined ? {} : { 'X-Vault-Wrap-TTL': wrapTtl } });

    for (const [wrapTtl, seconds] of [
      ['1m', 60],
      ['5m', 300],
      ['600', 600],
    ] as const) {
      const wrapped = await read('secret/data/db', wrapTtl);
      expect(wrapped.status).toBe(200);
      expect(wrapped.body).toMatchObject({ data: null, wrap_info: { ttl: seconds, creation_path: 'secret/data/db' } });
      expect(wrapped.text).not.toContain('p4ss');
      expect((await call(server.address, 'PUT', 'sys/wrapping/unwrap', { token: wrapped.body.wrap_info.token })).body.data.data).toEqual({ password: 'p4ss' });
    }
    // Below the minimum, above the maximum, no wrapping at all (no header, or 0 which means none).
    for (const wrapTtl of ['59s', '601', '1h', undefined, '0']) {
      const refused = await read('secret/data/db', wrapTtl);
      expect({ wrapTtl, status: refused.status, body: refused.body }).toEqual({ wrapTtl, status: 403, body: { errors: ['permission denied'] } });
    }
    // max_wrapping_ttl alone: any TTL up to it, but wrapping is still required (a write's 204 is not wrapped).
    expect((await call(server.address, 'PUT', 'secret/data/max-only', { token: rootToken, body: { data: { k: 'v' } } })).status).toBe(200);
    expect((await read('secret/data/max-only', '1s')).body.wrap_info.ttl).toBe(1);
    expect((await read('secret/data/max-only', '5m')).body.wrap_info.ttl).toBe(300);
    expect((await read('secret/data/max-only', '5m1s')).status).toBe(403);
    expect((await read('secret/data/max-only')).status).toBe(403);
    const write = (wrapTtl?: string) =>
      call(server.address, 'PUT', 'secret/data/max-only', { token, body: { data: { k: 'w' } }, headers: wrapTtl ? { 'X-Vault-Wrap-TTL': wrapTtl } : {} });
    expect((await write()).status).toBe(403);
    expect((await write('2m')).body.wrap_info.ttl).toBe(120);
  });
});
