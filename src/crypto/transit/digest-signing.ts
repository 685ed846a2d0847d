/**
 * Signing and verifying a digest the caller already computed (Vault transit's `prehashed`, and
 * `hash_algorithm=none`), which node:crypto's one-shot sign/verify cannot do: they always hash.
 * Composed from node:crypto primitives as Go's crypto/rsa and crypto/ecdsa do it:
 *
 * - RSA PKCS#1 v1.5: DigestInfo(hash) ‖ digest (nothing before the digest for hash `none`) under
 *   node's PKCS#1 type-1 private operation (`privateEncrypt`), checked back with `publicDecrypt`;
 * - RSA PSS: EMSA-PSS (RFC 8017 §9.1, MGF1 with the same hash) under the raw RSA operation;
 * - ECDSA: @noble/curves over the digest (truncated to the order's bit length, as Go's hashToInt).
 *
 * Invariants: verification touches only public values; a malformed signature verifies false, never
 * throws; a digest of the wrong length for its hash is refused when signing (Go: "input must be
 * hashed") and verifies false.
 */
import { p256 } from '@noble/curves/p256';
import { p384 } from '@noble/curves/p384';
import { p521 } from '@noble/curves/p521';
import type { CurveFn } from '@noble/curves/abstract/weierstrass';
import { createHash, privateEncrypt, publicDecrypt, randomBytes, constants, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from '../hmac';
import { TransitCryptoError } from './symmetric';

/** node's digest names as used here (Vault's HashTypeMap values but `none`). */
export type NodeHash = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512' | 'sha3-224' | 'sha3-256' | 'sha3-384' | 'sha3-512';

const HASH_BYTES: Record<NodeHash, number> = {
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
  'sha3-224': 28,
  'sha3-256': 32,
  'sha3-384': 48,
  'sha3-512': 64,
};

/** DER of each hash's AlgorithmIdentifier OID (RFC 8017 §9.2 note 1, NIST CSOR for SHA-3). */
const HASH_OIDS: Record<NodeHash, string> = {
  sha1: '06052b0e03021a',
  sha224: '0609608648016503040204',
  sha256: '0609608648016503040201',
  sha384: '0609608648016503040202',
  sha512: '0609608648016503040203',
  'sha3-224': '0609608648016503040207',
  'sha3-256': '0609608648016503040208',
  'sha3-384': '0609608648016503040209',
  'sha3-512': '060960864801650304020a',
};

export function hashBytes(hash: NodeHash): number {
  return HASH_BYTES[hash];
}

/** `DigestInfo ::= SEQUENCE { AlgorithmIdentifier(hash, NULL), OCTET STRING digest }` up to the digest. */
function digestInfoPrefix(hash: NodeHash): Buffer {
  const oid = Buffer.from(HASH_OIDS[hash], 'hex');
  const algorithm = Buffer.concat([Buffer.from([0x30, oid.length + 2]), oid, Buffer.from([0x05, 0x00])]);
  const size = HASH_BYTES[hash];
  return Buffer.concat([Buffer.from([0x30, algorithm.length + 2 + size]), algorithm, Buffer.from([0x04, size])]);
}

function pkcs1Payload(hash: NodeHash | null, digest: Buffer): Buffer | undefined {
  if (hash === null) return digest;
  if (digest.length !== HASH_BYTES[hash]) return undefined;
  return Buffer.concat([digestInfoPrefix(hash), digest]);
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new TypeError('not an RSA key');
  return bits;
}

/** RSASSA-PKCS1-v1_5 over a digest (hash null: the bytes as given, Go's crypto.Hash(0)). */
export function rsaPkcs1SignDigest(privateKey: KeyObject, hash: NodeHash | null, digest: Buffer): Buffer {
  const payload = pkcs1Payload(hash, digest);
  if (!payload) throw new TransitCryptoError('crypto/rsa: input must be hashed message');
  if (payload.length + 11 > Math.ceil(modulusBits(privateKey) / 8)) throw new TransitCryptoError('crypto/rsa: message too long for RSA key size');
  return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, payload);
}

export function rsaPkcs1VerifyDigest(publicKey: KeyObject, hash: NodeHash | null, digest: Buffer, signature: Buffer): boolean {
  const payload = pkcs1Payload(hash, digest);
  if (!payload || signature.length !== Math.ceil(modulusBits(publicKey) / 8)) return false;
  try {
    return constantTimeEqual(publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature), payload);
  } catch {
    return false;
  }
}

function mgf1(hash: NodeHash, seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * HASH_BYTES[hash] < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(createHash(hash).update(seed).update(c).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function pssHash(hash: NodeHash, digest: Buffer, salt: Buffer): Buffer {
  return createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();
}

/** Go's PSS salt length bound for a modulus and hash: (bits-1+7)/8 - 2 - hash size. */
export function maxPssSaltLength(bits: number, hash: NodeHash): number {
  return Math.ceil((bits - 1) / 8) - 2 - HASH_BYTES[hash];
}

/**
 * RSASSA-PSS over a digest. `saltLength` as Go's PSSOptions: 0 = as long as possible, -1 = the
 * hash's length, otherwise that many bytes (the caller has checked it fits).
 */
export function rsaPssSignDigest(privateKey: KeyObject, hash: NodeHash, digest: Buffer, saltLength: number): Buffer {
  const hLen = HASH_BYTES[hash];
  if (digest.length !== hLen) throw new TransitCryptoError('crypto/rsa: input must be hashed with given hash');
  const bits = modulusBits(privateKey);
  const emBits = bits - 1;
  const emLen = Math.ceil(emBits / 8);
  const sLen = saltLength === 0 ? emLen - 2 - hLen : saltLength === -1 ? hLen : saltLength;
  if (sLen < 0 || emLen < hLen + sLen + 2) throw new TransitCryptoError('crypto/rsa: key size too small for PSS signature');
  const salt = randomBytes(sLen);
  const h = pssHash(hash, digest, salt);
  const db = Buffer.alloc(emLen - hLen - 1);
  db[emLen - sLen - hLen - 2] = 0x01;
  salt.copy(db, emLen - sLen - hLen - 1);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  db[0] &= 0xff >> (8 * emLen - emBits);
  const k = Math.ceil(bits / 8);
  const em = Buffer.concat([Buffer.alloc(k - emLen), db, h, Buffer.from([0xbc])]);
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, em);
}

/** RSASSA-PSS verification over a digest; `saltLength` 0 accepts any salt length (Go's PSSSaltLengthAuto). */
export function rsaPssVerifyDigest(publicKey: KeyObject, hash: NodeHash, digest: Buffer, signature: Buffer, saltLength: number): boolean {
  const hLen = HASH_BYTES[hash];
  const bits = modulusBits(publicKey);
  const k = Math.ceil(bits / 8);
  if (digest.length !== hLen || signature.length !== k) return false;
  let m: Buffer;
  try {
    m = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature);
  } catch {
    return false;
  }
  const emBits = bits - 1;
  const emLen = Math.ceil(emBits / 8);
  if (m.subarray(0, k - emLen).some((b) => b !== 0)) return false;
  const em = m.subarray(k - emLen);
  if (emLen < hLen + 2 || em[emLen - 1] !== 0xbc) return false;
  const topMask = 0xff >> (8 * emLen - emBits);
  if ((em[0] & ~topMask) !== 0) return false;
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const db = Buffer.from(em.subarray(0, emLen - hLen - 1));
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  db[0] &= topMask;
  const separator = db.indexOf(0x01);
  if (separator < 0 || db.subarray(0, separator).some((b) => b !== 0)) return false;
  const sLen = db.length - separator - 1;
  const expected = saltLength === 0 ? sLen : saltLength === -1 ? hLen : saltLength;
  if (sLen !== expected) return false;
  return constantTimeEqual(pssHash(hash, digest, db.subarray(separator + 1)), h);
}

/**
 * The NIST curves from @noble/curves (audited, constant-time scalar multiplication; RFC 6979
 * nonces hedged with fresh randomness), which signs and verifies a digest as given: node:crypto
 * has no ECDSA over a digest, and elliptic-curve arithmetic is not written here.
 */
const NOBLE_CURVES: Record<string, CurveFn> = { 'P-256': p256, 'P-384': p384, 'P-521': p521 };

function nobleCurve(name: string): CurveFn {
  const c = NOBLE_CURVES[name];
  if (!c) throw new TypeError(`unsupported curve ${name}`);
  return c;
}

/** Scalar size in bytes: 32, 48, 66. */
const SCALAR_BYTES: Record<string, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };

/** The curve's scalar size in bytes and its order. */
export function curve(name: string): { size: number; n: bigint } {
  return { size: SCALAR_BYTES[name], n: nobleCurve(name).CURVE.n };
}

export function bigintFrom(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

export function bigintBytes(value: bigint, size: number): Buffer {
  const hex = value.toString(16).padStart(size * 2, '0');
  return Buffer.from(hex, 'hex');
}

/** ECDSA over a digest (truncated to the order's bit length, as Go's hashToInt): (r, s) big-endian, `size` bytes each; s is not normalised (Go does not). */
export function ecdsaSignDigest(curveName: string, privateScalar: Buffer, digest: Buffer): { r: Buffer; s: Buffer } {
  const c = nobleCurve(curveName);
  const signature = c.sign(digest, privateScalar, { lowS: false, extraEntropy: true });
  const size = curve(curveName).size;
  return { r: bigintBytes(signature.r, size), s: bigintBytes(signature.s, size) };
}

/** ECDSA verification over a digest (Go's ecdsa.Verify: high s accepted); `publicX`/`publicY` the affine public point. False for anything malformed. */
export function ecdsaVerifyDigest(curveName: string, publicX: Buffer, publicY: Buffer, digest: Buffer, r: bigint, s: bigint): boolean {
  const c = nobleCurve(curveName);
  const n = c.CURVE.n;
  if (r <= 0n || s <= 0n || r >= n || s >= n) return false;
  try {
    const point = Buffer.concat([Buffer.from([4]), publicX, publicY]);
    return c.verify(new c.Signature(r, s).toCompactRawBytes(), digest, point, { lowS: false });
  } catch {
    return false;
  }
}
