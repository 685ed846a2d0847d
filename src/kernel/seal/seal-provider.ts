/**
 * How the root key is protected at rest. Shamir wraps it with a key the operators hold in shares;
 * an HSM provider (PKCS#11) wraps it inside the HSM and can unseal by itself.
 */
import { aeadDecrypt, aeadEncrypt } from '../../crypto/aead';

export const ROOT_KEY_LOCATION = 'seal_config/root_key_wrapped/1';

export interface SealProvider {
  readonly type: 'shamir' | 'pkcs11';
  /** True when the provider can unwrap the root key without operator shares. */
  readonly autoUnseal: boolean;
  wrapRootKey(rootKey: Buffer, unsealKey?: Buffer): Promise<Buffer>;
  /** Throws IntegrityError when the unseal key (or HSM key) does not open the stored root key. */
  unwrapRootKey(wrapped: Buffer, unsealKey?: Buffer): Promise<Buffer>;
}

export class ShamirSealProvider implements SealProvider {
  readonly type = 'shamir' as const;
  readonly autoUnseal = false;

  async wrapRootKey(rootKey: Buffer, unsealKey?: Buffer): Promise<Buffer> {
    if (!unsealKey) throw new Error('shamir seal needs the unseal key');
    return aeadEncrypt(unsealKey, 0, rootKey, ROOT_KEY_LOCATION);
  }

  async unwrapRootKey(wrapped: Buffer, unsealKey?: Buffer): Promise<Buffer> {
    if (!unsealKey) throw new Error('shamir seal needs the unseal key');
    return aeadDecrypt(unsealKey, wrapped, ROOT_KEY_LOCATION);
  }
}
