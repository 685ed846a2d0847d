/**
 * Key health for dashboards (issue 29): a key's score with its reasons, and summaries over many
 * keys. Engines that hold keys register a source with the KeyInventory; `sys/key-management/summary`
 * asks every source. Pure but for the registry.
 *
 * The score starts at 100 and loses each finding's points, never below 0; every lost point has a
 * reason in the answer.
 */

/** What health needs of a key, whatever engine holds it. */
export interface HealthKey {
  type: string;
  /** Seconds; 0: no rotation by time. */
  autoRotatePeriod: number;
  latestCreatedAt?: Date;
  /** Operations of the latest version before it rotates (null: no limit). */
  usageLimit: number | null;
  /** Operations after which the latest version is unsafe to keep using (AEAD nonces: 2^32), if any. */
  hardLimit: number | null;
  /** An explicit rotation policy (by time or usage) is set. */
  hasRotationPolicy: boolean;
  exportable: boolean;
  allowPlaintextBackup: boolean;
}

export interface HealthInputs {
  now: number;
  latestOperations: number;
  failedRotations: number;
  /** HSM-held keys: whether the token answered. */
  hsmReachable?: boolean;
}

export interface KeyHealth {
  score: number;
  reasons: { points: number; reason: string }[];
  rotation_due_at: string | null;
  overdue: boolean;
  usage: { operations: number; limit: number | null; fraction: number | null };
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

export function rotationDueAt(k: HealthKey): number | undefined {
  if (k.autoRotatePeriod <= 0 || !k.latestCreatedAt) return undefined;
  return k.latestCreatedAt.getTime() + k.autoRotatePeriod * 1000;
}

export function keyHealth(k: HealthKey, inputs: HealthInputs): KeyHealth {
  const reasons: { points: number; reason: string }[] = [];
  const due = rotationDueAt(k);
  const overdue = due !== undefined && due < inputs.now;
  if (overdue) reasons.push({ points: 40, reason: 'the latest version is older than auto_rotate_period' });
  const fraction = k.usageLimit !== null ? inputs.latestOperations / k.usageLimit : null;
  if (fraction !== null && fraction >= 1) reasons.push({ points: 40, reason: 'the latest version reached its usage limit' });
  else if (fraction !== null && fraction >= 0.8) reasons.push({ points: 15, reason: 'the latest version is past 80% of its usage limit' });
  if (k.hardLimit !== null && inputs.latestOperations >= k.hardLimit)
    reasons.push({ points: 60, reason: 'the latest version passed 2^32 encryptions (NIST SP 800-38D)' });
  if (!k.hasRotationPolicy) reasons.push({ points: 10, reason: 'no rotation policy (auto_rotate_period or auto_rotate_after_operations)' });
  if (inputs.failedRotations > 0) reasons.push({ points: 20, reason: `${inputs.failedRotations} automatic rotation(s) failed` });
  if (inputs.hsmReachable === false) reasons.push({ points: 50, reason: 'the HSM key is unreachable' });
  if (k.allowPlaintextBackup) reasons.push({ points: 5, reason: 'plaintext backup is allowed' });
  if (k.exportable) reasons.push({ points: 5, reason: 'the key is exportable' });
  const lost = reasons.reduce((sum, r) => sum + r.points, 0);
  return {
    score: Math.max(0, 100 - lost),
    reasons,
    rotation_due_at: due === undefined ? null : new Date(due).toISOString(),
    overdue,
    usage: { operations: inputs.latestOperations, limit: k.usageLimit, fraction },
  };
}

/** Due within the next 7 days (and not already overdue). */
export function dueWithinWeek(k: HealthKey, now: number): boolean {
  const due = rotationDueAt(k);
  return due !== undefined && due >= now && due < now + WEEK_MS;
}

export type VersionState = 'active' | 'decrypt-only' | 'retired' | 'destroyed';

export interface SummaryKey extends HealthKey {
  /** Where the key is: its mount's path and name (`transit/orders`). */
  label: string;
  /** How many of the key's versions are in each lifecycle state. */
  versionStates: Record<VersionState, number>;
  latestOperations: number;
  failedRotations: number;
  hsmReachable?: boolean;
}

const band = (score: number): 'healthy' | 'warning' | 'critical' => (score >= 80 ? 'healthy' : score >= 50 ? 'warning' : 'critical');

/**
 * Keys by type and health band, versions by lifecycle state, rotations due in the next 7 days, keys past their period, latest
 * versions past 80% of their usage limit, failed rotations, unreachable HSM keys, and a score (the
 * mean of the keys', 100 without keys) with its reasons.
 */
export function summarize(keys: SummaryKey[], now: number): Record<string, unknown> {
  const byType: Record<string, number> = {};
  const byState: Record<string, number> = { healthy: 0, warning: 0, critical: 0 };
  const versionsByState: Record<VersionState, number> = { active: 0, 'decrypt-only': 0, retired: 0, destroyed: 0 };
  const dueSoon: string[] = [];
  const overdue: string[] = [];
  const nearLimit: string[] = [];
  const failed: string[] = [];
  const unreachable: string[] = [];
  let total = 0;
  for (const k of keys) {
    const h = keyHealth(k, { now, latestOperations: k.latestOperations, failedRotations: k.failedRotations, hsmReachable: k.hsmReachable });
    byType[k.type] = (byType[k.type] ?? 0) + 1;
    for (const state of Object.keys(versionsByState) as VersionState[]) versionsByState[state] += k.versionStates[state];
    byState[band(h.score)]++;
    total += h.score;
    if (dueWithinWeek(k, now)) dueSoon.push(k.label);
    if (h.overdue) overdue.push(k.label);
    if (h.usage.fraction !== null && h.usage.fraction >= 0.8) nearLimit.push(k.label);
    if (k.failedRotations > 0) failed.push(k.label);
    if (k.hsmReachable === false) unreachable.push(k.label);
  }
  const reasons: string[] = [];
  if (overdue.length) reasons.push(`${overdue.length} key(s) past their rotation period`);
  if (nearLimit.length) reasons.push(`${nearLimit.length} key(s) past 80% of their usage limit`);
  if (failed.length) reasons.push(`${failed.length} key(s) with failed automatic rotations`);
  if (unreachable.length) reasons.push(`${unreachable.length} HSM key(s) unreachable`);
  if (byState.critical) reasons.push(`${byState.critical} key(s) in critical health`);
  return {
    keys: keys.length,
    by_type: byType,
    by_state: byState,
    versions_by_state: versionsByState,
    rotations_due_7d: dueSoon.sort(),
    overdue: overdue.sort(),
    near_usage_limit: nearLimit.sort(),
    failed_rotations: failed.sort(),
    hsm_unreachable: unreachable.sort(),
    score: keys.length === 0 ? 100 : Math.round(total / keys.length),
    reasons,
  };
}

/** The engines' key sources, for the server-wide summary. */
export class KeyInventory {
  private readonly sources: (() => Promise<SummaryKey[]>)[] = [];

  register(source: () => Promise<SummaryKey[]>): void {
    this.sources.push(source);
  }

  async summary(now = Date.now()): Promise<Record<string, unknown>> {
    const keys = (await Promise.all(this.sources.map((s) => s()))).flat();
    return summarize(keys, now);
  }
}
