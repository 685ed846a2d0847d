/**
 * Two server processes whose pools go through PgBouncer in transaction mode (3 server connections
 * for both: every pool client shares them), with `prepared_statements = false` and the direct
 * `ha_connection_url` for session state. Under concurrent load they serve KV v2, tokens, transit
 * and database leases; the audit chain verifies; a policy change on one node is in force on the
 * other (the LISTEN client is direct). Without the setting, the same server through PgBouncer fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';
import { createTestDatabase } from '../support/database';
import { call, type HttpResult } from '../support/http';
import { describeWithPgBouncer, startPgBouncer, type PgBouncer } from '../support/pgbouncer';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { until } from '../support/wait';

jest.setTimeout(240_000);

const CREATE = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`;

describeWithPgBouncer('PgBouncer (transaction mode) in front of two server nodes (e2e)', () => {
  const root = 'hvs.pgbouncerroot';
  let databaseUrl: string;
  let bouncer: PgBouncer;
  let dir: string;
  let nodeA: ServerProcess;
  let nodeB: ServerProcess;
  let unsealKey: string;
  let a: string;
  let b: string;

  /** A node whose pool goes through PgBouncer; session state direct; its own audit files. */
  const startNode = (name: string, args: string[], readyText: string, preparedStatements = false) =>
    startServerProcess({
      databaseUrl: bouncer.url,
      args,
      readyText,
      env: {
        SECRETHUB_HA_DATABASE_URL: databaseUrl,
        SECRETHUB_DATABASE_PREPARED_STATEMENTS: String(preparedStatements),
        SECRETHUB_AUDIT_FILE_DIR: join(dir, name, 'audit'),
        SECRETHUB_AUDIT_CHECKPOINT_FILE: join(dir, name, 'checkpoints.jsonl'),
      },
    });

  /** The body of a successful answer (200, or 204 for writes that answer nothing). */
  const ok = (what: string, r: HttpResult) => {
    if (r.status !== 200 && r.status !== 204) throw new Error(`${what}: ${r.status} ${r.text}`);
    return r.body;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'secrethub-pgbouncer-e2e-'));
    databaseUrl = await createTestDatabase();
    bouncer = await startPgBouncer(databaseUrl, 3);
    nodeA = await startNode('a', ['--dev', '--dev-root-token-id', root], 'should NOT be used');
    a = nodeA.address;
    unsealKey = /Unseal Key: (\S+)/.exec(nodeA.output())?.[1] ?? '';
    nodeB = await startNode('b', [], 'listening on');
    b = nodeB.address;
    expect(ok('unseal B', await call(b, 'PUT', 'sys/unseal', { body: { key: unsealKey } })).sealed).toBe(false);
  });

  afterAll(async () => {
    await nodeB?.stop();
    await nodeA?.stop();
    await bouncer?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves KV v2, tokens, transit and database leases under concurrent load on both nodes; the audit log verifies', async () => {
    ok('audit enable', await call(a, 'PUT', 'sys/audit/database', { token: root, body: { type: 'database' } }));
    ok('kv mount', await call(a, 'PUT', 'sys/mounts/kv', { token: root, body: { type: 'kv', options: { version: '2' } } }));
    ok('transit mount', await call(a, 'PUT', 'sys/mounts/transit', { token: root, body: { type: 'transit' } }));
    ok('transit key', await call(a, 'PUT', 'transit/keys/k', { token: root, body: {} }));
    const target = new URL(await createTestDatabase());
    ok('database mount', await call(a, 'PUT', 'sys/mounts/database', { token: root, body: { type: 'database' } }));
    ok(
      'database config',
      await call(a, 'PUT', 'database/config/pg', {
        token: root,
        body: {
          plugin_name: 'postgresql-database-plugin',
          connection_url: `postgresql://{{username}}:{{password}}@${target.host}${target.pathname}`,
          username: decodeURIComponent(target.username),
          password: decodeURIComponent(target.password),
          allowed_roles: 'app',
          verify_connection: false,
        },
      }),
    );
    ok(
      'database role',
      await call(a, 'PUT', 'database/roles/app', { token: root, body: { db_name: 'pg', creation_statements: CREATE, default_ttl: '1h', max_ttl: '2h' } }),
    );

    const one = async (i: number) => {
      const [here, there] = i % 2 === 0 ? [a, b] : [b, a];
      ok('kv write', await call(here, 'PUT', `kv/data/p${i}`, { token: root, body: { data: { v: `value-${i}` } } }));
      expect(ok('kv read', await call(there, 'GET', `kv/data/p${i}`, { token: root })).data.data).toEqual({ v: `value-${i}` });
      const token = ok('token create', await call(here, 'POST', 'auth/token/create', { token: root, body: { policies: ['default'], ttl: '1h' } })).auth
        .client_token as string;
      expect(ok('token lookup', await call(there, 'GET', 'auth/token/lookup-self', { token })).data.policies).toEqual(['default']);
      const plaintext = Buffer.from(`secret ${i}`).toString('base64');
      const { ciphertext } = ok('encrypt', await call(here, 'PUT', 'transit/encrypt/k', { token: root, body: { plaintext } })).data;
      expect(ok('decrypt', await call(there, 'PUT', 'transit/decrypt/k', { token: root, body: { ciphertext } })).data.plaintext).toBe(plaintext);
      if (i % 4 === 0) {
        const lease = ok('creds', await call(here, 'GET', 'database/creds/app', { token: root })).lease_id as string;
        const renewed = ok('lease renew', await call(there, 'PUT', 'sys/leases/renew', { token: root, body: { lease_id: lease, increment: 1800 } }));
        expect(renewed).toMatchObject({ lease_id: lease, lease_duration: 1800, renewable: true });
      }
    };
    await Promise.all(Array.from({ length: 40 }, (_, i) => one(i)));

    const cli = (...args: string[]) => runCli(args, { VAULT_ADDR: a, VAULT_TOKEN: root });
    expect((await cli('audit', 'checkpoint')).stdout).toMatch(/Checkpoint at tree size \d+/);
    const keyFile = join(dir, 'audit.pem');
    writeFileSync(keyFile, (await cli('audit', 'public-key')).stdout);
    const exportFile = join(dir, 'export.jsonl');
    expect((await cli('audit', 'export', '--output', exportFile)).code).toBe(0);
    const verified = await cli('audit', 'verify', exportFile, '--public-key', keyFile, '--checkpoint', join(dir, 'a', 'checkpoints.jsonl'));
    expect(verified.stdout).toMatch(/^Verified: \d+ entries \(sequences 1\.\.\d+\)/);
    expect(verified.code).toBe(0);
  });

  it('a policy changed on node A is in force on node B at once (the LISTEN connection is direct)', async () => {
    ok('mount', await call(a, 'PUT', 'sys/mounts/team', { token: root, body: { type: 'kv', options: { version: '2' } } }));
    const allow = 'path "team/data/shared" { capabilities = ["read"] }';
    ok('policy', await call(a, 'PUT', 'sys/policies/acl/reader', { token: root, body: { policy: allow } }));
    ok('secret', await call(a, 'PUT', 'team/data/shared', { token: root, body: { data: { v: 1 } } }));
    const token = ok('token', await call(a, 'POST', 'auth/token/create', { token: root, body: { policies: ['reader'] } })).auth.client_token as string;
    // B sees the new mount once A's notification arrives, then reads (and caches the token and the policy).
    await until(async () => (await call(b, 'GET', 'team/data/shared', { token })).status === 200, 5000);
    expect((await call(b, 'GET', 'team/data/shared', { token })).status).toBe(200);
    ok(
      'policy change',
      await call(a, 'PUT', 'sys/policies/acl/reader', { token: root, body: { policy: 'path "team/data/other" { capabilities = ["read"] }' } }),
    );
    await until(async () => (await call(b, 'GET', 'team/data/shared', { token })).status === 403, 5000);
    ok('policy back', await call(b, 'PUT', 'sys/policies/acl/reader', { token: root, body: { policy: allow } }));
    await until(async () => (await call(a, 'GET', 'team/data/shared', { token })).status === 200, 5000);
  });

  it('without prepared_statements = false the same server through PgBouncer fails (named statements land on other server sessions)', async () => {
    const named = await startNode('named', [], 'listening on', true);
    try {
      ok('unseal', await call(named.address, 'PUT', 'sys/unseal', { body: { key: unsealKey } }));
      const read = async (i: number) =>
        i % 2 === 0 ? call(named.address, 'GET', `kv/data/p${i % 40}`, { token: root }) : call(named.address, 'GET', 'auth/token/lookup-self', { token: root });
      const statuses = (await Promise.all(Array.from({ length: 60 }, (_, i) => read(i)))).map((r) => r.status);
      expect(statuses.filter((s) => s !== 200).length).toBeGreaterThan(0);
      expect(named.output()).toMatch(/prepared statement "[a-z0-9-]+" (already exists|does not exist)/);
    } finally {
      await named.stop();
    }
  });
});
