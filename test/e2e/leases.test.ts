/**
 * sys/leases and `secrethub lease` over HTTP against the built server: the wiring and the answers
 * for unknown leases. Leases of a real engine: e2e `database-cli`; the life cycle: medium `leases`.
 */
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { runCli } from '../support/cli';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('leases (e2e)', () => {
  let server: ServerProcess | undefined;
  afterAll(async () => server?.stop());

  it('secrethub lease lookup|renew|revoke reach sys/leases; unknown leases: lookup and renew refused, revoke idempotent', async () => {
    server = await startServerProcess({ databaseUrl: await createTestDatabase() });
    const init = (await call(server.address, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })).body;
    await call(server.address, 'PUT', 'sys/unseal', { body: { key: init.keys[0] } });
    const cli = (...args: string[]) => runCli(args, { VAULT_ADDR: server!.address, VAULT_TOKEN: init.root_token });

    const lookup = await cli('lease', 'lookup', 'kv/creds/x/abc');
    expect([lookup.code, lookup.stderr.includes('invalid lease')]).toEqual([2, true]);
    const renew = await cli('lease', 'renew', '-increment=1h', 'kv/creds/x/abc');
    expect([renew.code, renew.stderr.includes('lease not found or lease is not renewable')]).toEqual([2, true]);
    expect((await cli('lease', 'revoke', 'kv/creds/x/abc')).code).toBe(0);
    expect((await cli('lease', 'revoke', '-prefix', 'kv/creds/')).code).toBe(0);
    const forced = await cli('lease', 'revoke', '-prefix', '-force', 'kv/creds/');
    expect([forced.stdout.trim(), forced.stderr.includes('Warning! Force-removing leases')]).toEqual([
      'Success! Force revoked any leases with prefix: kv/creds/',
      true,
    ]);
    expect((await cli('lease', 'revoke', '-sync', 'kv/creds/x/abc')).stdout.trim()).toBe('Success! Revoked lease: kv/creds/x/abc');
    expect((await cli('lease', 'revoke', '-force', 'kv/creds/x')).code).not.toBe(0);
    const noSudo = (await call(server.address, 'PUT', 'auth/token/create', { token: init.root_token, body: { policies: ['default'] } })).body.auth.client_token;
    expect((await call(server.address, 'PUT', 'sys/leases/revoke-prefix/kv/', { token: noSudo })).status).toBe(403);
  });
});
