/**
 * `npm run bench -- --workers N [<scenario>...]`: how SecretHub and the floor scale from one
 * process to N on this machine. Four servers run side by side: the floor with one process and with
 * N (node:cluster, sharing the port), SecretHub with one process (`server --dev`, the default) and
 * with N workers (`server --dev --workers N`), each SecretHub on its own database with the
 * scenario set up on both. Each scenario measures the four in alternating rounds with the same
 * connections; CPU and RSS are the whole process tree's (parent + workers), PG CPU the backends
 * of the server's database. The result is the scenario's usual one at N (floor, secrethub,
 * ratioToFloor) plus `scaling`: the 1-process measurements and the ratios N ÷ 1. The targets are
 * checked at N (the RSS one on the node's sum, parent + workers); no crypto-limit ratio.
 *
 * Default scenarios: WORKERS_DEFAULT_SCENARIOS (cheap reads, a write, an HMAC lookup, a crypto
 * request: where a second process could pay and where the database bounds it). Cost-growth
 * scenarios are refused (they need a third server).
 */
import { request } from 'node:http';
import { emptyResult, measurementFailures, scenarioChecks, type ScenarioResult } from './lib/report';
import { probe, runAlternating, type LoadSettings, type LoadTarget, type Measurement } from './lib/load';
import { backendCpuSeconds, auditSequence } from './lib/postgres';
import type { BenchContext, Scenario } from './scenarios';

export const WORKERS_DEFAULT_SCENARIOS = ['kv-read', 'kv-write', 'token-lookup', 'transit-encrypt'];

export interface Scaling {
  workers: number;
  floor1: Measurement | null;
  secrethub1: Measurement | null;
  /** req/s with N processes ÷ req/s with one. */
  floorScaling: number | null;
  secrethubScaling: number | null;
}

/** `--workers N` from the arguments (N an integer >= 2) and the rest; an error message on bad usage; null N without the option. */
export function parseWorkers(args: string[]): { workers: number | null; rest: string[] } | { error: string } {
  const i = args.indexOf('--workers');
  if (i < 0) return { workers: null, rest: args };
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 2) return { error: '--workers takes a whole number of processes, at least 2' };
  return { workers: n, rest: [...args.slice(0, i), ...args.slice(i + 2)] };
}

/** One request on a new connection (the node hands connections to its workers in turn): the answering worker's number and whether it is unsealed. */
function sealStatus(port: number): Promise<{ worker: number; sealed: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/sys/seal-status', agent: false, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        try {
          resolve({ worker: Number(res.headers['x-secrethub-worker']), sealed: (JSON.parse(text) as { sealed?: boolean }).sealed !== false });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves once `workers` distinct workers have answered sys/seal-status unsealed on `port`. */
export async function waitForUnsealedWorkers(port: number, workers: number, timeoutMs = 90_000): Promise<void> {
  const unsealed = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  while (unsealed.size < workers) {
    if (Date.now() > deadline) throw new Error(`only workers [${[...unsealed].join(', ')}] of ${workers} answered unsealed in ${timeoutMs / 1000} s`);
    const s = await sealStatus(port).catch(() => undefined);
    if (s && !s.sealed && s.worker > 0) unsealed.add(s.worker);
    else await new Promise((r) => setTimeout(r, 100));
  }
}

/** A server under test: its process (the tree's root), its URL, and its database for PG CPU and audit counts. */
export interface ScalingServer {
  pid: number;
  baseUrl: string;
  dbUrl: string;
}

export interface ScalingServers {
  floor1: ScalingServer;
  floorN: ScalingServer;
  secrethub1: ScalingServer & { ctx: BenchContext };
  secrethubN: ScalingServer & { ctx: BenchContext };
}

const ratio = (a: Measurement | null, b: Measurement | null) =>
  a && b && b.requestsPerSecond > 0 ? Math.round((a.requestsPerSecond / b.requestsPerSecond) * 1000) / 1000 : null;

/** One scenario on the four servers: set up on both SecretHubs, probed, measured in alternating rounds. */
export async function runScalingScenario(
  s: Scenario,
  workers: number,
  servers: ScalingServers,
  settings: LoadSettings,
  log: (m: string) => void,
): Promise<ScenarioResult> {
  const result = emptyResult(s);
  try {
    if (s.growthOf) throw new Error('a cost-growth scenario is not measured with --workers');
    log(`${s.name}: setting up on both SecretHub servers`);
    const one = await s.setup(servers.secrethub1.ctx);
    const many = await s.setup(servers.secrethubN.ctx);
    result.notes.push(...(one.notes ?? []));
    const target = (server: ScalingServer, plan: LoadTarget['plan'], audited: boolean): LoadTarget => ({
      baseUrl: server.baseUrl,
      pid: server.pid,
      plan,
      dbCpuSeconds: () => backendCpuSeconds(server.dbUrl),
      ...(audited ? { auditEntries: () => auditSequence(server.dbUrl) } : {}),
    });
    const audit = servers.secrethub1.ctx.audit;
    const labelled: { label: string; target: LoadTarget }[] = [];
    if (one.floor) labelled.push({ label: 'floor x1', target: target(servers.floor1, one.floor, false) });
    labelled.push({ label: 'secrethub x1', target: target(servers.secrethub1, one.secrethub, audit) });
    if (one.floor) labelled.push({ label: `floor x${workers}`, target: target(servers.floorN, one.floor, false) });
    labelled.push({ label: `secrethub x${workers}`, target: target(servers.secrethubN, many.secrethub, audit) });
    for (const { label, target: t } of labelled) {
      const bad = await probe(t.baseUrl, t.plan, one.checkBody);
      if (bad) throw new Error(`${label} ${bad}`);
    }
    log(`${s.name}: ${labelled.map((l) => l.label).join(', ')}: ${settings.rounds} alternating rounds, ${s.connections} connections`);
    const measured = await runAlternating(
      labelled.map((l) => l.target),
      { ...settings, connections: s.connections },
    );
    const byLabel = new Map(labelled.map((l, i) => [l.label, measured[i] as Measurement]));
    for (const [label, m] of byLabel) result.failures.push(...measurementFailures(label, m));
    const floor1 = byLabel.get('floor x1') ?? null;
    const secrethub1 = byLabel.get('secrethub x1') ?? null;
    result.floor = byLabel.get(`floor x${workers}`) ?? null;
    result.secrethub = byLabel.get(`secrethub x${workers}`) ?? null;
    result.ratioToFloor = ratio(result.secrethub, result.floor);
    result.scaling = { workers, floor1, secrethub1, floorScaling: ratio(result.floor, floor1), secrethubScaling: ratio(result.secrethub, secrethub1) };
    result.checks.push(...scenarioChecks(s, result, audit));
  } catch (err) {
    result.failures.push((err as Error).message);
  }
  return result;
}
