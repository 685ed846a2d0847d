/**
 * Vault's automatic rotation of transit keys (builtin/logical/transit/backend.go autoRotateKeys and
 * rotateIfRequired): a key whose latest version is older than its `auto_rotate_period` gets a new
 * version. Run by the mount's periodic function (PeriodicRunner: about once a minute, one node at a
 * time).
 *
 * Invariants:
 * - exactly one rotation per due period, however many runners race (nodes, or a pass and a manual
 *   rotate): the rotation happens inside TransitKeyStore.update, under the key's row lock, and only
 *   when the policy read under that lock is still due; the candidate query is a hint only;
 * - never rotated: period 0, managed_key keys (Vault: "We can't auto-rotate managed keys"), imported
 *   keys without allow_imported_key_rotation;
 * - one key failing does not stop the others; the failures are reported together at the end, and
 *   each failing key once in its history (`rotation-failed`, counted in failed_rotations);
 * - a rotation is recorded in the key's history (event rotation, reason period, actor system) and,
 *   after it committed, audited as the request `update keys/:name/rotate` (SystemAudit, no token).
 */
import type { LeaderFence } from '../../framework/backend';
import type { MountEntry } from '../../framework/backend';
import type { SystemAudit } from '../../kernel/system-audit';
import type { TransitKeyPolicy, NewTransitVersion } from './transit.repository';
import type { TransitKeyStore } from './transit-key-store';
import { auditAutomaticRotation } from './transit-rotation';

/** Whether `policy` is due for automatic rotation at `now` (Vault's rotateIfRequired, without the hour-ahead queue). */
export function autoRotationDue(policy: TransitKeyPolicy, now: Date): boolean {
  if (policy.autoRotatePeriod <= 0) return false;
  if (policy.type === 'managed_key') return false;
  if (policy.importedKey && !policy.allowImportedKeyRotation) return false;
  const latest = policy.versions[String(policy.latestVersion)];
  if (!latest) return false;
  return now.getTime() > latest.createdAt.getTime() + policy.autoRotatePeriod * 1000;
}

export interface AutoRotateResult {
  rotated: string[];
  /** Key name → why its rotation failed. */
  failed: Record<string, string>;
}

export interface AutoRotateOptions {
  /** Default: the time the pass starts. */
  now?: Date;
  /** Audits each rotation, after it committed, as the request `update keys/:name/rotate` would be. */
  audit?: SystemAudit;
  /** Where a rotation that could not be audited is said (the rotation stands). */
  log?: (message: string) => void;
  /**
   * Keys whose failed rotation this process already recorded, by mount and name: a failing key gets
   * one `rotation-failed` history row (and one failed_rotations count) per process, not one a minute.
   */
  reportedFailures?: Set<string>;
  /** The leader lease (the periodic function's): each rotation commits only while this process holds it. */
  fence?: LeaderFence;
}

/**
 * Rotates every key of `mount` that is due; `newVersion` makes the version a manual rotate would
 * (the same generation). Returns which keys it rotated (a key another runner rotated first is not
 * among them).
 */
export async function autoRotateKeys(
  store: TransitKeyStore,
  mount: Pick<MountEntry, 'uuid'>,
  newVersion: (policy: TransitKeyPolicy) => NewTransitVersion,
  options: AutoRotateOptions = {},
): Promise<AutoRotateResult> {
  const now = options.now ?? new Date();
  const result: AutoRotateResult = { rotated: [], failed: {} };
  for (const name of await store.repository.dueForAutoRotation(mount.uuid, now)) {
    let fromVersion: number | undefined;
    try {
      await store.update(
        mount.uuid,
        name,
        (current) => {
          if (!autoRotationDue(current, now)) return {};
          fromVersion = current.latestVersion;
          return {
            append: [newVersion(current)],
            // Vault's Rotate: an imported key rotated inside Vault is no longer an imported one.
            change: { importedKey: false, failedRotations: 0 },
            history: { event: 'rotation', reason: 'period', actor: 'system', details: { auto_rotate_period: current.autoRotatePeriod } },
          };
        },
        options.fence,
      );
    } catch (err) {
      const error = (err as Error).message;
      result.failed[name] = error;
      const id = `${mount.uuid}\u0000${name}`;
      if (options.reportedFailures && !options.reportedFailures.has(id)) {
        options.reportedFailures.add(id);
        await store
          .recordFailure(mount.uuid, name, { event: 'rotation-failed', reason: 'period', actor: 'system', details: { error } })
          .catch((e: Error) => options.log?.(`transit: could not record the failed rotation of ${name}: ${e.message}`));
      }
      continue;
    }
    options.reportedFailures?.delete(`${mount.uuid}\u0000${name}`);
    if (fromVersion === undefined) continue;
    result.rotated.push(name);
    await auditAutomaticRotation(options.audit, options.log, mount.uuid, name, 'period', { from_version: fromVersion, to_version: fromVersion + 1 });
  }
  return result;
}

/** The mount's periodic function: rotates what is due, and throws (for the runner's log) naming every key that failed. */
export async function autoRotatePass(
  store: TransitKeyStore,
  mount: MountEntry,
  newVersion: (policy: TransitKeyPolicy) => NewTransitVersion,
  options: Omit<AutoRotateOptions, 'now'> = {},
): Promise<void> {
  const { failed } = await autoRotateKeys(store, mount, newVersion, options);
  const names = Object.keys(failed);
  if (names.length > 0) throw new Error(`auto-rotation failed for ${names.map((n) => `${n} (${failed[n]})`).join(', ')}`);
}
