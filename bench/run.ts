/**
 * The bench runner: `npm run bench [-- <scenario>...]`.
 *
 * Starts one PostgreSQL (DATABASE_URL, else embedded), the floor (bench/floor/server.ts) and the
 * built SecretHub server in dev mode, each in its own database (and, for the cost-growth scenario,
 * a second SecretHub whose database holds 100k secrets); with AUDIT on, enables a `database` audit
 * device on each SecretHub (root token, through the API) and the floor's audit INSERT; for each
 * scenario warms up and then measures the floor and SecretHub under the same load in alternating
 * rounds (counting the audit entries SecretHub commits); prints a table and the target checks, and
 * writes bench/results/latest.json. Stops everything it started, even on failure.
 *
 * A scenario name selects that scenario and its variants (`kv-read` also runs `kv-read-100k`).
 * `seal-start` (alone) runs instead the start-to-serving bench of the pkcs11 seal against a Shamir
 * start (bench/seal-start.ts), which starts servers of its own and no floor; `pki-issue-ec-hsm`
 * (alone) runs pki-issue-ec with the CA key on a SoftHSM2 token against a software CA key on one
 * server of its own (bench/pki-issue-hsm.ts). `--workers N` measures instead how the floor and
 * SecretHub scale from one process to N (bench/scaling.ts; default scenarios there).
 * Exit code: 0 when every selected scenario ran without errors or non-2xx responses (missed
 * targets are reported, not fatal); 1 otherwise, or when a server could not start; 2 on bad usage.
 *
 * Environment: DATABASE_URL; BENCH_WARMUP_SECONDS (default 3), BENCH_SECONDS (measured seconds
 * per target, default 12), BENCH_ROUNDS (alternating rounds they are split into, default 4);
 * BENCH_SERVER_NODE_ARGS: node options for the SecretHub server, space-separated (e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it); BENCH_AUDIT=0: neither side audits.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import type { FloorConfig } from './floor/server';
import { LAUNCH_ENVIRONMENT } from '../src/config/launch-environment';
import { PRIMITIVES, measurePrimitive } from './lib/crypto-limit';
import { VaultApi } from './lib/http';
import { probe, runAlternating, type LoadSettings, type LoadTarget } from './lib/load';
import { auditSequence, backendCpuSeconds, query, startDatabases } from './lib/postgres';
import { freePort, startChild, type Child } from './lib/processes';
import { emptyResult, formatReport, measurementFailures, scenarioChecks, scenarioLines, type Report, type ScenarioResult } from './lib/report';
import { READ_PATHS, SCENARIOS, VALUE, type BenchContext, type Scenario } from './scenarios';
import { DB_CREDS_CREATION, DB_CREDS_MOUNT, DB_CREDS_TTL_SECONDS, FLOOR_USER_PREFIX } from './lib/db-creds';
import { envSeconds, runCleanups, writeResults } from './lib/run-support';
import { runPkiIssueHsm } from './pki-issue-hsm';
import { runSealStart } from './seal-start';
import { parseWorkers, runScalingScenario, waitForUnsealedWorkers, WORKERS_DEFAULT_SCENARIOS } from './scaling';

const ROOT = resolve(__dirname, '..', '..');
const SERVER_MAIN = join(ROOT, 'dist', 'src', 'main.js');
const FLOOR_MAIN = join(__dirname, 'floor', 'server.js');
const RESULTS = join(ROOT, 'bench', 'results', 'latest.json');

/**
 * AUDIT HOOK: both sides audit every request. Each SecretHub server gets a `database` audit device
 * (`PUT sys/audit/bench-db {"type":"database"}` with the root token, after dev mode has unsealed):
 * fail-closed, a request entry committed before the handler and a response entry before the reply,
 * group-committed onto the hash chain in `audit_logs`. The floor INSERTs one audit row per request
 * (FloorConfig.audit). BENCH_AUDIT=0 compares both without audit (audit-append then fails).
 */
const AUDIT = process.env.BENCH_AUDIT !== '0';
const AUDIT_DEVICE = { path: 'bench-db', body: { type: 'database', description: 'bench' } };
const AUDIT_NOTE = AUDIT
  ? `SecretHub: database audit device "${AUDIT_DEVICE.path}" (request and response entry per request, each committed before going on, hash-chained); floor: one audit row INSERT per request`
  : 'audit off on both sides';

const log = (m: string) => process.stderr.write(`bench: ${m}\n`);
const SEAL_START = 'seal-start';
const PKI_ISSUE_HSM = 'pki-issue-ec-hsm';

function select(args: string[]): Scenario[] {
  if (args.length === 0) return SCENARIOS;
  const unknown = args.filter((a) => !SCENARIOS.some((s) => s.name === a || s.name.startsWith(`${a}-`)));
  if (unknown.length) {
    process.stderr.write(
      `unknown scenario ${unknown.join(', ')}; scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}, ${SEAL_START} (alone), ${PKI_ISSUE_HSM} (alone)\n`,
    );
    process.exit(2);
  }
  return SCENARIOS.filter((s) => args.some((a) => s.name === a || s.name.startsWith(`${a}-`)));
}

interface Servers {
  floor: Child;
  floorUrl: string;
  floorDbUrl: string;
  secrethub: Child;
  /** The second SecretHub (100k secrets), when a cost-growth scenario is selected. */
  large?: Child;
}

async function runScenario(
  s: Scenario,
  ctx: BenchContext,
  servers: Servers,
  load: Omit<LoadSettings, 'connections'>,
  cryptoLimits: Record<string, number>,
): Promise<ScenarioResult> {
  const primitive = s.primitive ? PRIMITIVES[s.primitive] : undefined;
  const result: ScenarioResult = {
    ...emptyResult(s),
    cryptoLimit: primitive ? { primitive: primitive.name, description: primitive.description, opsPerSecond: cryptoLimits[primitive.name] ?? 0 } : null,
  };
  const settings: LoadSettings = { ...load, connections: s.connections };
  try {
    log(`${s.name}: setting up`);
    const setup = await s.setup(ctx);
    result.notes.push(...(setup.notes ?? []));
    result.details = setup.details;
    const counted = (url: string) => (ctx.audit ? { auditEntries: () => auditSequence(url) } : {});
    const main = { baseUrl: ctx.api.baseUrl, pid: servers.secrethub.pid, dbCpuSeconds: () => backendCpuSeconds(ctx.serverDbUrl), ...counted(ctx.serverDbUrl) };
    const targets: { label: 'floor' | 'baseline' | 'secrethub'; target: LoadTarget }[] = [];
    if (setup.floor)
      targets.push({
        label: 'floor',
        target: { baseUrl: servers.floorUrl, pid: servers.floor.pid, plan: setup.floor, dbCpuSeconds: () => backendCpuSeconds(servers.floorDbUrl) },
      });
    else if (setup.comparison)
      targets.push({
        label: 'floor',
        target: { baseUrl: setup.comparison.baseUrl, pid: setup.comparison.pid, plan: setup.comparison.plan, dbCpuSeconds: async () => undefined },
      });
    if (s.growthOf) {
      if (!setup.baseline || !servers.large || !ctx.large) throw new Error('a cost-growth scenario needs its baseline plan and the second server');
      const largeDb = ctx.large.serverDbUrl;
      targets.push({ label: 'baseline', target: { ...main, plan: setup.baseline } });
      targets.push({
        label: 'secrethub',
        target: {
          baseUrl: ctx.large.api.baseUrl,
          pid: servers.large.pid,
          plan: setup.secrethub,
          dbCpuSeconds: () => backendCpuSeconds(largeDb),
          ...counted(largeDb),
        },
      });
    } else {
      targets.push({ label: 'secrethub', target: { ...main, plan: setup.secrethub } });
    }
    for (const { label, target } of targets) {
      const bad = await probe(target.baseUrl, target.plan, setup.checkBody);
      if (bad) throw new Error(`${label} ${bad}`);
    }
    log(`${s.name}: ${targets.map((t) => t.label).join(', ')}: ${load.rounds} alternating rounds, ${s.connections} connections`);
    const measured = await runAlternating(
      targets.map((t) => t.target),
      settings,
    );
    for (const [i, { label }] of targets.entries()) {
      result[label] = measured[i];
      result.failures.push(...measurementFailures(label, measured[i]));
    }
    if (result.floor && result.secrethub && result.floor.requestsPerSecond > 0)
      result.ratioToFloor = Math.round((result.secrethub.requestsPerSecond / result.floor.requestsPerSecond) * 1000) / 1000;
    const limit = result.cryptoLimit?.opsPerSecond;
    if (result.secrethub && limit) {
      const itemsPerSecond = result.secrethub.requestsPerSecond * (s.itemsPerRequest ?? 1);
      result.ratioToCryptoLimit = Math.round((itemsPerSecond / limit) * 1000) / 1000;
    }
    result.checks.push(...(setup.checks ?? []), ...scenarioChecks(s, result, ctx.audit));
    if (setup.after) {
      log(`${s.name}: after the load`);
      const more = await setup.after();
      result.notes.push(...(more.notes ?? []));
      result.checks.push(...(more.checks ?? []));
      result.details = { ...result.details, ...more.details };
    }
  } catch (err) {
    result.failures.push((err as Error).message);
  }
  for (const c of [servers.floor, servers.secrethub, servers.large]) {
    if (c?.exited()) result.failures.push(`${c.name} exited; its last output:\n${c.output().slice(-2000)}`);
  }
  return result;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes(SEAL_START)) {
    if (args.length > 1) {
      process.stderr.write(`${SEAL_START} runs alone (it starts servers of its own)\n`);
      return 2;
    }
    return runSealStart();
  }
  if (args.includes(PKI_ISSUE_HSM)) {
    if (args.length > 1) {
      process.stderr.write(`${PKI_ISSUE_HSM} runs alone (it starts a server of its own)\n`);
      return 2;
    }
    return runPkiIssueHsm();
  }
  const parsed = parseWorkers(args);
  if ('error' in parsed) {
    process.stderr.write(`${parsed.error}\n`);
    return 2;
  }
  const { workers, rest } = parsed;
  const started = Date.now();
  const scenarios = workers ? select(rest.length ? rest : WORKERS_DEFAULT_SCENARIOS).filter((s) => !s.growthOf) : select(rest);
  const load = {
    warmupSeconds: envSeconds('BENCH_WARMUP_SECONDS', 3),
    measureSeconds: envSeconds('BENCH_SECONDS', 12),
    rounds: Math.max(1, Math.round(envSeconds('BENCH_ROUNDS', 4))),
  };
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    await runCleanups(cleanups, log);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      void cleanup().then(() => process.exit(130));
    });
  }
  log(`audit ${AUDIT ? 'ON' : 'OFF'}: ${AUDIT_NOTE}`);

  const report: Report = {
    timestamp: new Date().toISOString(),
    durationSeconds: 0,
    audit: { enabled: AUDIT, note: AUDIT_NOTE },
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      totalMemGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
      node: process.version,
      os: `${os.type()} ${os.release()}`,
      loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    },
    settings: { ...load, scenarios: scenarios.map((s) => s.name), ...(workers ? { workers } : {}) },
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

    const dbs = await startDatabases(log, workers ? ['workers'] : []);
    cleanups.push(() => dbs.stop());
    report.machine.postgres = dbs.version.split(' on ')[0];
    report.machine.postgresVersion = dbs.version;
    report.machine.database = dbs.source;
    log(`database: ${dbs.source}, ${report.machine.postgres}`);

    const floorToken = `floor-${randomBytes(16).toString('hex')}`;
    const startFloor = async (name: string, processes: number) => {
      const port = await freePort();
      const child = await startChild({
        name,
        script: FLOOR_MAIN,
        args: [],
        // The same process settings as SecretHub's launch, so the comparison is of the servers alone.
        env: {
          ...LAUNCH_ENVIRONMENT,
          FLOOR_CONFIG: JSON.stringify({
            port,
            processes,
            databaseUrl: dbs.floorUrl,
            token: floorToken,
            readPaths: READ_PATHS,
            value: VALUE,
            audit: AUDIT,
            dbCreds: {
              targetUrl: dbs.targetUrl,
              creationStatements: DB_CREDS_CREATION,
              ttlSeconds: DB_CREDS_TTL_SECONDS,
              mount: DB_CREDS_MOUNT,
              userPrefix: FLOOR_USER_PREFIX,
            },
          } satisfies FloorConfig),
        },
        readyText: 'floor listening on',
      });
      cleanups.push(() => child.stop());
      return { child, url: `http://127.0.0.1:${port}` };
    };
    const { child: floor, url: floorUrl } = await startFloor('floor', 1);

    const rootToken = `bench-root-${randomBytes(12).toString('hex')}`;
    /** A SecretHub server in dev mode; with `workers` > 1 a node of that many, ready once every worker answers unsealed. */
    const startSecrethub = async (name: string, databaseUrl: string, workers = 1) => {
      const port = await freePort();
      // Its data directory holds only the audit checkpoint file (PostgreSQL is DATABASE_URL's); removed after it stops.
      const dataDir = mkdtempSync(join(os.tmpdir(), `secrethub-bench-${name}-`));
      cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
      const child = await startChild({
        name,
        script: SERVER_MAIN,
        nodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
        args: ['server', '--listen', `127.0.0.1:${port}`, '--dev', '--dev-root-token-id', rootToken, ...(workers > 1 ? ['--workers', String(workers)] : [])],
        // Started as `npm start` and the images start it (decision 141).
        env: { ...LAUNCH_ENVIRONMENT, DATABASE_URL: databaseUrl, SECRETHUB_DATA_DIR: dataDir },
        readyText: 'listening on',
      });
      cleanups.push(() => child.stop());
      if (workers > 1) await waitForUnsealedWorkers(port, workers);
      const api = new VaultApi(`http://127.0.0.1:${port}`, rootToken);
      if (AUDIT) {
        const r = await api.call('PUT', `sys/audit/${AUDIT_DEVICE.path}`, AUDIT_DEVICE.body);
        if (r.status !== 204) throw new Error(`${name}: enabling the database audit device answered ${r.status}: ${r.text.slice(0, 300)}`);
        const [{ n }] = await query<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM audit_devices WHERE type = $1', ['database']);
        if (n !== '1') throw new Error(`${name}: audit_devices holds ${n} database devices after enabling one`);
      }
      return { child, api };
    };
    const secrethub = await startSecrethub('secrethub', dbs.serverUrl);
    report.secrethubStartMs = secrethub.child.startMs;
    log(`secrethub ready in ${secrethub.child.startMs} ms (pid ${secrethub.child.pid}); floor pid ${floor.pid}`);
    const large = scenarios.some((s) => s.growthOf) ? await startSecrethub('secrethub-100k', dbs.largeUrl) : undefined;

    const ctx: BenchContext = {
      api: secrethub.api,
      serverDbUrl: dbs.serverUrl,
      floorUrl,
      floorToken,
      audit: AUDIT,
      auditDbUrl: dbs.auditUrl,
      targetUrl: dbs.targetUrl,
      fixtures: new Map(),
      large: large && { api: large.api, serverDbUrl: dbs.largeUrl },
    };
    const servers: Servers = { floor, floorUrl, floorDbUrl: dbs.floorUrl, secrethub: secrethub.child, large: large?.child };
    if (workers) {
      const many = await startSecrethub(`secrethub-x${workers}`, dbs.extraUrls.workers as string, workers);
      const floorN = await startFloor(`floor-x${workers}`, workers);
      log(`secrethub x${workers} ready in ${many.child.startMs} ms (pid ${many.child.pid}); floor x${workers} pid ${floorN.child.pid}`);
      const scaling = {
        floor1: { pid: floor.pid, baseUrl: floorUrl, dbUrl: dbs.floorUrl },
        floorN: { pid: floorN.child.pid, baseUrl: floorN.url, dbUrl: dbs.floorUrl },
        secrethub1: { pid: secrethub.child.pid, baseUrl: secrethub.api.baseUrl, dbUrl: dbs.serverUrl, ctx },
        secrethubN: {
          pid: many.child.pid,
          baseUrl: many.api.baseUrl,
          dbUrl: dbs.extraUrls.workers as string,
          ctx: { ...ctx, api: many.api, serverDbUrl: dbs.extraUrls.workers as string, fixtures: new Map() },
        },
      };
      const children = [floor, secrethub.child, floorN.child, many.child];
      for (const s of scenarios) {
        const r = await runScalingScenario(s, workers, scaling, { ...load, connections: s.connections }, log);
        for (const c of children) if (c.exited()) r.failures.push(`${c.name} exited; its last output:\n${c.output().slice(-2000)}`);
        report.scenarios.push(r);
        report.checks.push(...r.checks);
        process.stderr.write(scenarioLines(r).join('\n') + '\n');
        if (children.some((c) => c.exited())) break;
      }
    }
    for (const s of workers ? [] : scenarios) {
      const r = await runScenario(s, ctx, servers, load, report.cryptoLimits);
      report.scenarios.push(r);
      report.checks.push(...r.checks);
      process.stderr.write(scenarioLines(r).join('\n') + '\n');
      if (floor.exited() || secrethub.child.exited() || large?.child.exited()) break;
    }
  } catch (err) {
    // A server that did not start, or a database that could not be had: no scenario can run.
    report.scenarios.push({
      name: 'startup',
      description: 'databases, floor and SecretHub',
      connections: 0,
      operation: null,
      floor: null,
      secrethub: null,
      baseline: null,
      ratioToFloor: null,
      cryptoLimit: null,
      notes: [],
      checks: [],
      failures: [(err as Error).message],
    });
  } finally {
    await cleanup();
  }

  report.failed = report.scenarios.some((s) => s.failures.length > 0) || report.scenarios.length === 0;
  report.durationSeconds = Math.round((Date.now() - started) / 100) / 10;
  report.machine.loadAverageAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
  process.stdout.write(formatReport(report) + '\n');
  writeResults(RESULTS, report);
  return report.failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
