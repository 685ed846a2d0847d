/**
 * PostgreSQL restarted under load (issue 30, part 3): two `server --workers 2` nodes on an embedded
 * PostgreSQL of the test's own, a KV + token load through the cluster client. While PostgreSQL is
 * down the nodes answer 5xx (never a 2xx that is not kept, never a 4xx); after it is back they
 * recover by themselves, within a bound, with no operator; every KV write acknowledged before,
 * during or after the outage reads back with its value; the audit chain verifies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyThroughApi } from '../support/audit';
import { ClusterClient } from '../support/cluster-client';
import { call } from '../support/http';
import { bothWorkersAnswer, describeAnswers, initAndUnsealAll, runLoad, sleep, startHaNodes, waitForLeader, type HaNode } from '../support/ha-cluster';
import { startOwnPostgres, stopOwnPostgres, type OwnPostgres } from '../support/own-postgres';
import { until } from '../support/wait';

jest.setTimeout(300_000);

const HA_ENV = { SECRETHUB_HA_LEASE_TTL: '3s', SECRETHUB_HA_RENEW_INTERVAL: '1s' };
const OUTAGE_MS = 5000;
/** From PostgreSQL accepting connections again to every worker of every node answering 200. */
const RECOVERY_BOUND_MS = 30_000;
const LOOPS = 8;

describe('PostgreSQL restarted under load: 2 nodes × 2 workers (e2e)', () => {
  const pgDir = mkdtempSync(join(tmpdir(), 'secrethub-failover-pg-'));
  let pg: OwnPostgres | undefined;
  let nodes: HaNode[] = [];
  let rootToken: string;

  beforeAll(async () => {
    pg = await startOwnPostgres(pgDir);
    nodes = await startHaNodes(pg.url, 2, HA_ENV);
    ({ rootToken } = await initAndUnsealAll(nodes));
    const as = { token: rootToken };
    expect((await call(nodes[0].address, 'PUT', 'sys/audit/chain', { ...as, body: { type: 'database' } })).status).toBe(204);
    expect((await call(nodes[0].address, 'POST', 'sys/mounts/kv', { ...as, body: { type: 'kv' } })).status).toBe(204);
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.server.kill9()));
    if (pg) await stopOwnPostgres(pg);
    if (pg) rmSync(pg.cluster, { recursive: true, force: true });
    rmSync(pgDir, { recursive: true, force: true });
  });

  it('5xx during the outage, recovery by itself, nothing acknowledged lost', async () => {
    const client = new ClusterClient(nodes.map((n) => n.address));
    const load = runLoad(client, rootToken, ['kv', 'token'], LOOPS);
    let duringOutage: ClusterClient['answers'];
    let recoveredAfterMs: number;
    let afterRecovery: number;
    try {
      await sleep(2000);
      const beforeOutage = client.answers.length;
      const port = pg!.port;
      await stopOwnPostgres(pg!);
      await sleep(OUTAGE_MS);
      pg = await startOwnPostgres(pgDir);
      expect(pg.port).toBe(port);
      const startedAt = Date.now();
      duringOutage = client.answers.slice(beforeOutage);
      await until(async () => (await Promise.all(nodes.map((n) => bothWorkersAnswer(n, rootToken)))).every(Boolean), RECOVERY_BOUND_MS);
      recoveredAfterMs = Date.now() - startedAt;
      afterRecovery = client.answers.length;
      await sleep(4000);
    } finally {
      await load.stop();
    }
    const statuses = new Map<number, number>();
    for (const a of duringOutage) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    const tail = client.answers.slice(afterRecovery);
    process.stdout.write(
      `pg restart: ${client.answers.length} answers; during the outage by status ${JSON.stringify([...statuses])}; every worker answering ${recoveredAfterMs} ms after PostgreSQL was back; ${tail.length} answers after\n`,
    );
    const sample = duringOutage.find((a) => a.status >= 500);
    process.stdout.write(`an answer during the outage: ${sample?.status} ${sample?.text}\n`);
    // While it is down: 5xx without the database's password, never a 4xx (a failed lookup is not "permission denied").
    expect(duringOutage.filter((a) => a.status >= 500).length).toBeGreaterThan(0);
    const password = decodeURIComponent(new URL(pg!.url).password);
    expect(duringOutage.filter((a) => a.text.includes(password))).toEqual([]);
    expect(describeAnswers(client.answers.filter((a) => a.status >= 400 && a.status < 500))).toEqual([]);
    // Recovered: nothing fails once every worker answers again.
    expect(tail.length).toBeGreaterThan(0);
    expect(describeAnswers(tail.filter((a) => a.status >= 400))).toEqual([]);
    expect(client.unanswered).toEqual([]);
    expect(load.record.errors).toEqual([]);

    // Every acknowledged write reads back with its value.
    expect(load.record.readBackProblems).toEqual([]);
    const lost: string[] = [];
    for (const [path, value] of load.record.kv) {
      const read = await client.request('GET', path, { token: rootToken });
      if (read.status !== 200 || read.body?.data?.value !== value) lost.push(`${path}: ${read.status} ${read.text}`);
    }
    process.stdout.write(`acknowledged: ${load.record.kv.size} KV writes, ${load.record.tokens} tokens; lost ${lost.length}\n`);
    expect(lost).toEqual([]);

    await waitForLeader(nodes, 15_000);
    const report = await verifyThroughApi(async (method, url, body, token = rootToken) => {
      const res = await call(nodes[0].address, method, url, { token, body });
      return { status: res.status, headers: {}, body: res.text, json: res.body ?? {} };
    });
    expect(report).toMatchObject({ ok: true });
  });
});
