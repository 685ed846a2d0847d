/**
 * Failure tests with real processes (issue 30): several `server --workers 2` nodes on one database,
 * and a mixed load through the ClusterClient whose every acknowledged effect is recorded, so a test
 * can check afterwards that nothing acknowledged was lost and that no surviving node failed a request.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterClient } from './cluster-client';
import { call } from './http';
import { freePort, startServerProcess, type ServerProcess } from './server-process';
import { until } from './wait';
import { fromEach } from './workers';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface HaNode {
  id: string;
  server: ServerProcess;
  address: string;
}

/** `count` nodes of two workers each on `databaseUrl`, each with its own api_addr; resolves once every worker listens. */
export async function startHaNodes(databaseUrl: string, count: number, env: Record<string, string>): Promise<HaNode[]> {
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-failover-'));
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const port = await freePort();
      const id = `node${i + 1}`;
      const server = await startServerProcess({
        databaseUrl,
        port,
        dataDir: mkdtempSync(join(dir, `${id}-`)),
        args: ['--workers', '2'],
        env: { ...env, SECRETHUB_NODE_ID: id, SECRETHUB_API_ADDR: `http://127.0.0.1:${port}` },
      });
      await until(async () => (server.output().match(/listening on/g) ?? []).length >= 2, 60_000);
      return { id, server, address: server.address };
    }),
  );
}

/** Initialises through the first node (one share) and unseals every node; every worker of each then answers unsealed. */
export async function initAndUnsealAll(nodes: HaNode[]): Promise<{ rootToken: string; key: string }> {
  const init = (await call(nodes[0].address, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })).body;
  for (const n of nodes) expect((await call(n.address, 'PUT', 'sys/unseal', { body: { key: init.keys[0] } })).body.sealed).toBe(false);
  for (const n of nodes) await until(async () => bothWorkersAnswer(n, init.root_token), 30_000);
  return { rootToken: init.root_token, key: init.keys[0] };
}

/** Whether both workers of the node answer an authenticated request with 200 (both are up and unsealed). */
export async function bothWorkersAnswer(node: HaNode, token: string): Promise<boolean> {
  const answers = await fromEach(node.server.port, 'GET', 'auth/token/lookup-self', { token }).catch(() => new Map());
  return answers.size === 2 && [...answers.values()].every((a) => a.status === 200);
}

export function isRunning(node: HaNode): boolean {
  return node.server.child.exitCode === null && node.server.child.signalCode === null;
}

/** The index of the leader from sys/leader's leader_address, once every running node names the same one (among the running nodes). */
export async function waitForLeader(nodes: HaNode[], timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = nodes.filter(isRunning);
    const named = await Promise.all(
      running.map((n) =>
        call(n.address, 'GET', 'sys/leader')
          .then((r) => (r.status === 200 ? (r.body.leader_address as string) : ''))
          .catch(() => ''),
      ),
    );
    const leader = nodes.findIndex((n) => n.address === named[0]);
    if (leader >= 0 && isRunning(nodes[leader]) && named.every((a) => a === named[0])) return leader;
    if (Date.now() > deadline) throw new Error(`no leader named by every running node after ${timeoutMs} ms: ${JSON.stringify(named)}`);
    await sleep(100);
  }
}

export interface IssuedCredential {
  username: string;
  leaseId: string;
  /** When the answer arrived (ms since the epoch); the lease expires by then + its TTL. */
  at: number;
}

/** What the load got acknowledged: the test checks each is still true afterwards. */
export interface LoadRecord {
  /** KV path → the value whose write got a 2xx. */
  kv: Map<string, string>;
  credentials: IssuedCredential[];
  certificates: number;
  tokens: number;
  /** A write acknowledged and then read back wrong (a lost or stale write), with the answer. */
  readBackProblems: string[];
  /** Requests that threw (no node answered, or an error that is not a refused connection). */
  errors: string[];
}

export type LoadOp = 'kv' | 'token' | 'creds' | 'pki';

/**
 * `loops` sequential request loops over the client until stop() (loop i runs op i mod ops.length).
 * A request that no node answered is recorded by the client and the loop goes on.
 */
export function runLoad(client: ClusterClient, token: string, ops: LoadOp[], loops: number): { record: LoadRecord; stop: () => Promise<void> } {
  const record: LoadRecord = { kv: new Map(), credentials: [], certificates: 0, tokens: 0, readBackProblems: [], errors: [] };
  let running = true;
  const as = { token };
  const step: Record<LoadOp, (loop: number, n: number) => Promise<void>> = {
    async kv(loop, n) {
      const path = `kv/load/${loop}-${n}`;
      const value = `v-${loop}-${n}-${Date.now()}`;
      const put = await client.request('PUT', path, { ...as, body: { value } });
      if (put.status >= 300) return;
      record.kv.set(path, value);
      const read = await client.request('GET', path, as);
      if (read.status < 500 && read.body?.data?.value !== value)
        record.readBackProblems.push(`${path}: node ${read.node} answered ${read.status} ${read.text}`);
    },
    async token() {
      const created = await client.request('POST', 'auth/token/create', { ...as, body: { policies: ['default'], ttl: '10m' } });
      if (created.status >= 300) return;
      record.tokens++;
      const self = await client.request('GET', 'auth/token/lookup-self', { token: created.body.auth.client_token });
      if (self.status < 500 && self.body?.data?.id !== created.body.auth.client_token)
        record.readBackProblems.push(`token lookup: node ${self.node} answered ${self.status} ${self.text}`);
    },
    async creds() {
      const creds = await client.request('GET', 'database/creds/brief', as);
      if (creds.status === 200) record.credentials.push({ username: creds.body.data.username, leaseId: creds.body.lease_id, at: Date.now() });
    },
    async pki() {
      const cert = await client.request('POST', 'pki/issue/web', { ...as, body: { common_name: 'load.example.com', ttl: '1h' } });
      if (cert.status === 200) record.certificates++;
    },
  };
  const done = Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      const op = ops[loop % ops.length];
      for (let n = 0; running; n++) {
        try {
          await step[op](loop, n);
        } catch (err) {
          record.errors.push(`${op}: ${(err as Error).message} (${String((err as { cause?: unknown }).cause)})`);
          await sleep(50);
        }
      }
    }),
  );
  return {
    record,
    async stop() {
      running = false;
      await done;
    },
  };
}

/** The answers (index range of client.answers) given by `nodes` that failed, formatted for a failure message. */
export function describeAnswers(answers: ClusterClient['answers']): string[] {
  return answers.map((a) => `${a.method} ${a.path} → node ${a.node}: ${a.status} ${a.text.slice(0, 200)}`);
}
