/**
 * The bench runner: `npm run bench [-- <scenario>...]`.
 *
 * Starts one PostgreSQL (DATABASE_URL, else embedded), the floor (bench/floor/server.ts) and the
 * built SecretHub server in dev mode, each in its own database (and, for the cost-growth scenario,
 * a second SecretHub whose database holds 100k secrets); for each scenario warms up and then
 * measures the floor and SecretHub under the same load in alternating rounds; prints a table and
 * the target checks, and writes bench/results/latest.json. Stops everything it started, even on failure.
 *
 * A scenario name selects that scenario and its variants (`kv-read` also runs `kv-read-100k`).
 * Exit code: 0 when every selected scenario ran without errors or non-2xx responses (missed
 * targets are reported, not fatal); 1 otherwise, or when a server could not start; 2 on bad usage.
 *
 * Environment: DATABASE_URL; BENCH_WARMUP_SECONDS (default 3), BENCH_SECONDS (measured seconds
 * per target, default 12), BENCH_ROUNDS (alternating rounds they are split into, default 4);
 * BENCH_SERVER_NODE_ARGS: node options for the SecretHub server, space-separated (e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { PRIMITIVES, measurePrimitive } from './lib/crypto-limit';
import { VaultApi } from './lib/http';
import { runAlternating, type LoadPlan, type LoadSettings, type LoadTarget } from './lib/load';
import { backendCpuSeconds, startDatabases } from './lib/postgres';
import { freePort, startChild, type Child } from './lib/processes';
import { formatReport, measurementFailures, scenarioChecks, scenarioLines, type Report, type ScenarioResult } from './lib/report';
import { READ_PATHS, SCENARIOS, VALUE, type BenchContext, type Scenario } from './scenarios';

const ROOT = resolve(__dirname, '..', '..');
const SERVER_MAIN = join(ROOT, 'dist', 'src', 'main.js');
const FLOOR_MAIN = join(__dirname, 'floor', 'server.js');
const RESULTS = join(ROOT, 'bench', 'results', 'latest.json');

/**
 * AUDIT HOOK: audit is not implemented in SecretHub yet, so neither side audits. When it lands:
 * set this to true, start SecretHub with a file audit device enabled (fail-closed, hash-chained),
 * and the floor writes its audit row (FloorConfig.audit).
 */
const AUDIT = false;
const AUDIT_NOTE = 'audit is not implemented yet: floor and SecretHub both run without it until the audit issue lands';

const log = (m: string) => process.stderr.write(`bench: ${m}\n`);

function envSeconds(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number of seconds`);
  return n;
}

function select(args: string[]): Scenario[] {
  if (args.length === 0) return SCENARIOS;
  const unknown = args.filter((a) => !SCENARIOS.some((s) => s.name === a || s.name.startsWith(`${a}-`)));
  if (unknown.length) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')}; scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
    process.exit(2);
  }
  return SCENARIOS.filter((s) => args.some((a) => s.name === a || s.name.startsWith(`${a}-`)));
}

/** Sends a plan's first request once and checks the answer, so a broken set-up fails loudly before the load. */
async function probe(baseUrl: string, plan: LoadPlan, checkBody?: (b: Record<string, unknown>) => string | undefined): Promise<string | undefined> {
  const first = plan.requests[0];
  if (!first) return 'no request in plan';
  const req = first.setupRequest ? first.setupRequest({ ...first }, {}) : first;
  const res = await fetch(`${baseUrl}${req.path ?? '/'}`, { method: req.method ?? 'GET', headers: req.headers, body: req.body });
  const text = await res.text();
  if (res.status < 200 || res.status > 299) return `probe ${req.method} ${req.path} answered ${res.status}: ${text.slice(0, 300)}`;
  if (!checkBody) return undefined;
  try {
    return checkBody(JSON.parse(text) as Record<string, unknown>);
  } catch {
    return `probe ${req.method} ${req.path}: body is not JSON: ${text.slice(0, 200)}`;
  }
}

interface Servers {
  floor: Child;
  floorUrl: string;
  floorDbUrl: string;
  secrethub: Child;
  /** The second SecretHub (100k secrets), when a cost-growth scenario is selected. */
  large?: Child;
}

async function runScenario(s: Scenario, ctx: BenchContext, servers: Servers, load: Omit<LoadSettings, 'connections'>, cryptoLimits: Record<string, number>): Promise<ScenarioResult> {
  const primitive = s.primitive ? PRIMITIVES[s.primitive] : undefined;
  const result: ScenarioResult = {
    name: s.name,
    description: s.description,
    connections: s.connections,
    floor: null,
    secrethub: null,
    baseline: null,
    ratioToFloor: null,
    cryptoLimit: primitive ? { primitive: primitive.name, description: primitive.description, opsPerSecond: cryptoLimits[primitive.name] ?? 0 } : null,
    notes: [],
    checks: [],
    failures: [],
  };
  const settings: LoadSettings = { ...load, connections: s.connections };
  try {
    log(`${s.name}: setting up`);
    const setup = await s.setup(ctx);
    result.notes.push(...(setup.notes ?? []));
    result.details = setup.details;
    const main = { baseUrl: ctx.api.baseUrl, pid: servers.secrethub.pid, dbCpuSeconds: () => backendCpuSeconds(ctx.serverDbUrl) };
    const targets: { label: 'floor' | 'baseline' | 'secrethub'; target: LoadTarget }[] = [];
    if (setup.floor) targets.push({ label: 'floor', target: { baseUrl: servers.floorUrl, pid: servers.floor.pid, plan: setup.floor, dbCpuSeconds: () => backendCpuSeconds(servers.floorDbUrl) } });
    if (s.growthOf) {
      if (!setup.baseline || !servers.large || !ctx.large) throw new Error('a cost-growth scenario needs its baseline plan and the second server');
      const largeDb = ctx.large.serverDbUrl;
      targets.push({ label: 'baseline', target: { ...main, plan: setup.baseline } });
      targets.push({ label: 'secrethub', target: { baseUrl: ctx.large.api.baseUrl, pid: servers.large.pid, plan: setup.secrethub, dbCpuSeconds: () => backendCpuSeconds(largeDb) } });
    } else {
      targets.push({ label: 'secrethub', target: { ...main, plan: setup.secrethub } });
    }
    for (const { label, target } of targets) {
      const bad = await probe(target.baseUrl, target.plan, setup.checkBody);
      if (bad) throw new Error(`${label} ${bad}`);
    }
    log(`${s.name}: ${targets.map((t) => t.label).join(', ')}: ${load.rounds} alternating rounds, ${s.connections} connections`);
    const measured = await runAlternating(targets.map((t) => t.target), settings);
    for (const [i, { label }] of targets.entries()) {
      result[label] = measured[i];
      result.failures.push(...measurementFailures(label, measured[i]));
    }
    if (result.floor && result.secrethub && result.floor.requestsPerSecond > 0) result.ratioToFloor = Math.round((result.secrethub.requestsPerSecond / result.floor.requestsPerSecond) * 1000) / 1000;
    result.checks.push(...(setup.checks ?? []), ...scenarioChecks(s, result));
  } catch (err) {
    result.failures.push((err as Error).message);
  }
  for (const c of [servers.floor, servers.secrethub, servers.large]) {
    if (c?.exited()) result.failures.push(`${c.name} exited; its last output:\n${c.output().slice(-2000)}`);
  }
  return result;
}

async function main(): Promise<number> {
  const started = Date.now();
  const scenarios = select(process.argv.slice(2));
  const load = { warmupSeconds: envSeconds('BENCH_WARMUP_SECONDS', 3), measureSeconds: envSeconds('BENCH_SECONDS', 12), rounds: Math.max(1, Math.round(envSeconds('BENCH_ROUNDS', 4))) };
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    while (cleanups.length) await (cleanups.pop() as () => Promise<void>)().catch((e: Error) => log(`cleanup: ${e.message}`));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      void cleanup().then(() => process.exit(130));
    });
  }
  log(AUDIT ? 'audit on' : `audit OFF: ${AUDIT_NOTE}`);

  const report: Report = {
    timestamp: new Date().toISOString(),
    durationSeconds: 0,
    audit: { enabled: AUDIT, note: AUDIT ? 'floor and SecretHub both audit every request' : AUDIT_NOTE },
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', totalMemGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10, node: process.version, os: `${os.type()} ${os.release()}`, loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100) },
    settings: { ...load, scenarios: scenarios.map((s) => s.name) },
    cryptoLimits: {},
    secrethubStartMs: null,
    scenarios: [],
    checks: [],
    failed: false,
  };

  try {
    // Crypto limits first, on an idle machine, for the primitives of the selected scenarios.
    for (const name of new Set(scenarios.map((s) => s.primitive).filter((p): p is string => !!p))) {
      const p = PRIMITIVES[name];
      if (p) report.cryptoLimits[name] = measurePrimitive(p);
    }
    log(`crypto limits (1 core): ${JSON.stringify(report.cryptoLimits)}`);

    const dbs = await startDatabases(log);
    cleanups.push(() => dbs.stop());
    report.machine.postgres = dbs.version.split(' on ')[0];
    report.machine.postgresVersion = dbs.version;
    report.machine.database = dbs.source;
    log(`database: ${dbs.source}, ${report.machine.postgres}`);

    const floorToken = `floor-${randomBytes(16).toString('hex')}`;
    const floorPort = await freePort();
    const floor = await startChild({
      name: 'floor',
      script: FLOOR_MAIN,
      args: [],
      env: { FLOOR_CONFIG: JSON.stringify({ port: floorPort, databaseUrl: dbs.floorUrl, token: floorToken, readPaths: READ_PATHS, value: VALUE, audit: AUDIT }) },
      readyText: 'floor listening on',
    });
    cleanups.push(() => floor.stop());

    const rootToken = `bench-root-${randomBytes(12).toString('hex')}`;
    const startSecrethub = async (name: string, databaseUrl: string) => {
      const port = await freePort();
      const child = await startChild({
        name,
        script: SERVER_MAIN,
        nodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
        args: ['server', '--listen', `127.0.0.1:${port}`, '--dev', '--dev-root-token-id', rootToken],
        env: { DATABASE_URL: databaseUrl },
        readyText: 'listening on',
      });
      cleanups.push(() => child.stop());
      return { child, api: new VaultApi(`http://127.0.0.1:${port}`, rootToken) };
    };
    const secrethub = await startSecrethub('secrethub', dbs.serverUrl);
    report.secrethubStartMs = secrethub.child.startMs;
    log(`secrethub ready in ${secrethub.child.startMs} ms (pid ${secrethub.child.pid}); floor pid ${floor.pid}`);
    const large = scenarios.some((s) => s.growthOf) ? await startSecrethub('secrethub-100k', dbs.largeUrl) : undefined;

    const floorUrl = `http://127.0.0.1:${floorPort}`;
    const ctx: BenchContext = { api: secrethub.api, serverDbUrl: dbs.serverUrl, floorUrl, floorToken, fixtures: new Map(), large: large && { api: large.api, serverDbUrl: dbs.largeUrl } };
    const servers: Servers = { floor, floorUrl, floorDbUrl: dbs.floorUrl, secrethub: secrethub.child, large: large?.child };
    for (const s of scenarios) {
      const r = await runScenario(s, ctx, servers, load, report.cryptoLimits);
      report.scenarios.push(r);
      report.checks.push(...r.checks);
      process.stderr.write(scenarioLines(r).join('\n') + '\n');
      if (floor.exited() || secrethub.child.exited() || large?.child.exited()) break;
    }
  } catch (err) {
    // A server that did not start, or a database that could not be had: no scenario can run.
    report.scenarios.push({ name: 'startup', description: 'databases, floor and SecretHub', connections: 0, floor: null, secrethub: null, baseline: null, ratioToFloor: null, cryptoLimit: null, notes: [], checks: [], failures: [(err as Error).message] });
  } finally {
    await cleanup();
  }

  report.failed = report.scenarios.some((s) => s.failures.length > 0) || report.scenarios.length === 0;
  report.durationSeconds = Math.round((Date.now() - started) / 100) / 10;
  process.stdout.write(formatReport(report) + '\n');
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`results written to ${RESULTS}\n`);
  return report.failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
