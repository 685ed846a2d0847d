/**
 * A transit key's lifecycle (issue 29), derived from its policy: each version's state and the
 * usage threshold at which the latest version rotates; health itself is the kernel's
 * (kernel/key-management/key-health.ts), fed from here.
 *
 * Version states: `active` (encrypts/signs and decrypts/verifies), `decrypt-only` (below
 * min_encryption_version), `retired` (below min_decryption_version: reversible, as Vault lets it be
 * lowered again), `destroyed` (below min_available_version: trimmed, irreversible — the database
 * refuses to lower min_available_version or insert such a version).
 */
import { SYMMETRIC_TYPES } from '../../crypto/transit/key-types';
import type { HealthKey, VersionState } from '../../kernel/key-management/key-health';

export type { VersionState };
import type { TransitKeyPolicy, TransitSummaryRow } from './transit.repository';
import { AEAD_NONCE_LIMIT, AEAD_ROTATE_AT } from './transit-usage';

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

/** The kernel's view of a transit key for health. */
export function healthKeyOf(
  p: Pick<TransitKeyPolicy, 'type' | 'autoRotatePeriod' | 'autoRotateAfterOperations' | 'exportable' | 'allowPlaintextBackup'>,
  latestCreatedAt: Date | undefined,
): HealthKey {
  const threshold = usageThreshold(p);
  return {
    type: p.type,
    autoRotatePeriod: p.autoRotatePeriod,
    latestCreatedAt,
    usageLimit: Number.isFinite(threshold) ? threshold : null,
    hardLimit: SYMMETRIC_TYPES.includes(p.type) ? AEAD_NONCE_LIMIT : null,
    hasRotationPolicy: p.autoRotatePeriod > 0 || p.autoRotateAfterOperations > 0 || p.type === 'managed_key',
    exportable: p.exportable,
    allowPlaintextBackup: p.allowPlaintextBackup,
  };
}

/** How many of versions 1..latest are in each state (from the policy's bounds alone). */
export function versionStateCounts(
  p: Pick<TransitKeyPolicy, 'latestVersion' | 'minAvailableVersion' | 'minDecryptionVersion' | 'minEncryptionVersion'>,
): Record<VersionState, number> {
  const counts: Record<VersionState, number> = { active: 0, 'decrypt-only': 0, retired: 0, destroyed: 0 };
  for (let v = 1; v <= p.latestVersion; v++) counts[versionState(p, v)]++;
  return counts;
}

export function summaryKeyOf(r: TransitSummaryRow, mountPath: string) {
  return {
    ...healthKeyOf(r, r.latestCreatedAt),
    label: `${mountPath}${r.name}`,
    latestOperations: r.latestOperations,
    failedRotations: r.failedRotations,
    versionStates: versionStateCounts(r),
  };
}

/**
 * Whether a managed key answers on its token, asked once per key id per summary (undefined for a
 * key with no managed key: nothing to reach).
 */
export function hsmReachability(keys: { reachableById(id: string): Promise<boolean> }): (managedKeyId: string | null) => Promise<boolean | undefined> {
  return async (id) => (id ? keys.reachableById(id).catch(() => false) : undefined);
}
