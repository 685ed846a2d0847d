/**
 * Transit key types and one key version's material, as Vault's keysutil holds them
 * (sdk/helper/keysutil/policy.go): which operations each type supports, how a version is generated,
 * and the byte forms kept for each type.
 *
 * Material forms (`KeyVersionMaterial.key`), chosen so a Vault backup converts without loss:
 * - aes128-gcm96 16 bytes, aes256-gcm96 and chacha20-poly1305 32 bytes, hmac `key_size` bytes: raw;
 * - ed25519: Go's 64-byte private key, seed ‖ public key;
 * - ecdsa-p256/p384/p521 and rsa-2048/3072/4096: PKCS#8 DER of the private key;
 * - managed_key: empty (the key lives on a token; the version names it);
 * - a version imported as a public key only (ECDSA/RSA): the public key's SPKI DER; it verifies
 *   and encrypts, and everything that signs or decrypts refuses it.
 * Every version also has a 32-byte `hmacKey` (the hmac endpoint's key for all types but hmac, and
 * the convergent nonce key of convergent version 2); a version stored before it existed has none.
 *
 * Invariants: generated material is from the CSPRNG (node:crypto); `publicKey` is what Vault's key
 * read shows for the version (PEM SPKI for ECDSA and RSA, base64 raw for ed25519), never secret.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { randomKey } from '../random';

export const TRANSIT_KEY_TYPES = [
  'aes128-gcm96',
  'aes256-gcm96',
  'chacha20-poly1305',
  'ed25519',
  'ecdsa-p256',
  'ecdsa-p384',
  'ecdsa-p521',
  'rsa-2048',
  'rsa-3072',
  'rsa-4096',
  'hmac',
  'managed_key',
] as const;
export type TransitKeyType = (typeof TRANSIT_KEY_TYPES)[number];

export const SYMMETRIC_TYPES: readonly TransitKeyType[] = ['aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305'];
export const RSA_TYPES: readonly TransitKeyType[] = ['rsa-2048', 'rsa-3072', 'rsa-4096'];
export const ECDSA_TYPES: readonly TransitKeyType[] = ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521'];

/** HMAC key sizes Vault accepts (HmacMinKeySize..HmacMaxKeySize), in bytes. */
export const HMAC_MIN_KEY_BYTES = 32;
export const HMAC_MAX_KEY_BYTES = 512;
export const VERSION_HMAC_KEY_BYTES = 32;
/** Vault's currentConvergentVersion: the nonce is HMAC-SHA256(derived hmac key, plaintext)[:nonce size]. */
export const CURRENT_CONVERGENT_VERSION = 3;

export function isTransitKeyType(t: string): t is TransitKeyType {
  return (TRANSIT_KEY_TYPES as readonly string[]).includes(t);
}

/** keysutil KeyType.*Supported, by type; managed_key answers from the managed key's usages instead. */
export const keyTypeSupports = {
  encryption: (t: TransitKeyType) => SYMMETRIC_TYPES.includes(t) || RSA_TYPES.includes(t),
  decryption: (t: TransitKeyType) => SYMMETRIC_TYPES.includes(t) || RSA_TYPES.includes(t),
  signing: (t: TransitKeyType) => t === 'ed25519' || ECDSA_TYPES.includes(t) || RSA_TYPES.includes(t),
  /** The signature input is hashed first (every signing type but ed25519). */
  hashedSignatureInput: (t: TransitKeyType) => ECDSA_TYPES.includes(t) || RSA_TYPES.includes(t),
  derivation: (t: TransitKeyType) => SYMMETRIC_TYPES.includes(t) || t === 'ed25519',
  associatedData: (t: TransitKeyType) => SYMMETRIC_TYPES.includes(t),
  /** A version may be imported as a public key only (keysutil SupportsImportPublicKey). */
  publicKeyImport: (t: TransitKeyType) => ECDSA_TYPES.includes(t) || RSA_TYPES.includes(t),
};

/** The symmetric key length of an AEAD type. */
export function symmetricKeyBytes(t: TransitKeyType): number {
  return t === 'aes128-gcm96' ? 16 : 32;
}

export interface KeyVersionMaterial {
  /** See the file comment for its form per type. */
  key: Buffer;
  /** 32 bytes; absent on versions stored before it existed. */
  hmacKey?: Buffer;
}

export interface GeneratedVersion {
  material: KeyVersionMaterial;
  /** For asymmetric types, what the key read shows. */
  publicKey?: string;
}

const NAMED_CURVE: Record<string, string> = { 'ecdsa-p256': 'prime256v1', 'ecdsa-p384': 'secp384r1', 'ecdsa-p521': 'secp521r1' };
const RSA_BITS: Record<string, number> = { 'rsa-2048': 2048, 'rsa-3072': 3072, 'rsa-4096': 4096 };

/** A new version of a key of type `t` (RotateInMemory). `keySize` is the hmac type's key length in bytes. */
export function generateKeyVersion(t: TransitKeyType, keySize = 32): GeneratedVersion {
  const hmacKey = randomKey(VERSION_HMAC_KEY_BYTES);
  if (SYMMETRIC_TYPES.includes(t)) return { material: { key: randomKey(symmetricKeyBytes(t)), hmacKey } };
  if (t === 'hmac') {
    if (keySize < HMAC_MIN_KEY_BYTES || keySize > HMAC_MAX_KEY_BYTES)
      throw new RangeError(`invalid key size for HMAC key, must be between ${HMAC_MIN_KEY_BYTES} and ${HMAC_MAX_KEY_BYTES} bytes`);
    return { material: { key: randomKey(keySize), hmacKey } };
  }
  if (t === 'ed25519') {
    const { privateKey } = generateKeyPairSync('ed25519');
    const key = ed25519GoKey(privateKey);
    return { material: { key, hmacKey }, publicKey: key.subarray(32).toString('base64') };
  }
  if (ECDSA_TYPES.includes(t)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: NAMED_CURVE[t] });
    return { material: { key: privateKey.export({ format: 'der', type: 'pkcs8' }), hmacKey }, publicKey: publicKeyPem(privateKey) };
  }
  if (RSA_TYPES.includes(t)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: RSA_BITS[t], publicExponent: 65537 });
    return { material: { key: privateKey.export({ format: 'der', type: 'pkcs8' }), hmacKey }, publicKey: publicKeyPem(privateKey) };
  }
  throw new TypeError(`no generated material for key type ${t}`);
}

/** PEM SPKI of a private (or public) key, as Vault formats ECDSA and RSA public keys. */
export function publicKeyPem(key: KeyObject): string {
  return createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString();
}

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Go's ed25519.PrivateKey (seed ‖ public) of a node ed25519 private key. */
export function ed25519GoKey(privateKey: KeyObject): Buffer {
  const jwk = privateKey.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from(jwk.d as string, 'base64url'), Buffer.from(jwk.x as string, 'base64url')]);
}

/** The node private key of a 32-byte seed (or Go's 64-byte key, whose first 32 bytes are the seed). */
export function ed25519FromSeed(seedOrGoKey: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seedOrGoKey.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
}

/**
 * Parsed keys per material object (parsing PKCS#8 costs ~0.4 ms): a store that caches versions
 * hands out the same object, so each version's key is parsed once. Material is never mutated.
 */
const parsedPrivateKeys = new WeakMap<KeyVersionMaterial, KeyObject>();
const parsedPublicKeys = new WeakMap<KeyVersionMaterial, KeyObject>();

function parsePrivateKey(t: TransitKeyType, material: KeyVersionMaterial): KeyObject {
  if (t === 'ed25519') return ed25519FromSeed(material.key);
  if (ECDSA_TYPES.includes(t) || RSA_TYPES.includes(t)) return createPrivateKey({ key: material.key, format: 'der', type: 'pkcs8' });
  throw new TypeError(`key type ${t} has no private key object`);
}

/** The private KeyObject of an asymmetric version (ed25519: Go form; ECDSA/RSA: PKCS#8 DER), parsed once per material object. */
export function privateKeyObject(t: TransitKeyType, material: KeyVersionMaterial): KeyObject {
  let key = parsedPrivateKeys.get(material);
  if (!key) {
    key = parsePrivateKey(t, material);
    parsedPrivateKeys.set(material, key);
  }
  return key;
}

/** The public KeyObject of a version holding a private key, derived once per material object. */
export function publicKeyObject(t: TransitKeyType, material: KeyVersionMaterial): KeyObject {
  let key = parsedPublicKeys.get(material);
  if (!key) {
    key = createPublicKey(privateKeyObject(t, material));
    parsedPublicKeys.set(material, key);
  }
  return key;
}

/**
 * Stored form of a version's material: JSON {key, hmac_key} in base64. A 32-byte value is the raw
 * AES-256 key of a version stored before this form; the JSON is never 32 bytes (10 or 23 bytes of
 * syntax plus base64 lengths, multiples of 4).
 */
export function encodeMaterial(m: KeyVersionMaterial): Buffer {
  return Buffer.from(JSON.stringify({ key: m.key.toString('base64'), hmac_key: m.hmacKey?.toString('base64') }), 'utf8');
}

export function decodeMaterial(stored: Buffer): KeyVersionMaterial {
  if (stored.length === 32) return { key: stored };
  const parsed = JSON.parse(stored.toString('utf8')) as { key: string; hmac_key?: string };
  return { key: Buffer.from(parsed.key, 'base64'), hmacKey: parsed.hmac_key === undefined ? undefined : Buffer.from(parsed.hmac_key, 'base64') };
}
