/** Response wrapping over HTTP and through the CLI, as `vault read -wrap-ttl` and `vault unwrap`. */
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { runCli } from '../support/cli';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('response wrapping (e2e)', () => {
  let server: ServerProcess | undefined;
  afterAll(async () => server?.stop());

  it('secrethub read -wrap-ttl gives a wrapping token; secrethub unwrap gives the secret once', async () => {
    server = await startServerProcess({ databaseUrl: await createTestDatabase() });
    const init = (await call(server.address, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })).body;
    await call(server.address, 'PUT', 'sys/unseal', { body: { key: init.keys[0] } });
    const rootToken = init.root_token as string;
    await call(server.address, 'PUT', 'sys/mounts/secret', { token: rootToken, body: { type: 'kv', options: { version: '2' } } });
    await call(server.address, 'PUT', 'secret/data/db', { token: rootToken, body: { data: { password: 'p4ss' } } });
    const cli = (...args: string[]) => runCli(args, { VAULT_ADDR: server!.address, VAULT_TOKEN: rootToken });

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
});
