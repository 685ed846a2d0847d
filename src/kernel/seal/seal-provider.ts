/**
 * How the root key is protected at rest. Shamir wraps it with a key the operators hold in shares;
 * an HSM provider (PKCS#11) wraps it inside the HSM and can unseal by itself. A provider holds no
 * root key: it wraps and unwraps what it is given.
 */
import { aeadDecrypt, aeadEncrypt } from '../../crypto/aead';

export const ROOT_KEY_LOCATION = 'seal_config/root_key_wrapped/1';

/** Which HSM key and mechanism wrapped a root key (stored beside it, so a changed key_label still unwraps). */
export interface HsmKeyIdentity {
  label?: string;
  /** Hex. */
  id?: string;
  mechanism: number;
}

/** The root key as stored in `seal_config`. */
export interface WrappedRootKey {
  ciphertext: Buffer;
  /** Set for pkcs11, absent for Shamir. */
  hsmKey?: HsmKeyIdentity;
}

/** The seal's key store cannot be used now (HSM library, token, PIN or key); the message says which, never the PIN. */
export class SealUnavailableError extends Error {}

export interface SealProvider {
  readonly type: 'shamir' | 'pkcs11';
  /** True when the provider can unwrap the root key without operator shares. */
  readonly autoUnseal: boolean;
  /** Connects to the key store (opens the HSM session, finds or generates the key); throws SealUnavailableError. */
  open(): Promise<void>;
  close(): Promise<void>;
  /** Whether the key store answers now; Shamir always does. */
  health(): Promise<{ healthy: true } | { healthy: false; error: string }>;
  /** The key `wrapRootKey` uses now (undefined for Shamir). */
  currentKey(): HsmKeyIdentity | undefined;
  wrapRootKey(rootKey: Buffer, unsealKey?: Buffer): Promise<WrappedRootKey>;
  /** Throws IntegrityError when the unseal key (or HSM key) does not open the stored root key, SealUnavailableError when the HSM cannot be used. */
  unwrapRootKey(wrapped: WrappedRootKey, unsealKey?: Buffer): Promise<Buffer>;
}

export class ShamirSealProvider implements SealProvider {
  readonly type = 'shamir' as const;
  readonly autoUnseal = false;

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  async health(): Promise<{ healthy: true }> {
    return { healthy: true };
  }

  currentKey(): undefined {
    return undefined;
  }

  async wrapRootKey(rootKey: Buffer, unsealKey?: Buffer): Promise<WrappedRootKey> {
    if (!unsealKey) throw new Error('shamir seal needs the unseal key');
    return { ciphertext: aeadEncrypt(unsealKey, 0, rootKey, ROOT_KEY_LOCATION) };
  }

  async unwrapRootKey(wrapped: WrappedRootKey, unsealKey?: Buffer): Promise<Buffer> {
    if (!unsealKey) throw new Error('shamir seal needs the unseal key');
    return aeadDecrypt(unsealKey, wrapped.ciphertext, ROOT_KEY_LOCATION);
  }
}
