/** Dev mode, an HCL config file with a storage "postgresql" stanza, and `secrethub migrate`. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { freePort, MAIN, startServerProcess } from '../support/server-process';

jest.setTimeout(180_000);

describe('server modes (e2e)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-modes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--dev: throw-away database, initialised, unsealed, the given root token works', async () => {
    const server = await startServerProcess({ args: ['--dev', '--dev-root-token-id', 'hvs.devroot'], readyText: 'should NOT be used in production' });
    try {
      expect(server.output()).toContain('Root Token: hvs.devroot');
      expect((await call(server.address, 'GET', 'sys/health')).status).toBe(200);
      expect((await call(server.address, 'GET', 'sys/key-status', { token: 'hvs.devroot' })).status).toBe(200);
    } finally {
      const code = await server.stop();
      if (code !== 0) console.log(server.output());
      expect(code).toBe(0);
    }
  });

  it('an HCL config file names the listener and the PostgreSQL storage', async () => {
    const url = await createTestDatabase();
    const port = await freePort();
    const file = join(dir, 'server.hcl');
    writeFileSync(
      file,
      `listener "tcp" {\n  address = "127.0.0.1:${port}"\n}\nstorage "postgresql" {\n  connection_url = "${url}"\n}\ncluster_name = "from-config"\n`,
    );
    const server = await startServerProcess({ args: ['--config', file], port });
    try {
      const init = (await call(server.address, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })).body;
      expect(init.keys[0]).toMatch(/^[0-9a-f]{64}$/);
      const unsealed = (await call(server.address, 'PUT', 'sys/unseal', { body: { key: init.keys_base64[0] } })).body;
      expect(unsealed).toMatchObject({ sealed: false, cluster_name: 'from-config' });
    } finally {
      await server.stop();
    }
    const client = new Client({ connectionString: url });
    await client.connect();
    expect((await client.query('SELECT count(*)::int AS n FROM seal_config')).rows[0].n).toBe(1);
    await client.end();
  });

  it('a non-loopback listener without TLS is refused at start-up', () => {
    const res = spawnSync(process.execPath, [MAIN, 'server', '--listen', '0.0.0.0:18999'], {
      env: { ...process.env, DATABASE_URL: 'postgres://unused/x' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('tls_disable');
  });

  it('secrethub migrate applies the schema once, then reports it up to date', async () => {
    const url = await createTestDatabase();
    const env = { ...process.env, DATABASE_URL: url };
    const first = spawnSync(process.execPath, [MAIN, 'migrate', '--format', 'json'], { env, encoding: 'utf8' });
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout).applied.length).toBeGreaterThan(0);
    const second = spawnSync(process.execPath, [MAIN, 'migrate'], { env, encoding: 'utf8' });
    expect(second.stdout).toContain('Schema is up to date.');
  });
});
