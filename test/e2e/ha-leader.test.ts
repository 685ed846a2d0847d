/**
 * Several server processes on one database (issue 30, part 2): exactly one holds the leader lease;
 * sys/leader, sys/ha-status and sys/health in Vault's shapes; step-down and kill -9 hand the lease
 * over; a leader whose lease row is deleted or rewritten is fenced at its next singleton write and
 * does not re-create the row; a leader stopped (SIGSTOP) past the TTL writes nothing singleton
 * after SIGCONT.
 *
 * The singleton write watched is the anomaly scan (every second here): each one that passes the
 * fence adds one to its process's `ha_nodes.singleton_writes`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createTestDatabase } from '../support/database';
import { call, initAndUnseal } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(300_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Cluster {
  nodes: ServerProcess[];
  rootToken: string;
  db: Client;
  stop(): Promise<void>;
}

async function startCluster(size: number, ttl: string, renew: string): Promise<Cluster> {
  const url = await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-ha-'));
  const config = join(dir, 'ha.hcl');
  writeFileSync(config, 'audit {\n  anomalies {\n    interval = "1s"\n  }\n}\n');
  const nodes: ServerProcess[] = [];
  const start = (i: number) =>
    startServerProcess({
      databaseUrl: url,
      dataDir: mkdtempSync(join(dir, `node${i}-`)),
      args: ['--config', config],
      env: { SECRETHUB_NODE_ID: `node${i}`, SECRETHUB_HA_LEASE_TTL: ttl, SECRETHUB_HA_RENEW_INTERVAL: renew },
    });
  nodes.push(await start(1));
  const { rootToken, key } = await initAndUnseal(nodes[0].address);
  for (let i = 2; i <= size; i++) {
    const node = await start(i);
    nodes.push(node);
    expect((await call(node.address, 'PUT', 'sys/unseal', { body: { key } })).body.sealed).toBe(false);
  }
  const db = new Client({ connectionString: url });
  await db.connect();
  return {
    nodes,
    rootToken,
    db,
    async stop() {
      await db.end();
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/** The index of the one node whose sys/leader says is_self, once exactly one does (among `among`). */
async function waitForLeader(c: Cluster, among = c.nodes, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const selves = await Promise.all(among.map(async (n) => (await call(n.address, 'GET', 'sys/leader')).body?.is_self === true));
    if (selves.filter(Boolean).length === 1) return c.nodes.indexOf(among[selves.indexOf(true)]);
    if (Date.now() > deadline) throw new Error(`no single leader after ${timeoutMs} ms: ${JSON.stringify(selves)}`);
    await sleep(200);
  }
}

async function leaseRow(c: Cluster): Promise<{ holder: string; epoch: number; valid_until: Date } | undefined> {
  const { rows } = await c.db.query('SELECT holder, epoch::int AS epoch, valid_until FROM ha_leader');
  return rows[0];
}

async function singletonWrites(c: Cluster, nodeId: string): Promise<number> {
  const { rows } = await c.db.query('SELECT singleton_writes::int AS n FROM ha_nodes WHERE node_id = $1', [nodeId]);
  return rows[0]?.n ?? -1;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('several processes on one database: the leader lease (e2e)', () => {
  describe('three nodes, ha_lease_ttl 3s, ha_renew_interval 1s', () => {
    let c: Cluster;
    beforeAll(async () => {
      c = await startCluster(3, '3s', '1s');
    });
    afterAll(async () => c?.stop());

    it('sys/leader, sys/ha-status and sys/health in Vault’s shapes: one leader, every unsealed node healthy', async () => {
      const leader = await waitForLeader(c);
      const leaderAddress = c.nodes[leader].address;
      for (const [i, n] of c.nodes.entries()) {
        const res = await call(n.address, 'GET', 'sys/leader');
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          ha_enabled: true,
          is_self: i === leader,
          active_time: i === leader ? expect.stringMatching(/^\d{4}-\d\d-\d\dT/) : '0001-01-01T00:00:00Z',
          leader_address: leaderAddress,
          leader_cluster_address: '',
          performance_standby: false,
          performance_standby_last_remote_wal: 0,
        });
        expect((await call(n.address, 'GET', 'sys/health')).status).toBe(200);
      }
      const status = await call(c.nodes[(leader + 1) % 3].address, 'GET', 'sys/ha-status', { token: c.rootToken });
      expect(status.status).toBe(200);
      expect(status.body.data.nodes).toEqual(status.body.nodes);
      const nodes = status.body.nodes as Record<string, unknown>[];
      expect(nodes).toHaveLength(3);
      expect(Object.keys(nodes[0]).sort()).toEqual(['active_node', 'api_address', 'cluster_address', 'hostname', 'last_echo', 'version']);
      expect(nodes.filter((n) => n.active_node)).toEqual([expect.objectContaining({ api_address: leaderAddress, last_echo: null })]);
      expect(nodes.map((n) => n.api_address).sort()).toEqual(c.nodes.map((n) => n.address).sort());
      for (const n of nodes.filter((n) => !n.active_node)) expect(Date.parse(n.last_echo as string)).toBeGreaterThan(Date.now() - 10_000);
      expect((await call(c.nodes[0].address, 'GET', 'sys/ha-status')).status).toBe(403);
      // The leader does the singleton work (the anomaly scan every second).
      await waitFor('the leader’s singleton writes', async () => (await singletonWrites(c, `node${leader + 1}`)) >= 2, 10_000);
    });

    it('sys/step-down (sudo): the leader releases the lease and another node takes it', async () => {
      const leader = await waitForLeader(c);
      const before = await leaseRow(c);
      const limited = (await call(c.nodes[leader].address, 'PUT', 'auth/token/create', { token: c.rootToken, body: { policies: ['default'] } })).body.auth
        .client_token as string;
      expect((await call(c.nodes[leader].address, 'PUT', 'sys/step-down', { token: limited })).status).toBe(403);
      expect((await call(c.nodes[leader].address, 'PUT', 'sys/step-down', { token: c.rootToken })).status).toBe(204);
      const next = await waitForLeader(
        c,
        c.nodes.filter((_, i) => i !== leader),
        5000,
      );
      expect(next).not.toBe(leader);
      expect((await call(c.nodes[leader].address, 'GET', 'sys/leader')).body).toMatchObject({ is_self: false, leader_address: c.nodes[next].address });
      const after = await leaseRow(c);
      expect(after?.holder).toBe(`node${next + 1}#1`);
      expect(after!.epoch).toBeGreaterThan(before!.epoch);
    });

    it('SIGSTOP of the leader past the TTL: another takes over; after SIGCONT the old leader writes nothing singleton', async () => {
      const leader = await waitForLeader(c);
      const stalled = c.nodes[leader];
      const stalledId = `node${leader + 1}`;
      await waitFor('a singleton write by the leader', async () => (await singletonWrites(c, stalledId)) > 0, 10_000);
      process.kill(stalled.child.pid!, 'SIGSTOP');
      let writesAtStop: number;
      try {
        writesAtStop = await singletonWrites(c, stalledId);
        const others = c.nodes.filter((n) => n !== stalled);
        const next = await waitForLeader(c, others, 3000 + 2000 + 2000);
        const nextId = `node${next + 1}`;
        const nextWrites = await singletonWrites(c, nextId);
        await waitFor('the new leader’s singleton writes', async () => (await singletonWrites(c, nextId)) > nextWrites, 10_000);
      } finally {
        process.kill(stalled.child.pid!, 'SIGCONT');
      }
      // Its timers fire at once after SIGCONT: its local deadline has passed, it steps down without writing.
      await sleep(3000);
      expect(await singletonWrites(c, stalledId)).toBe(writesAtStop);
      expect((await call(stalled.address, 'GET', 'sys/leader')).body.is_self).toBe(false);
      expect(stalled.output()).toContain(`ha: this process (${stalledId}#1) stepped down`);
      expect((await leaseRow(c))?.holder).not.toBe(`${stalledId}#1`);
      await waitForLeader(c);
    });

    it('kill -9 of the leader: another leads within the TTL + 2 s', async () => {
      const leader = await waitForLeader(c);
      const killedAt = Date.now();
      await c.nodes[leader].kill9();
      const others = c.nodes.filter((_, i) => i !== leader);
      const next = await waitForLeader(c, others, 3000 + 2000);
      expect(Date.now() - killedAt).toBeLessThan(5000);
      expect((await leaseRow(c))?.holder).toBe(`node${next + 1}#1`);
      // The killed process's registry row goes stale: sys/ha-status lists the two left.
      await sleep(3000);
      const status = await call(others[0].address, 'GET', 'sys/ha-status', { token: c.rootToken });
      expect((status.body.nodes as { api_address: string }[]).map((n) => n.api_address).sort()).toEqual(others.map((n) => n.address).sort());
    });

    it('a graceful stop of the leader releases the lease: the last node leads at its next attempt, well within the TTL', async () => {
      const alive = c.nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
      expect(alive).toHaveLength(2);
      const leader = await waitForLeader(c, alive);
      const stoppedAt = Date.now();
      expect(await c.nodes[leader].stop()).toBe(0);
      const next = await waitForLeader(
        c,
        alive.filter((n) => n !== c.nodes[leader]),
        2500,
      );
      expect(Date.now() - stoppedAt).toBeLessThan(3000);
      expect((await leaseRow(c))?.holder).toBe(`node${next + 1}#1`);
      const { rows } = await c.db.query('SELECT node_id FROM ha_nodes ORDER BY node_id');
      expect(rows.map((r: { node_id: string }) => r.node_id)).not.toContain(`node${leader + 1}`);
    });
  });

  describe('two nodes, ha_lease_ttl 30s, ha_renew_interval 10s (a singleton write comes before the next renewal)', () => {
    let c: Cluster;
    beforeAll(async () => {
      c = await startCluster(2, '30s', '10s');
    });
    afterAll(async () => c?.stop());

    it('the lease row deleted under the leader: its next singleton write is fenced, it steps down and never re-creates the row', async () => {
      const leader = await waitForLeader(c);
      const leaderId = `node${leader + 1}`;
      const { epoch } = (await leaseRow(c))!;
      await waitFor('a singleton write by the leader', async () => (await singletonWrites(c, leaderId)) > 0, 10_000);
      await c.db.query('DELETE FROM ha_leader');
      await waitFor(
        'the fenced step-down',
        () => c.nodes[leader].output().includes(`stepped down from epoch ${epoch}: a singleton write found the lease (epoch ${epoch}) expired, gone or taken`),
        5000,
      );
      const writes = await singletonWrites(c, leaderId);
      // Watched past the old leader's next renewal time: the row is never back with its holder and epoch.
      const until = Date.now() + 11_000;
      while (Date.now() < until) {
        const row = await leaseRow(c);
        expect(row === undefined || (row.holder !== `${leaderId}#1` && row.epoch > epoch)).toBe(true);
        await sleep(250);
      }
      expect(await singletonWrites(c, leaderId)).toBe(writes);
      // The other node acquired it on its next attempt, with a new epoch.
      const other = await waitForLeader(c, [c.nodes[1 - leader]], 1000);
      expect((await leaseRow(c))?.holder).toBe(`node${other + 1}#1`);
    });

    it('the lease row rewritten with another epoch: the leader is fenced and steps down; nobody overwrites the row before it expires', async () => {
      const leader = await waitForLeader(c);
      const leaderId = `node${leader + 1}`;
      await waitFor('a singleton write by the leader', async () => (await singletonWrites(c, leaderId)) > 0, 10_000);
      const { rows } = await c.db.query('UPDATE ha_leader SET epoch = epoch + 1000 RETURNING holder, epoch::int AS epoch, valid_until');
      await waitFor('the fenced step-down', () => /stepped down from epoch \d+: a singleton write found the lease/.test(c.nodes[leader].output()), 5000);
      await sleep(2000);
      expect(await leaseRow(c)).toEqual(rows[0]);
      for (const n of c.nodes) expect((await call(n.address, 'GET', 'sys/leader')).body.is_self).toBe(false);
    });
  });
});
