/**
 * Failover under load (issue 30, part 3): three `server --workers 2` nodes on one database, ha_lease_ttl
 * 3 s, a mixed load (KV write + read back, token create + lookup, dynamic PostgreSQL credentials, PKI
 * issue) through a client that spreads requests over the nodes and sends a refused one to the next.
 * - kill -9 of one worker of a follower: replaced and unsealed without operators; no answer fails.
 * - kill -9 of the leader's parent: no request answered by the other nodes fails; a new leader within
 *   the TTL + 2 s; every credential's role is dropped on time, each lease revoked once; nothing
 *   acknowledged is lost; the audit chain verifies.
 */
import { Client } from 'pg';
import { verifyThroughApi } from '../support/audit';
import { ClusterClient } from '../support/cluster-client';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import {
  bothWorkersAnswer,
  describeAnswers,
  initAndUnsealAll,
  runLoad,
  sleep,
  startHaNodes,
  waitForLeader,
  type HaNode,
  type IssuedCredential,
  type LoadRecord,
} from '../support/ha-cluster';
import { until } from '../support/wait';
import { alive, workerPids } from '../support/workers';

jest.setTimeout(300_000);

const LEASE_TTL_MS = 3000;
const HA_ENV = { SECRETHUB_HA_LEASE_TTL: '3s', SECRETHUB_HA_RENEW_INTERVAL: '1s' };
/** The dynamic credentials' TTL: they expire during and after the load. */
const CREDS_TTL_MS = 4000;
/**
 * Allowed lateness of a revocation: the expiry tick, a leader change (TTL + 2 s), a claim by the
 * killed process taken over once its heartbeat is a lease TTL old, and a loaded machine.
 */
const REVOKE_BOUND_MS = 10_000;
const LOOPS = 12;

describe('failover under a mixed load: 3 nodes × 2 workers (e2e)', () => {
  let nodes: HaNode[] = [];
  let rootToken: string;
  let db: Client;
  let target: Client;
  let client: ClusterClient;
  const records: LoadRecord[] = [];

  beforeAll(async () => {
    const url = await createTestDatabase();
    const targetUrl = new URL(await createTestDatabase());
    nodes = await startHaNodes(url, 3, HA_ENV);
    ({ rootToken } = await initAndUnsealAll(nodes));
    const as = { token: rootToken };
    const a = nodes[0].address;
    expect((await call(a, 'PUT', 'sys/audit/chain', { ...as, body: { type: 'database' } })).status).toBe(204);
    expect((await call(a, 'POST', 'sys/mounts/kv', { ...as, body: { type: 'kv' } })).status).toBe(204);
    expect((await call(a, 'POST', 'sys/mounts/database', { ...as, body: { type: 'database', options: { orphan_grace_period: '2s' } } })).status).toBe(204);
    const config = {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@${targetUrl.host}${targetUrl.pathname}`,
      username: decodeURIComponent(targetUrl.username),
      password: decodeURIComponent(targetUrl.password),
      allowed_roles: ['*'],
    };
    expect((await call(a, 'PUT', 'database/config/pg', { ...as, body: config })).status).toBe(204);
    const create = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`];
    const role = { db_name: 'pg', creation_statements: create, default_ttl: `${CREDS_TTL_MS / 1000}s`, max_ttl: '1m' };
    expect((await call(a, 'PUT', 'database/roles/brief', { ...as, body: role })).status).toBe(204);
    expect((await call(a, 'POST', 'sys/mounts/pki', { ...as, body: { type: 'pki' } })).status).toBe(204);
    expect((await call(a, 'PUT', 'pki/root/generate/internal', { ...as, body: { common_name: 'Failover Root', ttl: '8760h', key_type: 'ec' } })).status).toBe(
      200,
    );
    const web = { allowed_domains: 'example.com', allow_subdomains: true, key_type: 'ec', key_bits: 256, max_ttl: '72h' };
    expect((await call(a, 'PUT', 'pki/roles/web', { ...as, body: web })).status).toBe(204);
    db = new Client({ connectionString: url });
    await db.connect();
    target = new Client({ connectionString: targetUrl.toString() });
    await target.connect();
    client = new ClusterClient(nodes.map((n) => n.address));
  });

  afterAll(async () => {
    await db?.end();
    await target?.end();
    await Promise.all(nodes.map((n) => n.server.kill9()));
  });

  /** Runs the load for `ms` around `during` (which starts after a warm-up); the answers given meanwhile. */
  async function underLoad(ms: number, during: () => Promise<void>): Promise<ClusterClient['answers']> {
    const first = client.answers.length;
    const load = runLoad(client, rootToken, ['kv', 'token', 'creds', 'pki'], LOOPS);
    records.push(load.record);
    try {
      await sleep(2000);
      await during();
      await sleep(ms);
    } finally {
      await load.stop();
    }
    return client.answers.slice(first);
  }

  it('kill -9 of a follower’s worker: replaced and unsealed without operators; no request fails', async () => {
    const leader = await waitForLeader(nodes, 15_000);
    const follower = nodes[(leader + 1) % 3];
    const before = workerPids(follower.server.output());
    let replacedAfterMs = 0;
    const answers = await underLoad(3000, async () => {
      const killedAt = Date.now();
      process.kill(before.get(1)!, 'SIGKILL');
      await until(async () => workerPids(follower.server.output()).get(1) !== before.get(1), 30_000);
      await until(() => bothWorkersAnswer(follower, rootToken), 60_000);
      replacedAfterMs = Date.now() - killedAt;
    });
    const replacing = /worker 1 exited \(signal SIGKILL\); replacing it.*/.exec(follower.server.output());
    expect(replacing).not.toBeNull();
    process.stdout.write(`${replacing![0]}\n`);
    const failed = answers.filter((a) => a.status >= 400);
    process.stdout.write(
      `worker kill: ${answers.length} answers, worker replaced and answering after ${replacedAfterMs} ms, ${client.unanswered.length} unanswered\n`,
    );
    expect(describeAnswers(failed)).toEqual([]);
    expect(client.unanswered).toEqual([]);
    expect(records.flatMap((r) => r.errors)).toEqual([]);
    expect(answers.filter((a) => a.node === nodes.indexOf(follower)).length).toBeGreaterThan(0);
  });

  it('kill -9 of the leader’s parent: the other nodes fail nothing; a new leader within the TTL + 2 s', async () => {
    const leader = await waitForLeader(nodes, 15_000);
    const killed = nodes[leader];
    const workers = [...workerPids(killed.server.output()).values()];
    let newLeaderAfterMs = 0;
    let killedAtAnswer = 0;
    const answers = await underLoad(5000, async () => {
      killedAtAnswer = client.answers.length;
      const killedAt = Date.now();
      await killed.server.kill9();
      const next = await waitForLeader(nodes, LEASE_TTL_MS + 2000 + 2000);
      newLeaderAfterMs = Date.now() - killedAt;
      expect(next).not.toBe(leader);
    });
    // Its workers exit by themselves once their parent is gone.
    await until(async () => workers.every((pid) => !alive(pid)), 10_000);
    const survivors = [0, 1, 2].filter((i) => i !== leader);
    const failed = client.failuresFrom(survivors).filter((a) => answers.includes(a));
    const afterKill = client.answers.slice(killedAtAnswer);
    process.stdout.write(
      `leader kill: ${answers.length} answers (${afterKill.length} after the kill, ${afterKill.filter((a) => a.refusedBy.length > 0).length} retried after a refusal), new leader after ${newLeaderAfterMs} ms\n`,
    );
    expect(describeAnswers(failed)).toEqual([]);
    expect(newLeaderAfterMs).toBeLessThan(LEASE_TTL_MS + 2000);
    expect(client.unanswered).toEqual([]);
    expect(records.flatMap((r) => r.errors)).toEqual([]);
  });

  it('afterwards: nothing acknowledged is lost; each credential dropped on time and revoked once; the audit chain verifies', async () => {
    const as = { token: rootToken };
    const problems = records.flatMap((r) => r.readBackProblems);
    expect(problems).toEqual([]);
    const kv = new Map(records.flatMap((r) => [...r.kv]));
    const credentials = records.flatMap((r) => r.credentials);
    process.stdout.write(
      `acknowledged: ${kv.size} KV writes, ${records.reduce((n, r) => n + r.tokens, 0)} tokens, ${credentials.length} credentials, ${records.reduce((n, r) => n + r.certificates, 0)} certificates\n`,
    );
    expect(credentials.length).toBeGreaterThan(0);
    for (const [path, value] of kv) {
      const read = await client.request('GET', path, as);
      expect({ path, status: read.status, value: read.body?.data?.value }).toEqual({ path, status: 200, value });
    }

    // Every role is gone by its lease's expiry + the bound, also a lease the killed process had
    // claimed and not yet revoked: its claim is taken over once its registry heartbeat is silent.
    const exists = async (name: string) => (await target.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rows.length > 0;
    const leaseRows = async () =>
      (
        await db.query(
          'SELECT lease_id, revoked, revoked_at, expires_at, next_attempt_at, revoke_attempts, last_error, irrevocable FROM leases WHERE lease_id = ANY($1)',
          [credentials.map((c) => c.leaseId)],
        )
      ).rows;
    const deadline = Math.max(...(await leaseRows()).map((r) => r.expires_at.getTime() + REVOKE_BOUND_MS));
    const remaining = async () => {
      const left: IssuedCredential[] = [];
      for (const c of credentials) if (await exists(c.username)) left.push(c);
      return left;
    };
    const settled = async () => (await remaining()).length === 0 && (await leaseRows()).every((r) => r.revoked);
    await until(settled, Math.max(0, deadline - Date.now())).catch(async () => {
      const left = await remaining();
      const leased = (await leaseRows()).filter((r) => left.some((c) => c.leaseId === r.lease_id)).map((r) => ({ ...r, now: new Date() }));
      expect({ left, leased }).toEqual({ left: [], leased: [] });
    });
    const rows = await leaseRows();
    expect(rows).toHaveLength(credentials.length);
    const lateness = (r: { revoked_at: Date; expires_at: Date }) => r.revoked_at.getTime() - r.expires_at.getTime();
    const wrong = rows.filter((r) => !r.revoked || r.irrevocable || r.revoke_attempts !== 0 || r.last_error !== null || lateness(r) > REVOKE_BOUND_MS);
    expect(wrong).toEqual([]);
    process.stdout.write(`credentials: all ${rows.length} revoked once, at most ${Math.max(...rows.map(lateness))} ms after expiry\n`);

    // Nor any role whose answer never arrived (made by the killed node): the orphan reconciler drops those.
    const leftBehind = async () => (await target.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-brief-%'")).rows.map((r) => r.rolname as string);
    const unacknowledged = await leftBehind();
    await until(async () => (await leftBehind()).length === 0, 30_000).catch(async () => expect(await leftBehind()).toEqual([]));
    process.stdout.write(`roles never acknowledged, dropped afterwards: ${unacknowledged.length}\n`);

    const survivor = nodes.find((n) => n.server.child.exitCode === null && n.server.child.signalCode === null)!;
    const report = await verifyThroughApi(async (method, url, body, token = rootToken) => {
      const res = await call(survivor.address, method, url, { token, body });
      return { status: res.status, headers: {}, body: res.text, json: res.body ?? {} };
    });
    expect(report).toMatchObject({ ok: true });
    expect(report.entries).toBeGreaterThan(kv.size);
  });
});
