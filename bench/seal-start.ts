/**
 * The seal-start bench (`npm run bench -- seal-start`, issue 26): start-to-serving time of the
 * built server with the pkcs11 seal on a SoftHSM2 token, against the best an operator-less Shamir
 * start can do, measured in the same run in alternating repetitions.
 *
 * - pkcs11: `node dist/src/main.js server --listen … --config pkcs11.hcl` on a database initialised
 *   beforehand with recovery keys (1 of 1); timed from spawn to the first `GET /v1/sys/health`
 *   answering 200 (auto-unsealed, active, serving). The first answer of any status is also noted
 *   (the listener up, still sealed when it is 503).
 * - shamir (the baseline): the same server and command line with a config file without a seal
 *   stanza, on a database initialised with one unseal key (1 of 1); timed from spawn to the first
 *   `GET /v1/sys/seal-status` answering (the listener up), plus one `PUT /v1/sys/unseal` with the
 *   key sent at once, until it answers unsealed (then `sys/health` must answer 200).
 *
 * Each repetition starts both, in an order that flips every repetition, after one warm-up start of
 * each that is not counted; each server is stopped (SIGTERM, waited for) before the next starts.
 * Then the PKCS#11 calls of an auto-unseal are timed one by one in fresh processes
 * (bench/hsm-phases.ts), to say where the HSM's share of the time goes.
 *
 * Prints median and range of each (and of the part after the listener answered, per start, the
 * figure least moved by the machine's load) and the ratio of the medians (pkcs11 / shamir), and writes
 * bench/results/seal-start.json. Without softhsm2-util, the SoftHSM2 library or pkcs11js it says
 * so and exits 0 (skipped). Environment: DATABASE_URL (else an embedded PostgreSQL),
 * BENCH_SEAL_START_REPS (default 5), SOFTHSM2_LIB.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startDatabases, type BenchDatabases } from './lib/postgres';
import { freePort } from './lib/processes';
import { createSoftHsmToken, SOFTHSM_LIB, softHsmUnavailable, type HsmPhases, type SoftHsmToken } from './lib/softhsm';
import { runCleanups, writeResults } from './lib/run-support';

const ROOT = resolve(__dirname, '..', '..');
const SERVER_MAIN = join(ROOT, 'dist', 'src', 'main.js');
const PHASES_MAIN = join(__dirname, 'hsm-phases.js');
const RESULTS = join(ROOT, 'bench', 'results', 'seal-start.json');
const TOKEN_LABEL = 'secrethub-bench';
const KEY_LABEL = 'secrethub-root';
const POLL_MS = 5;
const SERVE_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 20_000;

const log = (m: string) => process.stderr.write(`bench seal-start: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (n: number) => Math.round(n * 10) / 10;

type Seal = 'shamir' | 'pkcs11';

interface Sample {
  /** Spawn to the first HTTP answer (any status). */
  listenerMs: number;
  /** Spawn to serving: pkcs11, sys/health 200; shamir, the sys/unseal answer saying unsealed. */
  servingMs: number;
}

interface Summary {
  medianMs: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
}

function summary(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { medianMs: round1(median), minMs: round1(sorted[0] ?? 0), maxMs: round1(sorted[sorted.length - 1] ?? 0), samplesMs: values.map(round1) };
}

interface Server {
  child: ChildProcess;
  baseUrl: string;
  startedAt: number;
  output(): string;
  stop(): Promise<void>;
}

interface Setup {
  dbs: BenchDatabases;
  dir: string;
  token: SoftHsmToken;
  configs: Record<Seal, string>;
}

async function spawnServer(setup: Setup, seal: Seal): Promise<Server> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(setup.dir, `data-${seal}-`));
  const startedAt = performance.now();
  const child = spawn(process.execPath, [SERVER_MAIN, 'server', '--listen', `127.0.0.1:${port}`, '--config', setup.configs[seal]], {
    env: { ...process.env, DATABASE_URL: setup.dbs.extraUrls[`seal_${seal}`], SECRETHUB_DATA_DIR: dataDir, SOFTHSM2_CONF: setup.token.conf },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const collect = (d: Buffer) => {
    out += d.toString();
    if (out.length > 64 * 1024) out = out.slice(-64 * 1024);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    startedAt,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `path` every POLL_MS until `done(status)`; returns the time (from spawn) of the first answer and of the one that was done. */
async function poll(server: Server, path: string, done: (status: number) => boolean): Promise<{ firstMs: number; doneMs: number }> {
  let firstMs: number | undefined;
  for (;;) {
    if (server.child.exitCode !== null) throw new Error(`the server exited with ${server.child.exitCode}; its output:\n${server.output().slice(-2000)}`);
    if (performance.now() - server.startedAt > SERVE_TIMEOUT_MS)
      throw new Error(`GET ${path} did not answer as expected in ${SERVE_TIMEOUT_MS / 1000} s; output:\n${server.output().slice(-2000)}`);
    const status = await fetch(`${server.baseUrl}/v1/${path}`, { signal: AbortSignal.timeout(5000) }).then(
      async (r) => (await r.arrayBuffer(), r.status),
      () => undefined,
    );
    if (status !== undefined) {
      const at = performance.now() - server.startedAt;
      firstMs ??= at;
      if (done(status)) return { firstMs, doneMs: at };
    }
    await sleep(POLL_MS);
  }
}

async function put(baseUrl: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`${baseUrl}/v1/${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`PUT /v1/${path} answered ${r.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function healthStatus(baseUrl: string): Promise<number> {
  const r = await fetch(`${baseUrl}/v1/sys/health`);
  await r.arrayBuffer();
  return r.status;
}

/** One timed start of `seal`; the server is stopped before it returns. */
async function startOnce(setup: Setup, seal: Seal, unsealKey: string): Promise<Sample> {
  const server = await spawnServer(setup, seal);
  try {
    if (seal === 'pkcs11') {
      const r = await poll(server, 'sys/health', (s) => s === 200);
      return { listenerMs: r.firstMs, servingMs: r.doneMs };
    }
    const up = await poll(server, 'sys/seal-status', (s) => s === 200);
    const unsealed = await put(server.baseUrl, 'sys/unseal', { key: unsealKey });
    const servingMs = performance.now() - server.startedAt;
    if (unsealed.sealed !== false) throw new Error(`sys/unseal with the 1-of-1 key answered sealed: ${JSON.stringify(unsealed)}`);
    const health = await healthStatus(server.baseUrl);
    if (health !== 200) throw new Error(`sys/health answered ${health} right after the unseal`);
    return { listenerMs: up.doneMs, servingMs };
  } finally {
    await server.stop();
  }
}

/** Starts each server once on its empty database and initialises it; returns the Shamir unseal key. */
async function initialise(setup: Setup): Promise<string> {
  const shamir = await spawnServer(setup, 'shamir');
  let key: string;
  try {
    await poll(shamir, 'sys/seal-status', (s) => s === 200);
    const init = await put(shamir.baseUrl, 'sys/init', { secret_shares: 1, secret_threshold: 1 });
    key = (init.keys as string[])[0] as string;
  } finally {
    await shamir.stop();
  }
  const pkcs11 = await spawnServer(setup, 'pkcs11');
  try {
    await poll(pkcs11, 'sys/seal-status', (s) => s === 200);
    const init = await put(pkcs11.baseUrl, 'sys/init', { recovery_shares: 1, recovery_threshold: 1 });
    if ((init.recovery_keys as string[] | undefined)?.length !== 1) throw new Error(`pkcs11 sys/init gave no recovery key: ${JSON.stringify(init)}`);
    await poll(pkcs11, 'sys/health', (s) => s === 200); // init unseals by itself (and generated the key on the token)
  } finally {
    await pkcs11.stop();
  }
  return key;
}

function hsmPhases(token: SoftHsmToken): HsmPhases {
  const r = spawnSync(process.execPath, [PHASES_MAIN, JSON.stringify({ conf: token.conf, label: token.label, pin: token.pin, keyLabel: KEY_LABEL })], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`hsm-phases exited with ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as HsmPhases;
}

function envCount(name: string, fallback: number): number {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

export async function runSealStart(): Promise<number> {
  const unavailable = softHsmUnavailable();
  if (unavailable) {
    process.stdout.write(`seal-start: skipped: SoftHSM2 and pkcs11js are needed (${unavailable})\n`);
    return 0;
  }
  const reps = envCount('BENCH_SEAL_START_REPS', 5);
  const loadAtStart = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const startedAt = new Date();
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const dbs = await startDatabases(log, ['seal_shamir', 'seal_pkcs11']);
    cleanups.push(() => dbs.stop());
    const token = createSoftHsmToken(TOKEN_LABEL);
    cleanups.push(() => token.cleanup());
    const dir = mkdtempSync(join(os.tmpdir(), 'secrethub-bench-seal-start-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const configs: Record<Seal, string> = { shamir: join(dir, 'shamir.hcl'), pkcs11: join(dir, 'pkcs11.hcl') };
    writeFileSync(configs.shamir, '# no seal stanza: the Shamir seal\n');
    writeFileSync(
      configs.pkcs11,
      `seal "pkcs11" {\n  lib = "${SOFTHSM_LIB}"\n  token_label = "${TOKEN_LABEL}"\n  pin = "env://BENCH_HSM_PIN"\n  key_label = "${KEY_LABEL}"\n  generate_key = "true"\n}\n`,
    );
    process.env.BENCH_HSM_PIN = token.pin; // the servers' environment: the PIN is not in the file
    const setup: Setup = { dbs, dir, token, configs };
    log(`database: ${dbs.source}; SoftHSM token in ${token.dir}`);
    const unsealKey = await initialise(setup);

    log('warm-up: one start of each (not counted)');
    await startOnce(setup, 'shamir', unsealKey);
    await startOnce(setup, 'pkcs11', unsealKey);
    const samples: Record<Seal, Sample[]> = { shamir: [], pkcs11: [] };
    for (let i = 0; i < reps; i++) {
      const order: Seal[] = i % 2 === 0 ? ['shamir', 'pkcs11'] : ['pkcs11', 'shamir'];
      for (const seal of order) {
        const s = await startOnce(setup, seal, unsealKey);
        samples[seal].push(s);
        log(`${i + 1}/${reps} ${seal}: listener ${round1(s.listenerMs)} ms, serving ${round1(s.servingMs)} ms`);
      }
    }
    log('timing the PKCS#11 calls of an auto-unseal in fresh processes');
    const phases = Array.from({ length: reps }, () => hsmPhases(token));
    const phaseMedians = Object.fromEntries(
      (Object.keys(phases[0] as HsmPhases) as (keyof HsmPhases)[]).map((k) => [k, summary(phases.map((p) => p[k])).medianMs]),
    );

    const result = {
      timestamp: startedAt.toISOString(),
      durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        node: process.version,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
        database: dbs.source,
      },
      repetitions: reps,
      pkcs11: {
        what: 'spawn to the first GET sys/health answering 200 (auto-unsealed, serving)',
        serving: summary(samples.pkcs11.map((s) => s.servingMs)),
        listener: summary(samples.pkcs11.map((s) => s.listenerMs)),
        afterListener: summary(samples.pkcs11.map((s) => s.servingMs - s.listenerMs)),
      },
      shamir: {
        what: 'spawn to GET sys/seal-status answering, then one PUT sys/unseal (1-of-1 key) until it answers unsealed',
        serving: summary(samples.shamir.map((s) => s.servingMs)),
        listener: summary(samples.shamir.map((s) => s.listenerMs)),
        afterListener: summary(samples.shamir.map((s) => s.servingMs - s.listenerMs)),
      },
      ratio: 0,
      hsmPhasesMedianMs: phaseMedians,
    };
    result.ratio = Math.round((result.pkcs11.serving.medianMs / result.shamir.serving.medianMs) * 1000) / 1000;
    const line = (name: string, s: Summary) => `  ${name.padEnd(30)} median ${String(s.medianMs).padStart(7)} ms   range ${s.minMs}–${s.maxMs} ms`;
    process.stdout.write(
      [
        `seal-start (${reps} alternating repetitions, load average ${loadAtStart.join(' ')} → ${result.machine.loadAverageAtEnd.join(' ')})`,
        line('pkcs11: spawn → health 200', result.pkcs11.serving),
        line('pkcs11: spawn → listener', result.pkcs11.listener),
        line('pkcs11: listener → health 200', result.pkcs11.afterListener),
        line('shamir: spawn → unsealed', result.shamir.serving),
        line('shamir: spawn → listener', result.shamir.listener),
        line('shamir: listener → unsealed', result.shamir.afterListener),
        `  ratio pkcs11 / shamir (medians, spawn → serving): ${result.ratio}`,
        `  PKCS#11 calls of an auto-unseal, fresh process, medians (ms): ${Object.entries(phaseMedians)
          .map(([k, v]) => `${k.replace(/Ms$/, '')} ${v}`)
          .join(', ')}`,
      ].join('\n') + '\n',
    );
    writeResults(RESULTS, result);
    return 0;
  } catch (err) {
    process.stderr.write(`bench seal-start: ${(err as Error).stack ?? (err as Error).message}\n`);
    return 1;
  } finally {
    await runCleanups(cleanups, log);
  }
}
