/**
 * The seal stanzas of the server configuration, typed (config/seal-config.ts parses them). `active`
 * is the seal that protects the root key from now on; `disabled` the one being migrated away from
 * (Vault's `disabled = "true"` stanza). No stanza at all means Shamir.
 */

/** CKM_AES_GCM: the HSM key is an AES key, the root key AES-256-GCM under it (the default). */
export const CKM_AES_GCM = 0x1087;
/** CKM_RSA_PKCS_OAEP: the HSM key is an RSA pair, the root key OAEP-encrypted to it. */
export const CKM_RSA_PKCS_OAEP = 0x0009;

export type SealMechanism = typeof CKM_AES_GCM | typeof CKM_RSA_PKCS_OAEP;
export type OaepHash = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

export interface ShamirSealSettings {
  type: 'shamir';
}

export interface Pkcs11SealSettings {
  type: 'pkcs11';
  /** Path of the PKCS#11 module (.so). */
  lib: string;
  /** Exactly one of slot and tokenLabel is set. */
  slot?: bigint;
  tokenLabel?: string;
  /** Never logged, never in an error or in sys/config/state/sanitized. */
  pin: string;
  /** At least one of keyLabel and keyId (hex, no 0x) is set. */
  keyLabel?: string;
  keyId?: string;
  /** Unset: from the key found (AES → CKM_AES_GCM, RSA → CKM_RSA_PKCS_OAEP); CKM_AES_GCM when generated. */
  mechanism?: SealMechanism;
  rsaOaepHash: OaepHash;
  /** Create a sensitive, non-extractable AES key with keyLabel when none is found. */
  generateKey: boolean;
}

export type SealSettings = ShamirSealSettings | Pkcs11SealSettings;

export interface SealConfiguration {
  active: SealSettings;
  /** Present only during a seal migration. */
  disabled?: Pkcs11SealSettings;
}

export const SHAMIR_ONLY: SealConfiguration = { active: { type: 'shamir' } };

/** An HSM key by its label and/or id (hex), for messages: `label "x", id 0a1b`. */
export function describeHsmKey(key: { label?: string; id?: string }): string {
  return [key.label !== undefined ? `label "${key.label}"` : '', key.id !== undefined ? `id ${key.id}` : ''].filter(Boolean).join(', ');
}

/** What a log line or the sanitized config may say about a pkcs11 seal (never the PIN). */
export function describePkcs11(s: Pkcs11SealSettings): string {
  const token = s.tokenLabel !== undefined ? `token "${s.tokenLabel}"` : `slot ${s.slot}`;
  return `library ${s.lib}, ${token}, key ${describeHsmKey({ label: s.keyLabel, id: s.keyId })}`;
}
