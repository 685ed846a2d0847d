/**
 * Recovery keys (auto seals): Shamir shares of a 32-byte recovery key that authorise generate-root,
 * rekey and seal migration, and unseal after `sys/seal`, but never decrypt the root key — only the
 * HSM does. A combined recovery key is proven by opening its check value, AES-256-GCM of nothing
 * under the key itself, so the proof needs no HSM and reveals nothing (the key is random).
 */
import { aeadDecrypt, aeadEncrypt } from '../../crypto/aead';

const RECOVERY_CHECK_LOCATION = 'seal_config/recovery_key_check/1';

export function recoveryKeyCheck(recoveryKey: Buffer): Buffer {
  return aeadEncrypt(recoveryKey, 0, Buffer.alloc(0), RECOVERY_CHECK_LOCATION);
}

/** Throws IntegrityError unless `recoveryKey` made `check`. */
export function verifyRecoveryKey(recoveryKey: Buffer, check: Buffer): void {
  aeadDecrypt(recoveryKey, check, RECOVERY_CHECK_LOCATION);
}
