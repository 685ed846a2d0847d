/**
 * A transit key's lifecycle and health, derived from its policy (issue 29). Pure: the paths read the
 * policy, usage and rotation history and pass them in.
 *
 * Version states: `active` (encrypts/signs and decrypts/verifies), `decrypt-only` (below
 * min_encryption_version), `retired` (below min_decryption_version: reversible, as Vault lets it be
 * lowered again), `destroyed` (below min_available_version: trimmed, irreversible).
 *
 * The health score starts at 100 and loses the points of each finding, never below 0; every lost
 * point has a reason in the answer.
 */
import { SYMMETRIC_TYPES } from '../../crypto/transit/key-types';
import type { TransitKeyPolicy } from './transit.repository';
import { AEAD_NONCE_LIMIT, AEAD_ROTATE_AT } from './transit-usage';

export type VersionState = 'active' | 'decrypt-only' | 'retired' | 'destroyed';

export function versionState(
  p: Pick<TransitKeyPolicy, 'minAvailableVersion' | 'minDecryptionVersion' | 'minEncryptionVersion'>,
  version: number,
): VersionState {
  if (p.minAvailableVersion > 0 && version < p.minAvailableVersion) return 'destroyed';
  if (version < p.minDecryptionVersion) return 'retired';
  if (p.minEncryptionVersion > 0 && version < p.minEncryptionVersion) return 'decrypt-only';
  return 'active';
}

/** The count of operations at which the latest version rotates (Infinity: never). */
export function usageThreshold(p: Pick<TransitKeyPolicy, 'type' | 'autoRotateAfterOperations'>): number {
  const policy = p.autoRotateAfterOperations > 0 ? p.autoRotateAfterOperations : Infinity;
  return SYMMETRIC_TYPES.includes(p.type) ? Math.min(policy, AEAD_ROTATE_AT) : policy;
}

/** What health needs of a key: its policy's rotation settings and its latest version's age. */
export type HealthKey = Pick<TransitKeyPolicy, 'type' | 'autoRotatePeriod' | 'autoRotateAfterOperations' | 'exportable' | 'allowPlaintextBackup'> & {
  latestCreatedAt?: Date;
};

export function healthKeyOf(p: TransitKeyPolicy): HealthKey {
  return { ...p, latestCreatedAt: p.versions[String(p.latestVersion)]?.createdAt };
}

/** When the latest version is due by time (unix ms), or undefined without auto_rotate_period. */
export function rotationDueAt(k: HealthKey): number | undefined {
  if (k.autoRotatePeriod <= 0 || !k.latestCreatedAt) return undefined;
  return k.latestCreatedAt.getTime() + k.autoRotatePeriod * 1000;
}

export interface HealthInputs {
  now: number;
  /** Stored operation count of the latest version. */
  latestOperations: number;
  /** Automatic rotations that failed since the last success. */
  failedRotations: number;
  /** managed_key keys: whether the token answered. */
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

export function keyHealth(p: HealthKey, inputs: HealthInputs): KeyHealth {
  const reasons: { points: number; reason: string }[] = [];
  const due = rotationDueAt(p);
  const overdue = due !== undefined && due < inputs.now;
  if (overdue) reasons.push({ points: 40, reason: 'the latest version is older than auto_rotate_period' });
  const limit = usageThreshold(p);
  const fraction = Number.isFinite(limit) ? inputs.latestOperations / limit : null;
  if (fraction !== null && fraction >= 1) reasons.push({ points: 40, reason: 'the latest version reached its usage limit' });
  else if (fraction !== null && fraction >= 0.8) reasons.push({ points: 15, reason: 'the latest version is past 80% of its usage limit' });
  if (SYMMETRIC_TYPES.includes(p.type) && inputs.latestOperations >= AEAD_NONCE_LIMIT)
    reasons.push({ points: 60, reason: 'the latest version passed 2^32 encryptions (NIST SP 800-38D)' });
  if (p.autoRotatePeriod === 0 && p.autoRotateAfterOperations === 0 && p.type !== 'managed_key')
    reasons.push({ points: 10, reason: 'no rotation policy (auto_rotate_period or auto_rotate_after_operations)' });
  if (inputs.failedRotations > 0) reasons.push({ points: 20, reason: `${inputs.failedRotations} automatic rotation(s) failed` });
  if (inputs.hsmReachable === false) reasons.push({ points: 50, reason: 'the managed key is unreachable' });
  if (p.allowPlaintextBackup) reasons.push({ points: 5, reason: 'plaintext backup is allowed' });
  if (p.exportable) reasons.push({ points: 5, reason: 'the key is exportable' });
  const lost = reasons.reduce((sum, r) => sum + r.points, 0);
  return {
    score: Math.max(0, 100 - lost),
    reasons,
    rotation_due_at: due === undefined ? null : new Date(due).toISOString(),
    overdue,
    usage: { operations: inputs.latestOperations, limit: Number.isFinite(limit) ? limit : null, fraction },
  };
}

/** Whether the key is due within the next 7 days (and not already overdue). */
export function dueWithinWeek(p: HealthKey, now: number): boolean {
  const due = rotationDueAt(p);
  return due !== undefined && due >= now && due < now + WEEK_MS;
}

export interface SummaryKey extends HealthKey {
  mountPath: string;
  name: string;
  latestOperations: number;
  failedRotations: number;
  hsmReachable?: boolean;
}

const scoreBand = (score: number): 'healthy' | 'warning' | 'critical' => (score >= 80 ? 'healthy' : score >= 50 ? 'warning' : 'critical');

/**
 * The summary a dashboard shows: keys by type and by health band, rotations due in the next 7
 * days, keys past their period, versions past 80% of their usage limit, failed rotations,
 * unreachable HSM keys, and a score (the mean of the keys', 100 without keys) with its reasons.
 */
export function summarize(keys: SummaryKey[], now: number): Record<string, unknown> {
  const byType: Record<string, number> = {};
  const byState: Record<string, number> = { healthy: 0, warning: 0, critical: 0 };
  const label = (k: SummaryKey) => `${k.mountPath}${k.name}`;
  const dueSoon: string[] = [];
  const overdue: string[] = [];
  const nearLimit: string[] = [];
  const failed: string[] = [];
  const unreachable: string[] = [];
  let total = 0;
  for (const k of keys) {
    const h = keyHealth(k, { now, latestOperations: k.latestOperations, failedRotations: k.failedRotations, hsmReachable: k.hsmReachable });
    byType[k.type] = (byType[k.type] ?? 0) + 1;
    byState[scoreBand(h.score)]++;
    total += h.score;
    if (dueWithinWeek(k, now)) dueSoon.push(label(k));
    if (h.overdue) overdue.push(label(k));
    if (h.usage.fraction !== null && h.usage.fraction >= 0.8) nearLimit.push(label(k));
    if (k.failedRotations > 0) failed.push(label(k));
    if (k.hsmReachable === false) unreachable.push(label(k));
  }
  const reasons: string[] = [];
  if (overdue.length) reasons.push(`${overdue.length} key(s) past their rotation period`);
  if (nearLimit.length) reasons.push(`${nearLimit.length} key(s) past 80% of their usage limit`);
  if (failed.length) reasons.push(`${failed.length} key(s) with failed automatic rotations`);
  if (unreachable.length) reasons.push(`${unreachable.length} managed key(s) unreachable`);
  if (byState.critical) reasons.push(`${byState.critical} key(s) in critical health`);
  return {
    keys: keys.length,
    by_type: byType,
    by_state: byState,
    rotations_due_7d: dueSoon.sort(),
    overdue: overdue.sort(),
    near_usage_limit: nearLimit.sort(),
    failed_rotations: failed.sort(),
    hsm_unreachable: unreachable.sort(),
    score: keys.length === 0 ? 100 : Math.round(total / keys.length),
    reasons,
  };
}
