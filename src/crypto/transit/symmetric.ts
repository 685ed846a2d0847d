/**
 * Transit's symmetric encryption and key derivation, byte for byte as Vault's keysutil
 * (Policy.DeriveKey, SymmetricEncryptRaw, SymmetricDecryptRaw, EncryptWithFactory):
 *
 * - derivation (KDF 1, hkdf_sha256): HKDF-SHA256 with the version's key as secret, no salt and the
 *   context as info; ed25519 takes the first 32 derived bytes as its seed;
 * - AES-GCM (aes128/aes256-gcm96) and ChaCha20-Poly1305: 12-byte nonce, 16-byte tag; the body is
 *   `nonce ‖ ciphertext ‖ tag`, except convergent version 1 where the caller's nonce is not stored;
 * - convergent encryption: version 1 takes the caller's nonce; version 2 derives the nonce as
 *   HMAC-SHA256(context, plaintext)[:12]; version 3 derives 32 more key bytes and uses them as that
 *   HMAC's key.
 *
 * Invariants: decrypt(encrypt(p)) is p under the same key, context, AAD (and v1 nonce); any other
 * key, context, AAD or byte makes decrypt throw TransitCryptoError, never return other bytes; no
 * error message carries key material or plaintext.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, type CipherGCMTypes } from 'node:crypto';
import { randomNonce } from '../random';
import { symmetricKeyBytes, type TransitKeyType } from './key-types';

export const TRANSIT_NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A user error with Vault's wording (the engine answers it 400). */
export class TransitCryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransitCryptoError';
  }
}

export const MISSING_CONTEXT =
  "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key";

/** HKDF-SHA256(secret = key, salt = none, info = context), `bytes` long. */
export function deriveKey(key: Buffer, context: Buffer, bytes: number): Buffer {
  if (context.length === 0) throw new TransitCryptoError(MISSING_CONTEXT);
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), context, bytes));
}

export interface SymmetricOptions {
  /** Derived keys: the per-request context (required). */
  derived?: { context: Buffer };
  /** Convergent encryption (derived keys only), with the version's convergent scheme. */
  convergent?: { version: number };
  /** Convergent version 1 (and non-convergent keys when given): the nonce to use. */
  nonce?: Buffer;
  associatedData?: Buffer;
}

/**
 * node's cipher name; typed as a GCM name because @types/node declares the tag-length overload per
 * family (chacha20-poly1305 takes the same options).
 */
function cipherName(t: TransitKeyType): CipherGCMTypes {
  if (t === 'aes128-gcm96') return 'aes-128-gcm';
  if (t === 'aes256-gcm96') return 'aes-256-gcm';
  if (t === 'chacha20-poly1305') return 'chacha20-poly1305' as CipherGCMTypes;
  throw new TransitCryptoError(`message encryption not supported for key type ${t}`);
}

/** The encryption key (and convergent-3 HMAC key) of a version for this request. */
function keysFor(t: TransitKeyType, key: Buffer, options: SymmetricOptions): { encKey: Buffer; nonceKey?: Buffer } {
  const encBytes = symmetricKeyBytes(t);
  const convergentVersion = options.convergent?.version ?? 0;
  if (!options.derived) return { encKey: key };
  const extra = convergentVersion > 2 ? 32 : 0;
  const derived = deriveKey(key, options.derived.context, encBytes + extra);
  const encKey = derived.subarray(0, encBytes);
  if (convergentVersion > 2) return { encKey, nonceKey: derived.subarray(encBytes) };
  if (convergentVersion === 2) return { encKey, nonceKey: options.derived.context };
  return { encKey };
}

/** The raw body (nonce ‖ ciphertext ‖ tag, or ciphertext ‖ tag for convergent v1) of `plaintext`. */
export function symmetricEncrypt(t: TransitKeyType, key: Buffer, plaintext: Buffer, options: SymmetricOptions = {}): Buffer {
  const algorithm = cipherName(t);
  const { encKey, nonceKey } = keysFor(t, key, options);
  const convergentVersion = options.convergent?.version ?? 0;
  let nonce: Buffer;
  if (options.convergent) {
    if (convergentVersion === 1) {
      if (options.nonce?.length !== TRANSIT_NONCE_BYTES)
        throw new TransitCryptoError(`base64-decoded nonce must be ${TRANSIT_NONCE_BYTES} bytes long when using convergent encryption with this key`);
      nonce = options.nonce;
    } else {
      if (!nonceKey || nonceKey.length === 0) throw new TransitCryptoError('invalid hmac key length of zero');
      nonce = createHmac('sha256', nonceKey).update(plaintext).digest().subarray(0, TRANSIT_NONCE_BYTES);
    }
  } else if (!options.nonce || options.nonce.length === 0) {
    nonce = randomNonce(TRANSIT_NONCE_BYTES);
  } else if (options.nonce.length !== TRANSIT_NONCE_BYTES) {
    throw new TransitCryptoError(`base64-decoded nonce must be ${TRANSIT_NONCE_BYTES} bytes long but given ${options.nonce.length} bytes`);
  } else {
    nonce = options.nonce;
  }
  const cipher = createCipheriv(algorithm, encKey, nonce, { authTagLength: TAG_BYTES });
  if (options.associatedData && options.associatedData.length > 0) cipher.setAAD(options.associatedData, { plaintextLength: plaintext.length });
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return convergentVersion === 1 ? body : Buffer.concat([nonce, body]);
}

/** Opens a body made by symmetricEncrypt; `options.nonce` is needed for convergent version 1 only. */
export function symmetricDecrypt(t: TransitKeyType, key: Buffer, body: Buffer, options: SymmetricOptions = {}): Buffer {
  const algorithm = cipherName(t);
  const convergentVersion = options.convergent?.version ?? 0;
  if (convergentVersion === 1 && (!options.nonce || options.nonce.length === 0)) throw new TransitCryptoError('invalid convergent nonce supplied');
  const { encKey } = keysFor(t, key, options);
  if (body.length < TRANSIT_NONCE_BYTES) throw new TransitCryptoError('invalid ciphertext length');
  const nonce = convergentVersion === 1 ? (options.nonce as Buffer) : body.subarray(0, TRANSIT_NONCE_BYTES);
  const sealed = convergentVersion === 1 ? body : body.subarray(TRANSIT_NONCE_BYTES);
  if (sealed.length < TAG_BYTES || nonce.length !== TRANSIT_NONCE_BYTES) throw new TransitCryptoError('cipher: message authentication failed');
  const decipher = createDecipheriv(algorithm, encKey, nonce, { authTagLength: TAG_BYTES });
  const ciphertext = sealed.subarray(0, sealed.length - TAG_BYTES);
  if (options.associatedData && options.associatedData.length > 0) decipher.setAAD(options.associatedData, { plaintextLength: ciphertext.length });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // Go's AEAD Open error, which Vault returns as the user error.
    throw new TransitCryptoError('cipher: message authentication failed');
  }
}
