/** The secrethub CLI against a running server: init, unseal, status exit codes, JSON output, Vault-style flags. */
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createTestDatabase } from '../support/database';
import { runCli } from '../support/cli';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

const cli = (args: string[], env: Record<string, string>, stdin?: string) => runCli(args, env, stdin);

describe('secrethub CLI (e2e)', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  let initOut: { unseal_keys_b64: string[]; unseal_keys_hex: string[]; root_token: string };

  beforeAll(async () => {
    server = await startServerProcess({ databaseUrl: await createTestDatabase() });
    env = { VAULT_ADDR: server.address };
  });
  afterAll(async () => server?.stop());

  it("client commands load neither Nest nor TypeORM: the server's module graph is required only by server commands", async () => {
    const program = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'program.js');
    const probe = `require(${JSON.stringify(program)}); const m = Object.keys(require.cache); console.log(JSON.stringify({ nest: m.filter((f) => f.includes('@nestjs')).length, typeorm: m.filter((f) => f.includes('/typeorm/')).length }));`;
    expect(JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }))).toEqual({ nest: 0, typeorm: 0 });
  });

  it('init, unseal (argument and hidden prompt), status exit codes, key-status, rotate, seal', async () => {
    const status0 = await cli(['status'], env);
    expect(status0.code).toBe(2);
    expect(status0.stdout).toMatch(/Initialized\s+false/);

    const init = await cli(['operator', 'init', '-key-shares=3', '-key-threshold=2', '-format=json'], env);
    expect(init.code).toBe(0);
    const out = JSON.parse(init.stdout);
    expect(out).toMatchObject({ unseal_shares: 3, unseal_threshold: 2 });
    expect(out.unseal_keys_b64).toHaveLength(3);
    expect(out.root_token).toMatch(/^hvs\./);
    initOut = out;

    const first = await cli(['operator', 'unseal', out.unseal_keys_b64[0]], env);
    expect(first.stdout).toMatch(/Unseal Progress\s+1\/2/);
    // No key argument: read from the prompt (stdin here), not echoed to stdout.
    const second = await cli(['operator', 'unseal', '--format', 'json'], env, out.unseal_keys_hex[1] + '\n');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).sealed).toBe(false);
    expect(second.stdout).not.toContain(out.unseal_keys_hex[1]);
    expect(second.stderr).toContain('Unseal Key (will be hidden)');

    expect((await cli(['status'], env)).code).toBe(0);
    const withToken = { ...env, VAULT_TOKEN: out.root_token };
    expect((await cli(['operator', 'key-status'], withToken)).stdout).toMatch(/Key Term\s+1/);
    const rotated = await cli(['operator', 'rotate', '--format=json'], withToken);
    expect(JSON.parse(rotated.stdout).term).toBe(2);

    const denied = await cli(['operator', 'seal'], env);
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain('permission denied');
    expect((await cli(['operator', 'seal'], withToken)).stdout).toContain('Vault is sealed');
    expect((await cli(['status'], env)).code).toBe(2);
  });

  it('a second init is refused; rekey through the CLI replaces the shares', async () => {
    const failed = await cli(['operator', 'init'], env);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('Vault is already initialized');

    for (const key of initOut.unseal_keys_b64.slice(0, 2)) await cli(['operator', 'unseal', key], env);
    const withToken = { ...env, VAULT_TOKEN: initOut.root_token };
    expect((await cli(['operator', 'rekey', '-init', '-key-shares=2', '-key-threshold=2'], env)).code).toBe(2);
    const started = await cli(['operator', 'rekey', '-init', '-key-shares=2', '-key-threshold=2', '-format=json'], withToken);
    expect(JSON.parse(started.stdout)).toMatchObject({ started: true, n: 2, t: 2 });
    const progress = await cli(['operator', 'rekey', initOut.unseal_keys_b64[0]], env);
    expect(progress.stdout).toContain('Rekey progress: 1/');
    const done = await cli(['operator', 'rekey', '--format', 'json', initOut.unseal_keys_b64[2]], env);
    const result = JSON.parse(done.stdout);
    expect(result).toMatchObject({ complete: true });
    expect(result.keys_base64).toHaveLength(2);

    await call(server.address, 'PUT', 'sys/seal', { token: initOut.root_token });
    await cli(['operator', 'unseal', initOut.unseal_keys_b64[0]], env);
    expect((await cli(['operator', 'unseal', initOut.unseal_keys_b64[1]], env)).stderr).toContain('unseal failed, invalid key');
    for (const key of result.keys_base64) await cli(['operator', 'unseal', key], env);
    expect((await cli(['status'], env)).code).toBe(0);
  });

  it('unreachable server: exit 2 with a clear message', async () => {
    const res = await cli(['status'], { VAULT_ADDR: 'http://127.0.0.1:1' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cannot reach/);
  });

  it('SIGTERM finishes an in-flight request before exiting', async () => {
    const other = await startServerProcess({ databaseUrl: await createTestDatabase() });
    const socket = connect(other.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let response = '';
    socket.on('data', (d) => (response += d.toString()));
    const body = JSON.stringify({ secret_shares: 1, secret_threshold: 1 });
    socket.write(
      `PUT /v1/sys/init HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    const stopped = other.stop();
    await new Promise((r) => setTimeout(r, 200));
    socket.write(body.slice(10));
    await new Promise((r) => socket.once('close', r));
    expect(response).toMatch(/^HTTP\/1\.1 200/);
    expect(response).toContain('root_token');
    expect(await stopped).toBe(0);
    expect(other.output()).toContain('SIGTERM: stopping');
  });
});
