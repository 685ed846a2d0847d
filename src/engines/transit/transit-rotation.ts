/**
 * Rotation by usage (issue 29): the usage counter calls `rotateForUsage` once a version's stored
 * count reaches its threshold. Under the key's row lock the decision is taken again, so however
 * many writes or processes report the same threshold, the key gains exactly one version: only
 * while the counted version is still the latest and its stored count is at the threshold.
 *
 * A rotation, and a refusal, is audited as the request `update keys/:name/rotate` would be
 * (SystemAudit) after it committed.
 *
 * A rotation that cannot run (an imported key without allow_rotation, a managed key) or fails is
 * recorded as `rotation-failed` (once per version and process) and counted in the key's
 * failed_rotations; a success resets it.
 */
import type { SystemAudit } from '../../kernel/system-audit';
import { usageThreshold } from './key-lifecycle';
import type { TransitKeyStore } from './transit-key-store';
import { newVersion } from './transit-keys.paths';
import type { UsageKey } from './transit-usage';

/** `reported`: versions whose failed rotation this process already recorded (one history row per version, not one per operation). */
export async function rotateForUsage(
  store: TransitKeyStore,
  key: UsageKey,
  log: (message: string) => void,
  reported: Set<string>,
  audit?: SystemAudit,
): Promise<void> {
  let refused: string | undefined;
  let policyLimit = false;
  let rotatedTo: number | undefined;
  try {
    await store.update(key.mountUuid, key.name, (current) => {
      const threshold = usageThreshold(current);
      const latest = current.versions[String(current.latestVersion)];
      if (current.latestVersion !== key.version || !latest || latest.operations < threshold) return {};
      if (current.type === 'managed_key') refused = 'managed keys rotate on their token, not by usage';
      else if (current.importedKey && !current.allowImportedKeyRotation) refused = 'imported key does not allow rotation';
      if (refused) return {};
      policyLimit = current.autoRotateAfterOperations > 0 && current.autoRotateAfterOperations <= threshold;
      rotatedTo = current.latestVersion + 1;
      return {
        append: [newVersion(current)],
        change: { failedRotations: 0, importedKey: false },
        history: {
          event: 'rotation',
          reason: policyLimit ? 'usage' : 'compliance',
          actor: 'system',
          details: { operations: latest.operations, threshold },
        },
      };
    });
  } catch (err) {
    refused = (err as Error).message;
    rotatedTo = undefined;
  }
  if (rotatedTo !== undefined)
    await auditAutomaticRotation(audit, log, key.mountUuid, key.name, policyLimit ? 'usage' : 'compliance', {
      from_version: key.version,
      to_version: rotatedTo,
    });
  const id = `${key.mountUuid}\u0000${key.name}\u0000${key.version}`;
  if (refused && !reported.has(id)) {
    reported.add(id);
    log(`transit: could not rotate key ${key.name} by usage: ${refused}`);
    await auditAutomaticRotation(audit, log, key.mountUuid, key.name, 'usage', { error: refused });
    await store
      .recordFailure(key.mountUuid, key.name, {
        event: 'rotation-failed',
        reason: 'usage',
        actor: 'system',
        fromVersion: key.version,
        details: { error: refused },
      })
      .catch((err: Error) => log(`transit: could not record a failed rotation: ${err.message}`));
  }
}

/**
 * Audits an automatic rotation (or its refusal) after it committed, as the request
 * `update keys/:name/rotate` would be; an audit failure is logged, the rotation stands.
 */
export async function auditAutomaticRotation(
  audit: SystemAudit | undefined,
  log: ((message: string) => void) | undefined,
  mountUuid: string,
  name: string,
  reason: 'period' | 'usage' | 'compliance',
  response: Record<string, unknown>,
): Promise<void> {
  await audit
    ?.record({ mountUuid, path: `keys/${name}/rotate`, operation: 'update', data: { reason, actor: 'system' }, response })
    .catch((err: Error) => log?.(`transit: could not audit the automatic rotation of ${name}: ${err.message}`));
}
