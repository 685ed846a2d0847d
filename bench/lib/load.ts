/**
 * Load against one server with autocannon over loopback: a warm-up (discarded), then measured
 * rounds while the server's RSS is sampled. The runner alternates the rounds of the targets it
 * compares (floor, SecretHub, ...), so that a burst of CPU steal on this shared machine hits all
 * of them alike instead of one; `mergeRounds` adds a target's rounds up.
 */
import autocannon from 'autocannon';
import { backendCpuDelta } from './postgres';
import { machineCpuSeconds, sampleRss, treeCpuSeconds } from './processes';

export interface LoadPlan {
  /** Requests that autocannon cycles through (each connection in order). */
  requests: autocannon.Request[];
}

export interface LoadSettings {
  connections: number;
  warmupSeconds: number;
  /** Measured seconds per target, split into `rounds` alternating rounds. */
  measureSeconds: number;
  rounds: number;
}

export interface Measurement {
  requestsPerSecond: number;
  /** p99: the median round's; p99Worst: the worst round's (a burst of CPU steal lands in one round). */
  latencyMs: { p50: number; p90: number; p99: number; p99Worst: number; mean: number; max: number };
  completed: number;
  /** Transport errors (incl. timeouts) and responses outside 2xx: any of them fails the scenario. */
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  rssPeakMb: number | null;
  rssMeanMb: number | null;
  /** The server's CPU use during the measured run, its process and descendants (100 = one core), and per request. */
  cpuPercent: number | null;
  cpuMsPerRequest: number | null;
  /** The same for the PostgreSQL backends serving it (when they run on this machine). */
  dbCpuPercent: number | null;
  dbCpuMsPerRequest: number | null;
  /** The load generator (this process, autocannon in it) during the measured run (100 = one core). */
  loadGeneratorCpuPercent: number;
  /** Every process on the machine, busy time of all cores (100 = one core; the machine has os.cpus() of them); null off Linux. */
  machineCpuPercent: number | null;
  /** Audit entries committed on the target's chain per second of the measured run, and per request (null when not counted). */
  auditEntriesPerSecond: number | null;
  auditEntriesPerRequest: number | null;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export interface LoadTarget {
  baseUrl: string;
  /** The server's process: its RSS and CPU are counted with its descendants' (workers). */
  pid: number;
  plan: LoadPlan;
  /** CPU seconds used so far by each of the server's PostgreSQL backends (undefined when they cannot be seen). */
  dbCpuSeconds: () => Promise<Map<number, number> | undefined>;
  /** Audit entries committed on the server's chain so far (read before and after each measured round); absent: not counted. */
  auditEntries?: () => Promise<number>;
}

/** What one measured round saw, before it is turned into a Measurement. */
export interface Round extends Pick<Measurement, 'completed' | 'errors' | 'timeouts' | 'non2xx' | 'statusCodes' | 'rssPeakMb' | 'rssMeanMb'> {
  seconds: number;
  latency: Omit<Measurement['latencyMs'], 'p99Worst'>;
  cpuSeconds: number | undefined;
  dbCpuSeconds: number | undefined;
  loadGeneratorCpuSeconds: number;
  machineCpuSeconds: number | undefined;
  /** Audit entries committed between the readings before and after the round. */
  auditEntries: number | undefined;
}

const options = (t: LoadTarget, connections: number): autocannon.Options => ({ url: t.baseUrl, connections, timeout: 10, requests: t.plan.requests });

export async function warmUp(t: LoadTarget, settings: LoadSettings): Promise<void> {
  if (settings.warmupSeconds > 0) await autocannon({ ...options(t, settings.connections), duration: settings.warmupSeconds });
}

export async function measureRound(t: LoadTarget, settings: LoadSettings): Promise<Round> {
  const rss = sampleRss(t.pid);
  try {
    const dbBefore = await t.dbCpuSeconds();
    const auditBefore = await t.auditEntries?.();
    const cpuBefore = treeCpuSeconds(t.pid);
    const machineBefore = machineCpuSeconds();
    const ownBefore = process.cpuUsage();
    const r = await autocannon({ ...options(t, settings.connections), duration: Math.max(1, settings.measureSeconds / settings.rounds) });
    const cpuAfter = treeCpuSeconds(t.pid);
    const machineAfter = machineCpuSeconds();
    const own = process.cpuUsage(ownBefore);
    const auditAfter = await t.auditEntries?.();
    const dbAfter = await t.dbCpuSeconds();
    const statusCodes: Record<string, number> = {};
    for (const [code, st] of Object.entries(r.statusCodeStats)) statusCodes[code] = st.count;
    const summary = rss.stop();
    return {
      seconds: r.duration,
      completed: r.requests.total,
      latency: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, mean: r.latency.mean, max: r.latency.max },
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      statusCodes,
      rssPeakMb: summary.peakMb,
      rssMeanMb: summary.meanMb,
      cpuSeconds: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined,
      dbCpuSeconds: backendCpuDelta(dbBefore, dbAfter),
      loadGeneratorCpuSeconds: (own.user + own.system) / 1e6,
      machineCpuSeconds: machineBefore !== undefined && machineAfter !== undefined ? machineAfter - machineBefore : undefined,
      auditEntries: auditBefore !== undefined && auditAfter !== undefined ? auditAfter - auditBefore : undefined,
    };
  } finally {
    rss.stop();
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A target's rounds as one Measurement: rates over the summed time; p50 and p99 the median round's,
 * p99Worst and max the worst round's (percentiles of rounds cannot be added up; both are reported).
 */
export function mergeRounds(rounds: Round[]): Measurement {
  const seconds = sum(rounds.map((r) => r.seconds));
  const completed = sum(rounds.map((r) => r.completed));
  const cpu = rounds.every((r) => r.cpuSeconds !== undefined) ? sum(rounds.map((r) => r.cpuSeconds as number)) : undefined;
  const dbCpu = rounds.every((r) => r.dbCpuSeconds !== undefined) ? sum(rounds.map((r) => r.dbCpuSeconds as number)) : undefined;
  const machine = rounds.every((r) => r.machineCpuSeconds !== undefined) ? sum(rounds.map((r) => r.machineCpuSeconds as number)) : undefined;
  const audit = rounds.every((r) => r.auditEntries !== undefined) ? sum(rounds.map((r) => r.auditEntries as number)) : undefined;
  const statusCodes: Record<string, number> = {};
  for (const r of rounds) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const peaks = rounds.map((r) => r.rssPeakMb).filter((v): v is number => v !== null);
  const means = rounds.map((r) => r.rssMeanMb).filter((v): v is number => v !== null);
  return {
    requestsPerSecond: round(completed / seconds, 1),
    latencyMs: {
      p50: median(rounds.map((r) => r.latency.p50)),
      p90: Math.max(...rounds.map((r) => r.latency.p90)),
      p99: median(rounds.map((r) => r.latency.p99)),
      p99Worst: Math.max(...rounds.map((r) => r.latency.p99)),
      mean: round(sum(rounds.map((r) => r.latency.mean * r.completed)) / Math.max(1, completed)),
      max: Math.max(...rounds.map((r) => r.latency.max)),
    },
    completed,
    errors: sum(rounds.map((r) => r.errors)),
    timeouts: sum(rounds.map((r) => r.timeouts)),
    non2xx: sum(rounds.map((r) => r.non2xx)),
    statusCodes,
    rssPeakMb: peaks.length ? Math.max(...peaks) : null,
    rssMeanMb: means.length ? round(sum(means) / means.length, 0) : null,
    cpuPercent: cpu === undefined ? null : round((cpu / seconds) * 100, 0),
    cpuMsPerRequest: cpu === undefined || completed === 0 ? null : round((cpu * 1000) / completed, 3),
    dbCpuPercent: dbCpu === undefined ? null : round((dbCpu / seconds) * 100, 0),
    dbCpuMsPerRequest: dbCpu === undefined || completed === 0 ? null : round((dbCpu * 1000) / completed, 3),
    loadGeneratorCpuPercent: round((sum(rounds.map((r) => r.loadGeneratorCpuSeconds)) / seconds) * 100, 0),
    machineCpuPercent: machine === undefined ? null : round((machine / seconds) * 100, 0),
    auditEntriesPerSecond: audit === undefined ? null : round(audit / seconds, 1),
    auditEntriesPerRequest: audit === undefined || completed === 0 ? null : round(audit / completed, 3),
  };
}

/** Warms every target up, then measures them in `settings.rounds` alternating rounds. */
export async function runAlternating(targets: LoadTarget[], settings: LoadSettings): Promise<Measurement[]> {
  for (const t of targets) await warmUp(t, settings);
  const rounds: Round[][] = targets.map(() => []);
  for (let i = 0; i < settings.rounds; i++) {
    for (const [k, t] of targets.entries()) rounds[k].push(await measureRound(t, settings));
  }
  return rounds.map(mergeRounds);
}

/** Sends a plan's first request once and checks the answer, so a broken set-up fails loudly before the load. */
export async function probe(baseUrl: string, plan: LoadPlan, checkBody?: (b: Record<string, unknown>) => string | undefined): Promise<string | undefined> {
  const first = plan.requests[0];
  if (!first) return 'no request in plan';
  const req = (first.setupRequest ? first.setupRequest({ ...first }, {}) : first) ?? first;
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
