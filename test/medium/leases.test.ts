/**
 * The expiration manager on a real kernel and PostgreSQL, through the audited pipeline, with a
 * small test engine (`test-lease`, mounted at `leasy/`) whose revocations are recorded and can be
 * made to fail. This is an engine written for the test, not a stand-in for the database.
 */
import type { BackendDefinition } from '../../src/framework/backend';
import { logical, type RouteDefinition } from '../../src/framework/route';
import { nodeIdentity } from '../../src/kernel/cluster/node-identity';
import { ExpirationManager } from '../../src/kernel/leases/expiration-manager';
import { LeaseRepository } from '../../src/kernel/leases/lease.repository';
import { createLogger } from '../../src/logger';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';
import { until } from '../support/wait';

jest.setTimeout(120_000);

const revoked: string[] = [];
let failing = false;

const routes: RouteDefinition[] = [
  {
    path: 'creds/:name',
    auth: 'token',
    allowedWhileSealed: false,
    help: 'A leased test credential.',
    handlers: {
      read: async (ctx) => ({
        ...logical({ username: `u-${ctx.params.name}`, password: 'lease-canary' }),
        lease: {
          ttlSeconds: Number(ctx.query.get('ttl') ?? 60),
          maxTtlSeconds: Number(ctx.query.get('max') ?? 120),
          renewable: ctx.params.name !== 'fixed',
          internal: { username: `u-${ctx.params.name}` },
        },
      }),
    },
  },
];
const testEngine: BackendDefinition = {
  type: 'test-lease',
  class: 'secret',
  routes: () => routes,
  leases: {
    revoke: async ({ internal }) => {
      if (failing) throw new Error('target database unreachable');
      revoked.push(internal.username as string);
    },
  },
};

describe('leases (medium)', () => {
  let k: TestKernel;
  let call: Call;
  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    k.mounts.register(testEngine);
    expect((await call('PUT', 'sys/mounts/leasy', { type: 'test-lease' })).status).toBe(204);
  });
  afterAll(async () => k.close());
  beforeEach(() => {
    revoked.length = 0;
    failing = false;
  });

  const issue = async (name: string, query = '', token?: string) => {
    const res = await call('GET', `leasy/creds/${name}${query}`, undefined, token);
    expect(res.status).toBe(200);
    return res.json as { lease_id: string; lease_duration: number; renewable: boolean; data: Record<string, string> };
  };
  const lookup = async (id: string) => (await call('PUT', 'sys/leases/lookup', { lease_id: id })).json;

  it('a leased answer carries lease_id, duration and renewable; the row holds the engine data only as ciphertext', async () => {
    const s = await issue('app');
    expect(s).toMatchObject({ lease_duration: 60, renewable: true, data: { username: 'u-app' } });
    expect(s.lease_id).toMatch(/^leasy\/creds\/app\/[A-Za-z0-9]{24}$/);
    const rows: { credentials_ciphertext: Buffer; secret_path: string }[] = await k.dataSource.query(
      'SELECT credentials_ciphertext, secret_path FROM leases WHERE lease_id = $1',
      [s.lease_id],
    );
    expect(rows[0].secret_path).toBe('leasy/creds/app');
    expect(rows[0].credentials_ciphertext.toString('latin1')).not.toContain('u-app');
    expect((await lookup(s.lease_id)).data).toMatchObject({ id: s.lease_id, renewable: true, ttl: expect.any(Number), revoked: false });
  });

  it('renew moves expiry by the increment but never past the max TTL; a non-renewable lease is refused', async () => {
    const s = await issue('app', '?ttl=10&max=30');
    const renewed = await call('PUT', 'sys/leases/renew', { lease_id: s.lease_id, increment: '20s' });
    expect(renewed.json).toMatchObject({ lease_id: s.lease_id, renewable: true, lease_duration: 20 });
    const capped = await call('PUT', 'sys/leases/renew', { lease_id: s.lease_id, increment: '1h' });
    expect(capped.json.lease_duration).toBeLessThanOrEqual(30);
    expect(capped.json.lease_duration).toBeGreaterThanOrEqual(28);
    const fixed = await issue('fixed');
    expect((await call('PUT', 'sys/leases/renew', { lease_id: fixed.lease_id })).json.errors).toEqual(['lease is not renewable']);
    expect((await call('PUT', `sys/renew/${s.lease_id}`, {})).status).toBe(200);
  });

  it('revoke asks the engine once and is idempotent; revoke-prefix takes every lease under it; LIST shows what is left', async () => {
    const s = await issue('one');
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: s.lease_id })).status).toBe(204);
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: s.lease_id })).status).toBe(204);
    expect(revoked).toEqual(['u-one']);
    expect((await lookup(s.lease_id)).data).toMatchObject({ revoked: true, ttl: 0, renewable: false });
    expect((await call('PUT', 'sys/leases/renew', { lease_id: s.lease_id })).status).toBe(400);

    await issue('pre-a');
    await issue('pre-b');
    expect((await call('GET', 'sys/leases/lookup/leasy/creds?list=true')).json.data.keys).toEqual(expect.arrayContaining(['pre-a/', 'pre-b/']));
    expect((await call('PUT', 'sys/leases/revoke-prefix/leasy/creds/pre-', {})).status).toBe(204);
    expect(revoked.sort()).toEqual(['u-one', 'u-pre-a', 'u-pre-b']);
  });

  it('expired leases are revoked by the loop, also by a manager started after a "restart"; a revoked token takes its leases', async () => {
    const s = await issue('short', '?ttl=1&max=1');
    await k.leases.stop();
    // A second manager on the same database stands for the restarted server.
    const restarted = new ExpirationManager(new LeaseRepository(k.dataSource, k.barrier), k.mounts, {
      maxAttempts: 6,
      tickMs: 200,
      claimer: nodeIdentity(),
      claimerSilentSeconds: 15,
      log: createLogger('error'),
    });
    restarted.start();
    try {
      // The engine's revoke runs before the lease row is marked: wait for the row, not the callback.
      const reasonOf = async (leaseId: string) =>
        ((await k.dataSource.query('SELECT revocation_reason AS reason FROM leases WHERE lease_id = $1', [leaseId])) as { reason: string | null }[])[0]
          ?.reason ?? null;
      await until(async () => revoked.includes('u-short') && (await reasonOf(s.lease_id)) !== null);
      expect((await lookup(s.lease_id)).data.revoked).toBe(true);
      expect(await reasonOf(s.lease_id)).toBe('expired');

      const child = (await call('PUT', 'auth/token/create', { policies: ['root'] })).json.auth.client_token as string;
      const owned = await issue('owned', '', child);
      expect((await call('PUT', 'auth/token/revoke-self', undefined, child)).status).toBe(204);
      await until(async () => revoked.includes('u-owned') && (await reasonOf(owned.lease_id)) !== null);
      expect(await reasonOf(owned.lease_id)).toBe('token revoked');
    } finally {
      await restarted.stop();
      k.leases.start();
    }
  });

  it('a claim by a process that stopped heartbeating is taken over at once; a live claimer keeps its claim', async () => {
    await k.leases.stop();
    const manager = new ExpirationManager(new LeaseRepository(k.dataSource, k.barrier), k.mounts, {
      maxAttempts: 6,
      tickMs: 1000,
      claimer: nodeIdentity(),
      claimerSilentSeconds: 15,
      log: createLogger('error'),
    });
    try {
      const dead = await issue('claimed-dead', '?ttl=1&max=1');
      const live = await issue('claimed-live', '?ttl=1&max=1');
      await new Promise((r) => setTimeout(r, 1100));
      const claim = "UPDATE leases SET next_attempt_at = now() + interval '60 seconds', claimed_node_id = $2, claimed_worker_id = $3 WHERE lease_id = $1";
      // Killed mid-revocation: its claim runs for a minute, but its registry row is gone.
      await k.dataSource.query(claim, [dead.lease_id, 'a-killed-node', 1]);
      // Claimed by a process whose heartbeat is fresh (this kernel's registry row).
      const me = nodeIdentity();
      expect(await k.dataSource.query('SELECT 1 FROM ha_nodes WHERE node_id = $1 AND worker_id = $2', [me.nodeId, me.workerId])).toHaveLength(1);
      await k.dataSource.query(claim, [live.lease_id, me.nodeId, me.workerId]);
      await manager.tick();
      expect(revoked).toContain('u-claimed-dead');
      expect(revoked).not.toContain('u-claimed-live');
      expect((await lookup(dead.lease_id)).data.revoked).toBe(true);
      expect((await lookup(live.lease_id)).data.revoked).toBe(false);
    } finally {
      await manager.stop();
      k.leases.start();
    }
  });

  it('a failing engine: attempts back off, then the lease is irrevocable; a manual revoke retries; revoke-force drops the record', async () => {
    const manager = new ExpirationManager(new LeaseRepository(k.dataSource, k.barrier), k.mounts, {
      maxAttempts: 3,
      tickMs: 1000,
      claimer: nodeIdentity(),
      claimerSilentSeconds: 15,
      log: createLogger('error'),
    });
    await k.leases.stop(); // only this manager's passes count the attempts below
    failing = true;
    const s = await issue('stuck', '?ttl=1&max=1');
    await new Promise((r) => setTimeout(r, 1100));
    await k.dataSource.query('UPDATE leases SET next_attempt_at = NULL WHERE lease_id = $1', [s.lease_id]);
    for (let i = 0; i < 3; i++) {
      await manager.tick();
      const [row] = await k.dataSource.query('SELECT revoke_attempts, next_attempt_at, irrevocable, last_error FROM leases WHERE lease_id = $1', [s.lease_id]);
      expect(row.revoke_attempts).toBe(i + 1);
      expect(row.last_error).toBe('target database unreachable');
      expect(row.irrevocable).toBe(i === 2);
      expect(new Date(row.next_attempt_at).getTime()).toBeGreaterThan(Date.now());
      await k.dataSource.query('UPDATE leases SET next_attempt_at = NULL WHERE lease_id = $1', [s.lease_id]); // skip the backoff
    }
    await manager.tick();
    expect((await lookup(s.lease_id)).data).toMatchObject({ irrevocable: true, revoke_attempts: 3, revoked: false });
    const manual = await call('PUT', 'sys/leases/revoke', { lease_id: s.lease_id });
    expect(manual.status).toBe(400);
    expect(manual.body).not.toContain('unreachable');
    expect((await call('PUT', 'sys/leases/revoke-force/leasy/creds/stuck', {})).status).toBe(204);
    expect((await call('PUT', 'sys/leases/lookup', { lease_id: s.lease_id })).status).toBe(400);
    expect(revoked).toEqual([]);
    k.leases.start();
  });

  it('100 concurrent leased reads are all tracked, each under its own id', async () => {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => issue(`many-${i}`)));
    expect(new Set(results.map((r) => r.lease_id)).size).toBe(100);
    const [{ n }] = await k.dataSource.query("SELECT count(*)::int AS n FROM leases WHERE lease_id LIKE 'leasy/creds/many-%'");
    expect(n).toBe(100);
  });

  it('disabling a mount revokes its leases first; a failing revocation aborts the disable', async () => {
    expect((await call('PUT', 'sys/mounts/leasy2', { type: 'test-lease' })).status).toBe(204);
    const a = await call('GET', 'leasy2/creds/d1');
    failing = true;
    expect((await call('DELETE', 'sys/mounts/leasy2')).status).toBe(400);
    expect((await call('GET', 'leasy2/creds/d2')).status).toBe(200); // still mounted
    failing = false;
    expect((await call('DELETE', 'sys/mounts/leasy2')).status).toBe(204);
    expect(revoked.sort()).toEqual(['u-d1', 'u-d2']);
    expect((await lookup(a.json.lease_id)).data.revoked).toBe(true);
  });
});
