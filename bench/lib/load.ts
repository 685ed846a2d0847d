/**
 * One load run against one server: a warm-up (discarded), then the measured run, both with
 * autocannon over loopback, while the server's RSS is sampled.
 */
import autocannon from 'autocannon';
import { backendCpuDelta } from './postgres';
import { cpuSeconds, sampleRss } from './processes';

export interface LoadPlan {
  /** Requests that autocannon cycles through (each connection in order). */
  requests: autocannon.Request[];
}

export interface LoadSettings {
  connections: number;
  warmupSeconds: number;
  measureSeconds: number;
}

export interface Measurement {
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; mean: number; max: number };
  completed: number;
  /** Transport errors (incl. timeouts) and responses outside 2xx: any of them fails the scenario. */
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  rssPeakMb: number | null;
  rssMeanMb: number | null;
  /** The server process's CPU use during the measured run (100 = one core), and per request. */
  cpuPercent: number | null;
  cpuMsPerRequest: number | null;
  /** The same for the PostgreSQL backends serving it (when they run on this machine). */
  dbCpuPercent: number | null;
  dbCpuMsPerRequest: number | null;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * `dbCpuSeconds`: CPU seconds used so far by each of the server's PostgreSQL backends (undefined
 * when they cannot be seen).
 */
export async function runLoad(baseUrl: string, pid: number, plan: LoadPlan, settings: LoadSettings, dbCpuSeconds: () => Promise<Map<number, number> | undefined>): Promise<Measurement> {
  const options: autocannon.Options = { url: baseUrl, connections: settings.connections, timeout: 10, requests: plan.requests };
  const rss = sampleRss(pid);
  try {
    if (settings.warmupSeconds > 0) await autocannon({ ...options, duration: settings.warmupSeconds });
    const dbBefore = await dbCpuSeconds();
    const cpuBefore = cpuSeconds(pid);
    const r = await autocannon({ ...options, duration: settings.measureSeconds });
    const cpuAfter = cpuSeconds(pid);
    const dbAfter = await dbCpuSeconds();
    const cpu = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
    const dbCpu = backendCpuDelta(dbBefore, dbAfter);
    const statusCodes: Record<string, number> = {};
    for (const [code, s] of Object.entries(r.statusCodeStats)) statusCodes[code] = s.count;
    const summary = rss.stop();
    return {
      requestsPerSecond: round(r.requests.total / r.duration, 1),
      latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, mean: round(r.latency.mean), max: r.latency.max },
      completed: r.requests.total,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      statusCodes,
      rssPeakMb: summary.peakMb,
      rssMeanMb: summary.meanMb,
      cpuPercent: cpu === undefined ? null : round((cpu / r.duration) * 100, 0),
      cpuMsPerRequest: cpu === undefined || r.requests.total === 0 ? null : round((cpu * 1000) / r.requests.total, 3),
      dbCpuPercent: dbCpu === undefined ? null : round((dbCpu / r.duration) * 100, 0),
      dbCpuMsPerRequest: dbCpu === undefined || r.requests.total === 0 ? null : round((dbCpu * 1000) / r.requests.total, 3),
    };
  } finally {
    rss.stop();
  }
}
