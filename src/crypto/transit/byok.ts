/**
 * Transit's "bring your own key" import, as Vault's path_import.go and keysutil's
 * ImportPublicOrPrivate: the `ciphertext` is RSA-OAEP (the mount's RSA-4096 wrapping key,
 * `hash_function`, empty label) of an ephemeral 32-byte AES key, followed by AES key wrap with
 * padding (RFC 5649, tink's KWP) of the target key under that AES key. The target key is its raw
 * bytes for symmetric and hmac types, PKCS#8 DER for ECDSA, RSA and ed25519. A `public_key` import
 * (ECDSA, RSA) is a PEM SPKI.
 *
 * The imported version's forms are key-types.ts's (ed25519: Go's 64-byte key; ECDSA, RSA: PKCS#8
 * DER); a public-key-only version holds the SPKI DER.
 *
 * Invariants: a target key comes out only if both layers authenticate (OAEP and the KWP integrity
 * check); an imported key is of the policy's type, curve and size, or TransitCryptoError with
 * Vault's message; no message carries key material.
 */
import { constants, createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { randomKey } from '../random';
import {
  ECDSA_TYPES,
  RSA_TYPES,
  SYMMETRIC_TYPES,
  HMAC_MAX_KEY_BYTES,
  HMAC_MIN_KEY_BYTES,
  VERSION_HMAC_KEY_BYTES,
  ed25519GoKey,
  publicKeyPem,
  symmetricKeyBytes,
  type KeyVersionMaterial,
  type TransitKeyType,
} from './key-types';
import { TransitCryptoError } from './symmetric';

/** The RSA-4096 OAEP block that starts the ciphertext (path_import.go EncryptedKeyBytes). */
export const WRAPPED_EPHEMERAL_KEY_BYTES = 512;
const EPHEMERAL_KEY_BYTES = 32;
/** RFC 5649's alternative initial value, which node's id-aes256-wrap-pad takes as its IV. */
const KWP_IV = Buffer.from('a65959a6', 'hex');
/** tink's KWP bounds: 16..4096 bytes of key; the wrapped form is 8 more, rounded up to 8. */
const KWP_MIN_KEY_BYTES = 16;
const KWP_MAX_KEY_BYTES = 4096;

const HASHES: Record<string, string> = { SHA1: 'sha1', SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };

/** node's digest name for Vault's `hash_function` (case-insensitive, default SHA256). */
export function importHash(name: string | undefined): string {
  const hash = HASHES[(name === undefined || name === '' ? 'SHA256' : name).toUpperCase()];
  if (!hash) throw new TransitCryptoError(`unknown hash function: ${name}`);
  return hash;
}

const wrappedSize = (keyBytes: number) => 8 * Math.ceil(keyBytes / 8) + 8;

/** node's RFC 5649 cipher for a 16-, 24- or 32-byte key-encryption key. */
const kwpCipher = (kek: Buffer) => `id-aes${kek.length * 8}-wrap-pad`;

/** RFC 5649 wrap of `key` under `kek` (tink's KWP.Wrap; the import format uses a 32-byte kek). */
export function kwpWrap(kek: Buffer, key: Buffer): Buffer {
  if (key.length < KWP_MIN_KEY_BYTES) throw new TransitCryptoError('kwp: key size to wrap too small');
  if (key.length > KWP_MAX_KEY_BYTES) throw new TransitCryptoError('kwp: key size to wrap too large');
  const cipher = createCipheriv(kwpCipher(kek), kek, KWP_IV);
  return Buffer.concat([cipher.update(key), cipher.final()]);
}

/** RFC 5649 unwrap (tink's KWP.Unwrap, with its messages). */
export function kwpUnwrap(kek: Buffer, wrapped: Buffer): Buffer {
  if (wrapped.length < wrappedSize(KWP_MIN_KEY_BYTES)) throw new TransitCryptoError('kwp: wrapped key size too small');
  if (wrapped.length > wrappedSize(KWP_MAX_KEY_BYTES)) throw new TransitCryptoError('kwp: wrapped key size too large');
  if (wrapped.length % 8 !== 0) throw new TransitCryptoError('kwp: wrapped key size must be a multiple of 8 bytes');
  try {
    const decipher = createDecipheriv(kwpCipher(kek), kek, KWP_IV);
    return Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch {
    throw new TransitCryptoError('kwp: unwrap failed integrity check');
  }
}

/** The target key inside an import `ciphertext` (decryptImportedKey). */
export function unwrapImportCiphertext(wrappingKey: KeyObject, ciphertext: Buffer, hash: string): Buffer {
  if (ciphertext.length <= WRAPPED_EPHEMERAL_KEY_BYTES) throw new TransitCryptoError('provided ciphertext is too short');
  let ephemeralKey: Buffer;
  try {
    ephemeralKey = privateDecrypt(
      { key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
      ciphertext.subarray(0, WRAPPED_EPHEMERAL_KEY_BYTES),
    );
  } catch {
    throw new TransitCryptoError('crypto/rsa: decryption error');
  }
  try {
    if (ephemeralKey.length !== EPHEMERAL_KEY_BYTES) throw new TransitCryptoError('expected ephemeral AES key to be 256-bit');
    return kwpUnwrap(ephemeralKey, ciphertext.subarray(WRAPPED_EPHEMERAL_KEY_BYTES));
  } finally {
    ephemeralKey.fill(0);
  }
}

/** An import `ciphertext` of `targetKey` for the wrapping public key (keysutil's wrapTargetPKCS8ForImport). */
export function wrapForImport(wrappingPublicKey: KeyObject, targetKey: Buffer, hash = 'sha256'): Buffer {
  const ephemeralKey = randomKey(EPHEMERAL_KEY_BYTES);
  try {
    const wrappedEphemeral = publicEncrypt({ key: wrappingPublicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, ephemeralKey);
    return Buffer.concat([wrappedEphemeral, kwpWrap(ephemeralKey, targetKey)]);
  } finally {
    ephemeralKey.fill(0);
  }
}

export interface ImportedVersion {
  material: KeyVersionMaterial;
  /** What the key read shows for asymmetric types. */
  publicKey?: string;
  publicKeyOnly: boolean;
}

const CURVE_OF: Record<string, string> = { 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384', 'ecdsa-p521': 'P-521' };
const NODE_CURVE_NAMES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** Go's %T of the parsed key, for Vault's "invalid key type" message. */
function goKeyTypeName(key: KeyObject): string {
  const kind = key.type === 'private' ? 'PrivateKey' : 'PublicKey';
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return `*rsa.${kind}`;
    case 'ec':
      return `*ecdsa.${kind}`;
    case 'ed25519':
      return `ed25519.${kind}`;
    default:
      return `*ecdh.${kind}`;
  }
}

/** keysutil's parseFromKey checks: the key is of the policy's type, curve and size. */
function checkKeyMatchesType(type: TransitKeyType, key: KeyObject): void {
  const kind = key.asymmetricKeyType;
  const fits = (ECDSA_TYPES.includes(type) && kind === 'ec') || (RSA_TYPES.includes(type) && kind === 'rsa') || (type === 'ed25519' && kind === 'ed25519');
  if (!fits) throw new TransitCryptoError(`invalid key type: expected ${type}, got ${goKeyTypeName(key)}`);
  if (kind === 'ec') {
    const curve = NODE_CURVE_NAMES[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? key.asymmetricKeyDetails?.namedCurve;
    if (curve !== CURVE_OF[type]) throw new TransitCryptoError(`invalid curve: expected ${CURVE_OF[type]}, got ${curve}`);
  }
  if (kind === 'rsa') {
    const expected = Number(type.slice(4)) / 8;
    const got = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    if (got !== expected) throw new TransitCryptoError(`invalid key size: expected ${expected} bytes, got ${got} bytes`);
  }
}

/** A new version from an unwrapped target key (ImportPublicOrPrivate with a private key). */
export function importedKeyVersion(type: TransitKeyType, key: Buffer): ImportedVersion {
  if (SYMMETRIC_TYPES.includes(type) || type === 'hmac') {
    const sizeOk = type === 'hmac' ? key.length >= HMAC_MIN_KEY_BYTES && key.length <= HMAC_MAX_KEY_BYTES : key.length === symmetricKeyBytes(type);
    if (!sizeOk) throw new TransitCryptoError(`invalid key size ${key.length} bytes for key type ${type}`);
    // Vault sets an hmac key's HMACKey to the key itself; other types get a random one.
    return { material: { key: Buffer.from(key), hmacKey: type === 'hmac' ? Buffer.from(key) : randomKey(VERSION_HMAC_KEY_BYTES) }, publicKeyOnly: false };
  }
  if (!ECDSA_TYPES.includes(type) && !RSA_TYPES.includes(type) && type !== 'ed25519')
    throw new TransitCryptoError(`import is not supported for key type ${type}`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key, format: 'der', type: 'pkcs8' });
  } catch {
    throw new TransitCryptoError('error parsing asymmetric key: x509: failed to parse private key');
  }
  checkKeyMatchesType(type, privateKey);
  const hmacKey = randomKey(VERSION_HMAC_KEY_BYTES);
  if (type === 'ed25519') {
    const goKey = ed25519GoKey(privateKey);
    return { material: { key: goKey, hmacKey }, publicKey: goKey.subarray(32).toString('base64'), publicKeyOnly: false };
  }
  return { material: { key: privateKey.export({ format: 'der', type: 'pkcs8' }), hmacKey }, publicKey: publicKeyPem(privateKey), publicKeyOnly: false };
}

/** A new public-key-only version from a PEM SPKI (ImportPublicOrPrivate with a public key). */
export function importedPublicKeyVersion(type: TransitKeyType, pem: string): ImportedVersion {
  if (!ECDSA_TYPES.includes(type) && !RSA_TYPES.includes(type)) throw new TransitCryptoError('provided type does not support public_key import');
  // Go's pem.Decode takes the first block whatever its label; its bytes must be an SPKI.
  const block = /-----BEGIN [^-]+-----([\s\S]*?)-----END [^-]+-----/.exec(pem);
  if (!block) throw new TransitCryptoError('error parsing public key: not in PEM format');
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(block[1].replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new TransitCryptoError('error parsing public key: x509: failed to parse public key');
  }
  checkKeyMatchesType(type, publicKey);
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return {
    material: { key: spki, hmacKey: randomKey(VERSION_HMAC_KEY_BYTES) },
    publicKey: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicKeyOnly: true,
  };
}

/** Whether the private key of `imported` is the pair of a public-key-only version's SPKI DER (ImportPrivateKeyForVersion). */
export function isKeyPairOf(imported: ImportedVersion, publicOnlySpki: Buffer): boolean {
  const publicOfImported = createPublicKey(createPrivateKey({ key: imported.material.key, format: 'der', type: 'pkcs8' })).export({
    format: 'der',
    type: 'spki',
  });
  return publicOfImported.equals(publicOnlySpki);
}
