/** The bench report: the targets checked, the printed table and the JSON written to bench/results/. */
import type { Check, Scenario } from '../scenarios';
import type { Measurement } from './load';
import type { Scaling } from '../scaling';

/** Targets that apply to every SecretHub measurement. */
export const TARGETS = { rssMb: 250 };

export interface ScenarioResult {
  name: string;
  description: string;
  connections: number;
  /** One operation is this many requests in sequence (Scenario.operation); null: one request. */
  operation: { name: string; requests: number } | null;
  floor: Measurement | null;
  secrethub: Measurement | null;
  /** For a cost-growth scenario: the scenario it grows from, measured on the small server in alternation with this one. */
  baseline: Measurement | null;
  /** SecretHub req/s ÷ floor req/s. */
  ratioToFloor: number | null;
  cryptoLimit: { primitive: string; description: string; opsPerSecond: number } | null;
  /** Items (primitive operations) one request carries, a batch's; absent: one. */
  itemsPerRequest?: number;
  /** SecretHub items/s ÷ the crypto limit's operations/s (one core). */
  ratioToCryptoLimit?: number | null;
  notes: string[];
  checks: Check[];
  details?: Record<string, unknown>;
  /** `--workers N`: floor and secrethub above are N processes; these the measurements with one, and the ratios. */
  scaling?: Scaling;
  /** Why the scenario failed (errors, non-2xx responses, set-up error); empty when it did not. */
  failures: string[];
}

export interface Report {
  timestamp: string;
  durationSeconds: number;
  audit: { enabled: boolean; note: string };
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  cryptoLimits: Record<string, number>;
  secrethubStartMs: number | null;
  scenarios: ScenarioResult[];
  checks: Check[];
  failed: boolean;
}

/** A scenario's result before anything is measured. */
export function emptyResult(s: Scenario): ScenarioResult {
  return {
    name: s.name,
    description: s.description,
    connections: s.connections,
    operation: s.operation ?? null,
    floor: null,
    secrethub: null,
    baseline: null,
    ratioToFloor: null,
    cryptoLimit: null,
    itemsPerRequest: s.itemsPerRequest,
    notes: [],
    checks: [],
    failures: [],
  };
}

const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Failures of one measurement: any transport error, timeout or response outside 2xx. */
export function measurementFailures(target: string, m: Measurement): string[] {
  const out: string[] = [];
  if (m.errors > 0 || m.timeouts > 0) out.push(`${target}: ${m.errors} errors (${m.timeouts} timeouts)`);
  if (m.non2xx > 0) out.push(`${target}: ${m.non2xx} non-2xx responses (${JSON.stringify(m.statusCodes)})`);
  if (m.completed === 0) out.push(`${target}: no request completed`);
  return out;
}

/** The target checks of one scenario; `audit`: both sides audit (named in the floor-ratio check). */
export function scenarioChecks(s: Scenario, r: ScenarioResult, audit = false): Check[] {
  const checks: Check[] = [];
  const sh = r.secrethub;
  if (!sh) return checks;
  if (s.minFloorRatio !== undefined && r.ratioToFloor !== null) {
    const name = `${s.name} req/s vs floor${audit ? ' (audit on both sides)' : ''}`;
    checks.push({
      name,
      target: `>= ${Math.round(s.minFloorRatio * 100)}% of floor`,
      value: `${Math.round(r.ratioToFloor * 100)}%`,
      pass: r.ratioToFloor >= s.minFloorRatio,
    });
  }
  if (s.minAuditEntriesPerSecond !== undefined) {
    const v = sh.auditEntriesPerSecond;
    checks.push({
      name: `${s.name} committed audit entries/s (HTTP, end to end)`,
      target: `>= ${fmt(s.minAuditEntriesPerSecond)}/s`,
      value: v === null ? 'not measured' : `${fmt(v)}/s (${fmt(sh.auditEntriesPerRequest, 2)} per request)`,
      pass: v !== null && v >= s.minAuditEntriesPerSecond,
    });
  }
  if (s.maxP99Ms !== undefined)
    checks.push({
      name: `${s.name} p99 latency`,
      target: `< ${s.maxP99Ms} ms`,
      value: `${fmt(sh.latencyMs.p99)} ms (median round; worst round ${fmt(sh.latencyMs.p99Worst)} ms)`,
      pass: sh.latencyMs.p99 < s.maxP99Ms,
    });
  if (sh.rssPeakMb !== null)
    checks.push({ name: `${s.name} server RSS peak`, target: `< ${TARGETS.rssMb} MB`, value: `${fmt(sh.rssPeakMb)} MB`, pass: sh.rssPeakMb < TARGETS.rssMb });
  if (s.growthOf) {
    const name = `${s.name} req/s vs ${s.growthOf.scenario} (cost growth)`;
    const target = `>= ${Math.round((1 - s.growthOf.tolerance) * 100)}% of ${s.growthOf.scenario}`;
    if (r.baseline && r.baseline.requestsPerSecond > 0) {
      const ratio = sh.requestsPerSecond / r.baseline.requestsPerSecond;
      checks.push({ name, target, value: `${Math.round(ratio * 100)}%`, pass: ratio >= 1 - s.growthOf.tolerance });
    } else checks.push({ name, target, value: `not measured`, pass: false });
  }
  return checks;
}

const COLUMNS: [string, number][] = [
  ['scenario', 14],
  ['target', 14],
  ['req/s', 9],
  ['p50 ms', 7],
  ['p99 ms', 7],
  ['p99 max', 7],
  ['errors', 7],
  ['non-2xx', 8],
  ['RSS peak', 9],
  ['RSS mean', 9],
  ['CPU', 5],
  ['CPU ms/req', 10],
  ['PG CPU', 6],
  ['PG ms/req', 9],
  ['gen CPU', 7],
  ['machine', 7],
];

function row(cells: string[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(COLUMNS[i]?.[1] ?? 8) : c.padStart(COLUMNS[i]?.[1] ?? 8))).join('  ');
}

const pct = (v: number | null) => (v === null ? '-' : `${v}%`);

function measurementRow(name: string, target: string, m: Measurement): string {
  const mb = (v: number | null) => (v === null ? '-' : `${fmt(v)} MB`);
  return row([
    name,
    target,
    fmt(m.requestsPerSecond),
    fmt(m.latencyMs.p50),
    fmt(m.latencyMs.p99),
    fmt(m.latencyMs.p99Worst),
    fmt(m.errors),
    fmt(m.non2xx),
    mb(m.rssPeakMb),
    mb(m.rssMeanMb),
    pct(m.cpuPercent),
    fmt(m.cpuMsPerRequest, 3),
    pct(m.dbCpuPercent),
    fmt(m.dbCpuMsPerRequest, 3),
    pct(m.loadGeneratorCpuPercent),
    pct(m.machineCpuPercent),
  ]);
}

/** The lines for one scenario (table rows plus its ratio, crypto limit, notes and failures). */
export function scenarioLines(r: ScenarioResult): string[] {
  const lines: string[] = [];
  const sc = r.scaling;
  if (sc) {
    if (sc.floor1) lines.push(measurementRow(r.name, 'floor x1', sc.floor1));
    if (sc.secrethub1) lines.push(measurementRow(sc.floor1 ? '' : r.name, 'secrethub x1', sc.secrethub1));
  }
  const n = sc ? ` x${sc.workers}` : '';
  if (r.floor) lines.push(measurementRow(sc ? '' : r.name, `floor${n}`, r.floor));
  if (r.baseline) lines.push(measurementRow(r.floor ? '' : r.name, 'secrethub', r.baseline));
  if (r.secrethub) lines.push(measurementRow(sc || r.floor || r.baseline ? '' : r.name, r.baseline ? 'secrethub-100k' : `secrethub${n}`, r.secrethub));
  if (!r.floor && !r.secrethub) lines.push(row([r.name, 'not run', ...Array<string>(COLUMNS.length - 2).fill('-')]));
  const extra: string[] = [];
  if (r.operation) {
    const op = r.operation;
    const perSecond = (label: string, m: Measurement | null) => (m ? `${label} ${fmt(m.requestsPerSecond / op.requests, 1)}` : undefined);
    extra.push(`${op.name}/s (${op.requests} requests each): ${[perSecond('floor', r.floor), perSecond('secrethub', r.secrethub)].filter(Boolean).join(', ')}`);
  }
  if (sc) extra.push(`x${sc.workers} / x1 req/s: floor ${sc.floorScaling?.toFixed(2) ?? '-'}, secrethub ${sc.secrethubScaling?.toFixed(2) ?? '-'}`);
  if (r.ratioToFloor !== null) extra.push(`secrethub/floor req/s${n} = ${r.ratioToFloor.toFixed(2)}`);
  if (r.baseline && r.secrethub && r.baseline.requestsPerSecond > 0)
    extra.push(`100k/100 secrets req/s = ${(r.secrethub.requestsPerSecond / r.baseline.requestsPerSecond).toFixed(2)}`);
  const audited: [string, Measurement | null][] = [
    [sc ? 'secrethub x1' : 'secrethub', sc ? sc.secrethub1 : r.baseline],
    [r.baseline ? 'secrethub-100k' : `secrethub${n}`, r.secrethub],
  ];
  for (const [label, m] of audited) {
    if (m && m.auditEntriesPerSecond !== null)
      extra.push(`${label} audit entries committed ${fmt(m.auditEntriesPerSecond)}/s (${fmt(m.auditEntriesPerRequest, 2)} per request)`);
  }
  if (r.cryptoLimit) extra.push(`crypto limit (${r.cryptoLimit.description}, 1 core): ${fmt(r.cryptoLimit.opsPerSecond)}/s`);
  if (r.itemsPerRequest && r.itemsPerRequest > 1 && r.secrethub)
    extra.push(`secrethub items/s (${r.itemsPerRequest} per request) = ${fmt(r.secrethub.requestsPerSecond * r.itemsPerRequest)}`);
  if (r.ratioToCryptoLimit !== undefined && r.ratioToCryptoLimit !== null) extra.push(`secrethub/crypto limit = ${r.ratioToCryptoLimit.toFixed(3)}`);
  if (extra.length) lines.push(`${''.padEnd(16)}${extra.join('; ')}`);
  for (const n of r.notes) lines.push(`${''.padEnd(16)}note: ${n}`);
  for (const f of r.failures) lines.push(`${''.padEnd(16)}FAILED: ${f}`);
  return lines;
}

export function formatReport(report: Report): string {
  const m = report.machine;
  const out: string[] = [
    '',
    `SecretHub bench, ${report.timestamp} (${report.durationSeconds.toFixed(0)} s)`,
    `machine: ${m.cpus} x ${m.cpuModel}, ${m.totalMemGb} GB RAM, Node ${m.node}, ${m.postgres} (${m.database}), load average at start ${(m.loadAverageAtStart as number[] | undefined)?.join(' ') ?? '-'}${m.loadAverageAtEnd ? `, at end ${(m.loadAverageAtEnd as number[]).join(' ')}` : ''}`,
    `load: autocannon, ${report.settings.warmupSeconds} s warm-up, then ${report.settings.measureSeconds} s measured per target in ${report.settings.rounds} rounds alternating between the targets, connections per scenario below; SecretHub started in ${fmt(report.secrethubStartMs)} ms`,
    `audit: ${report.audit.enabled ? 'ON' : 'OFF'} (${report.audit.note})`,
    'CPU: the server process and its descendants (workers) during the measured run (100% = one core); PG CPU: its PostgreSQL backends; gen CPU: the load generator (autocannon, this process); machine: every process on the machine (200% = 2 cores busy)',
    '',
    row(COLUMNS.map(([c]) => c)),
    row(COLUMNS.map(([, w]) => '-'.repeat(w))),
  ];
  for (const r of report.scenarios) out.push(...scenarioLines(r));
  out.push('', 'targets (reported, not enforced):');
  for (const c of report.checks) out.push(`  [${c.pass ? 'pass' : 'MISS'}] ${c.name}: ${c.value} (target ${c.target})`);
  const failed = report.scenarios.filter((s) => s.failures.length > 0).map((s) => s.name);
  out.push('', failed.length ? `FAILED scenarios: ${failed.join(', ')}` : 'all scenarios ran without errors or non-2xx responses');
  return out.join('\n');
}
