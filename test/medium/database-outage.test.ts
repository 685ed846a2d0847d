/**
 * The target database goes down while leases are revoked: revocations fail, are retried with
 * backoff by the expiration manager, end irrevocable (listed by `sys/leases?type=irrevocable`),
 * and then a manual revoke (target back) or revoke-force (target still gone; the orphan
 * reconciler drops the user once it is back) finishes the job. The outage is a TCP proxy in front
 * of the run's embedded PostgreSQL (password authentication) that the test stops and restarts.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Client } from 'pg';
import { createTestDatabase } from '../support/database';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';
import { until } from '../support/wait';

jest.setTimeout(120_000);

const CREATE = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`];

/** A TCP proxy to host:port that can be taken down (every open connection cut) and brought back on the same port. */
class Outage {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

describe('database engine, target down during revocation (medium)', () => {
  let k: TestKernel;
  let call: Call;
  let target: URL;
  let proxy: Outage;
  let admin: Client;

  const row = async (leaseId: string) =>
    (
      (await k.dataSource.query('SELECT revoke_attempts, irrevocable, revoked, last_error, next_attempt_at FROM leases WHERE lease_id = $1', [leaseId])) as {
        revoke_attempts: number;
        irrevocable: boolean;
        revoked: boolean;
        last_error: string | null;
        next_attempt_at: Date | null;
      }[]
    )[0];
  const userExists = async (name: string) => (await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rows.length > 0;

  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel());
    target = new URL(await createTestDatabase());
    proxy = new Outage(target.hostname, Number(target.port));
    await proxy.up();
    admin = new Client({ connectionString: target.toString() });
    admin.on('error', () => undefined);
    await admin.connect();
    expect((await call('PUT', 'sys/mounts/database', { type: 'database', options: { orphan_grace_period: '1s' } })).status).toBe(204);
    const config = {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${proxy.port}${target.pathname}`,
      username: decodeURIComponent(target.username),
      password: decodeURIComponent(target.password),
      allowed_roles: ['*'],
    };
    expect((await call('PUT', 'database/config/pg', config)).status).toBe(204);
    expect((await call('PUT', 'database/roles/app', { db_name: 'pg', creation_statements: CREATE, default_ttl: '1h' })).status).toBe(204);
    expect((await call('PUT', 'database/roles/short', { db_name: 'pg', creation_statements: CREATE, default_ttl: '1s', max_ttl: '1s' })).status).toBe(204);
  });
  afterAll(async () => {
    await proxy.down();
    await admin.end();
    await k.close();
  });

  it('expiry during an outage: automatic retries back off, then irrevocable and listed; back up, a manual revoke drops the user', async () => {
    const creds = (await call('GET', 'database/creds/short')).json;
    await proxy.down();
    // The expiration manager tries at expiry, then again after 1 s·2^n (with jitter).
    await until(async () => (await row(creds.lease_id)).revoke_attempts >= 3, 30_000);
    const failing = await row(creds.lease_id);
    expect(failing).toMatchObject({ revoked: false, irrevocable: false });
    expect(failing.last_error).toMatch(/ECONNREFUSED|connect/);
    expect(failing.next_attempt_at?.getTime()).toBeGreaterThan(Date.now());
    // Manual attempts count too: the sixth makes it irrevocable, and the loop stops trying.
    for (let attempt = failing.revoke_attempts + 1; attempt <= 6; attempt++) {
      const res = await call('PUT', 'sys/leases/revoke', { lease_id: creds.lease_id });
      expect([res.status, res.json.errors]).toEqual([
        400,
        [`failed to revoke lease: ${attempt === 6 ? 'lease is irrevocable' : 'the engine refused'}; see the server log`],
      ]);
    }
    expect(await row(creds.lease_id)).toMatchObject({ revoke_attempts: 6, irrevocable: true, revoked: false });
    const listed = await call('GET', 'sys/leases?type=irrevocable');
    expect(listed.json.data.lease_count).toBe(1);
    expect(listed.json.data.leases).toEqual([
      { lease_id: creds.lease_id, mount_id: k.mounts.get('secret', 'database/')?.uuid, error: expect.stringMatching(/connect/) },
    ]);
    expect((await call('GET', 'sys/leases/count?type=irrevocable')).json.data).toEqual({ lease_count: 1 });
    expect((await call('GET', 'sys/leases?type=expired')).status).toBe(400);
    await k.leases.tick();
    expect((await row(creds.lease_id)).revoke_attempts).toBe(6);
    expect(await userExists(creds.data.username)).toBe(true);

    await proxy.up();
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: creds.lease_id })).status).toBe(204);
    expect(await row(creds.lease_id)).toMatchObject({ revoked: true, irrevocable: false });
    expect(await userExists(creds.data.username)).toBe(false);
    expect((await call('GET', 'sys/leases/count?type=irrevocable')).json.data).toEqual({ lease_count: 0 });
  });

  it('revoke-force while the target is down drops the record; once the target is back the reconciler drops the user', async () => {
    const creds = (await call('GET', 'database/creds/app')).json;
    await proxy.down();
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: creds.lease_id })).status).toBe(400);
    expect((await call('PUT', `sys/leases/revoke-force/${creds.lease_id}`)).status).toBe(204);
    expect(await row(creds.lease_id)).toBeUndefined();
    // Down: the reconciler cannot reach the target and says so; the user is still there.
    await k.periodic.tick();
    expect(await userExists(creds.data.username)).toBe(true);
    await proxy.up();
    await new Promise((r) => setTimeout(r, 1100));
    await k.periodic.tick();
    expect(await userExists(creds.data.username)).toBe(false);
  });
});
