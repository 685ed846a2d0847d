/**
 * Seal migration, Vault's procedure: the server starts with the new seal configured (and, when the
 * old seal is an HSM, its stanza marked `disabled`); the operators unseal with `migrate: true` and
 * the OLD seal's keys. Shamir → pkcs11: the combined unseal key becomes the recovery key (same
 * shares, same threshold). pkcs11 → Shamir: the combined recovery key becomes the unseal key.
 *
 * Invariant: a new root key is made and the keyring re-encrypted under it in the SAME transaction
 * that replaces the seal row, so a crash anywhere leaves the old seal (old keys, old root key) or
 * the new one, never neither; and keys the operators still hold from before (old unseal shares now
 * recovery shares, or an old HSM-wrapped root key in a backup) do not open the new root key. HSM
 * work (key generation, wrapping) happens before the transaction and leaves nothing behind that
 * the old seal needs.
 */
import { randomKey } from '../../crypto/random';
import { zero } from '../../crypto/hmac';
import { Barrier } from '../barrier/barrier';
import type { BarrierRepository } from '../barrier/barrier.repository';
import { badRequest } from '../errors';
import { recoveryKeyCheck, verifyRecoveryKey } from './recovery-key';
import { ShamirSealProvider, type SealProvider } from './seal-provider';
import type { SealRepository, StoredSealConfig } from './seal.repository';

export interface SealMigrationDeps {
  seals: SealRepository;
  barrierRepository: BarrierRepository;
  /** The configured (new) seal. */
  provider: SealProvider;
  /** The disabled stanza's seal: needed to leave an HSM seal. */
  oldProvider?: SealProvider;
  log: (message: string) => void;
}

/** A migration is pending while the stored seal is not the configured one. */
export function migrationPending(config: StoredSealConfig | undefined, provider: SealProvider): boolean {
  return config !== undefined && config.sealType !== provider.type;
}

/** The layout of the keys a migration takes: the old seal's unseal shares (Shamir) or recovery shares (HSM). */
export function migrationKeyLayout(config: StoredSealConfig): { shares: number; threshold: number } {
  return config.sealType === 'shamir' || !config.recovery
    ? { shares: config.secretShares, threshold: config.secretThreshold }
    : { shares: config.recovery.shares, threshold: config.recovery.threshold };
}

/** Why this configuration cannot migrate from the stored seal, or undefined when it can. */
export function migrationProblem(config: StoredSealConfig, deps: Pick<SealMigrationDeps, 'provider' | 'oldProvider'>): string | undefined {
  if (config.sealType === 'pkcs11' && deps.oldProvider?.type !== 'pkcs11')
    return `cannot seal migrate from "pkcs11" to ${deps.provider.type === 'shamir' ? 'Shamir' : `"${deps.provider.type}"`}, no disabled seal in configuration`;
  return undefined;
}

/**
 * Migrates with the old seal's combined key (throws IntegrityError when it is wrong) and returns
 * the new root key, which the caller opens the barrier with and zeroes.
 */
export async function migrateSeal(deps: SealMigrationDeps, config: StoredSealConfig, combined: Buffer): Promise<Buffer> {
  const problem = migrationProblem(config, deps);
  if (problem) throw badRequest(problem);
  const stored = await deps.barrierRepository.load();
  if (!stored) throw new Error('barrier has no keyring: not initialised');
  let oldRootKey: Buffer | undefined;
  const newRootKey = randomKey();
  try {
    let next: Pick<StoredSealConfig, 'sealType' | 'secretShares' | 'secretThreshold' | 'rootKey' | 'recovery'>;
    if (config.sealType === 'shamir') {
      oldRootKey = await new ShamirSealProvider().unwrapRootKey(config.rootKey, combined);
      await deps.provider.open();
      next = {
        sealType: deps.provider.type,
        secretShares: 1,
        secretThreshold: 1,
        rootKey: await deps.provider.wrapRootKey(newRootKey),
        recovery: { shares: config.secretShares, threshold: config.secretThreshold, check: recoveryKeyCheck(combined) },
      };
    } else {
      if (!config.recovery) throw new Error('the stored pkcs11 seal has no recovery keys');
      verifyRecoveryKey(combined, config.recovery.check);
      const old = deps.oldProvider!;
      await old.open();
      oldRootKey = await old.unwrapRootKey(config.rootKey);
      await deps.provider.open();
      next = {
        sealType: deps.provider.type,
        secretShares: deps.provider.autoUnseal ? 1 : config.recovery.shares,
        secretThreshold: deps.provider.autoUnseal ? 1 : config.recovery.threshold,
        rootKey: await deps.provider.wrapRootKey(newRootKey, deps.provider.autoUnseal ? undefined : combined),
        recovery: deps.provider.autoUnseal ? config.recovery : undefined,
      };
    }
    const keyring = Barrier.reencryptKeyring(oldRootKey, newRootKey, stored.ciphertext);
    await deps.seals.replaceSeal(config.rootKey.ciphertext, next, (m) => deps.barrierRepository.replaceKeyringCiphertext(m, stored.ciphertext, keyring));
    deps.log(`seal: migrated from ${config.sealType} to ${deps.provider.type}; the root key was replaced`);
    return newRootKey;
  } catch (err) {
    zero(newRootKey);
    throw err;
  } finally {
    zero(oldRootKey);
  }
}
