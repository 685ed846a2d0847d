/**
 * Rekey of the barrier key under an auto seal (Vault's BarrierRekeyUpdate with recovery keys): a new
 * random root key, wrapped by the HSM, with the keyring re-encrypted under it in the SAME transaction
 * that replaces the seal row, so a crash leaves the old root key or the new one. The keyring terms
 * stay the same: no data is rewritten. Afterwards an old wrapped root key (a backup of the seal row)
 * no longer opens the stored keyring.
 */
import { zero } from '../../crypto/hmac';
import { randomKey } from '../../crypto/random';
import { Barrier } from '../barrier/barrier';
import type { BarrierRepository } from '../barrier/barrier.repository';
import { badRequest } from '../errors';
import type { SealProvider } from './seal-provider';
import type { SealRepository } from './seal.repository';

export interface RootKeyRotationDeps {
  seals: SealRepository;
  barrierRepository: BarrierRepository;
  barrier: Barrier;
  provider: SealProvider;
}

export async function rotateRootKey(deps: RootKeyRotationDeps): Promise<void> {
  const newRootKey = randomKey();
  try {
    await deps.barrier.changeRootKey(newRootKey, async (oldRootKey) => {
      const config = await deps.seals.load();
      if (!config) throw badRequest('Vault is not initialized');
      const stored = await deps.barrierRepository.load();
      if (!stored) throw new Error('barrier has no keyring: not initialised');
      const rootKey = await deps.provider.wrapRootKey(newRootKey);
      const keyring = Barrier.reencryptKeyring(oldRootKey, newRootKey, stored.ciphertext);
      await deps.seals.replaceSeal(
        config.rootKey.ciphertext,
        { sealType: config.sealType, secretShares: config.secretShares, secretThreshold: config.secretThreshold, rootKey, recovery: config.recovery },
        (m) => deps.barrierRepository.replaceKeyringCiphertext(m, stored.ciphertext, keyring),
      );
      return keyring;
    });
  } finally {
    zero(newRootKey);
  }
}
