/**
 * The newcomer's path over HTTP, on the embedded PostgreSQL in a data directory:
 * health 501 → init → unseal → restart → sealed → unseal with the same shares;
 * kill -9 → the stale postmaster is cleaned up and the data is still there.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(180_000);

describe('lifecycle on the embedded PostgreSQL (e2e)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'secrethub-e2e-'));
  let server: ServerProcess | undefined;

  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('init, unseal, restart sealed, unseal with the same shares, survive kill -9', async () => {
    server = await startServerProcess({ dataDir });
    let a = server.address;
    expect((await call(a, 'GET', 'sys/health')).status).toBe(501);
    expect((await call(a, 'GET', 'sys/init')).body).toEqual({ initialized: false });

    const state = JSON.parse(readFileSync(join(dataDir, 'embedded-postgres.json'), 'utf8'));
    expect(state.port).not.toBe(5432);
    expect(statSync(join(dataDir, 'embedded-postgres.json')).mode & 0o777).toBe(0o600);

    const init = await call(a, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 2 } });
    expect(init.status).toBe(200);
    expect(init.body.keys).toHaveLength(3);
    expect(init.body.keys[0]).toMatch(/^[0-9a-f]{66}$/);
    expect(init.body.root_token).toMatch(/^hvs\.[0-9A-Za-z]{24}$/);
    const { keys, keys_base64: keysB64, root_token: rootToken } = init.body as { keys: string[]; keys_base64: string[]; root_token: string };
    expect((await call(a, 'GET', 'sys/health')).status).toBe(503);

    expect((await call(a, 'PUT', 'sys/unseal', { body: { key: keys[0] } })).body).toMatchObject({ sealed: true, progress: 1, t: 2, n: 3 });
    expect((await call(a, 'PUT', 'sys/unseal', { body: { key: keysB64[1] } })).body).toMatchObject({ sealed: false, progress: 0 });
    expect((await call(a, 'GET', 'sys/health')).status).toBe(200);
    expect((await call(a, 'GET', 'sys/key-status', { token: rootToken })).body).toMatchObject({ term: 1, data: { term: 1 } });

    // Graceful restart on the same data: comes back sealed; the same shares unseal it.
    expect(await server.stop()).toBe(0);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    server = await startServerProcess({ dataDir });
    a = server.address;
    expect((await call(a, 'GET', 'sys/seal-status')).body).toMatchObject({ initialized: true, sealed: true, t: 2, n: 3 });
    expect((await call(a, 'GET', 'sys/key-status', { token: rootToken })).status).toBe(503);
    await call(a, 'PUT', 'sys/unseal', { body: { key: keys[2] } });
    expect((await call(a, 'PUT', 'sys/unseal', { body: { key: keys[1] } })).body.sealed).toBe(false);
    expect((await call(a, 'GET', 'sys/key-status', { token: rootToken })).status).toBe(200);

    // kill -9: PostgreSQL is left running; the next start stops the stale postmaster and carries on.
    const pgPid = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    await server.kill9();
    expect(() => process.kill(pgPid, 0)).not.toThrow();
    server = await startServerProcess({ dataDir });
    a = server.address;
    expect(server.output()).toContain('stale postmaster');
    await call(a, 'PUT', 'sys/unseal', { body: { key: keysB64[0] } });
    expect((await call(a, 'PUT', 'sys/unseal', { body: { key: keysB64[2] } })).body.sealed).toBe(false);
    expect((await call(a, 'GET', 'sys/key-status', { token: rootToken })).body.data.term).toBe(1);
  });
});
