/**
 * Signing and verifying a digest the caller already computed (Vault transit's `prehashed`, and
 * `hash_algorithm=none`), which node:crypto's one-shot sign/verify cannot do: they always hash.
 * Composed from node:crypto primitives as Go's crypto/rsa and crypto/ecdsa do it:
 *
 * - RSA PKCS#1 v1.5: DigestInfo(hash) ‖ digest (nothing before the digest for hash `none`) under
 *   node's PKCS#1 type-1 private operation (`privateEncrypt`), checked back with `publicDecrypt`;
 * - RSA PSS: EMSA-PSS (RFC 8017 §9.1, MGF1 with the same hash) under the raw RSA operation;
 * - ECDSA: the digest truncated to the order's bit length (SEC 1, Go's hashToInt); the nonce point
 *   k·G comes from node's constant-time EC code (an ECDH key pair), the rest is BigInt arithmetic.
 *
 * Invariants: a secret scalar (the private key d, the nonce k) enters BigInt arithmetic only
 * multiplied by a fresh random blinding factor first (so operand sizes and inverses reveal nothing
 * about it); verification touches only public values; a malformed signature verifies false, never
 * throws; a digest of the wrong length for its hash is refused when signing (Go: "input must be
 * hashed") and verifies false.
 */
import { createECDH, createHash, privateEncrypt, publicDecrypt, randomBytes, constants, type KeyObject } from 'node:crypto';
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

/** A NIST prime curve y² = x³ - 3x + b over GF(p), with order n and base point G. */
interface Curve {
  ecdhName: string;
  p: bigint;
  n: bigint;
  b: bigint;
  g: Affine;
  /** Field element size in bytes (32, 48, 66). */
  size: number;
}
type Affine = { x: bigint; y: bigint };
/** An affine point, null at infinity. */
type Point = Affine | null;

const CURVE_CONSTANTS: Record<string, { ecdhName: string; p: bigint; n: bigint; size: number }> = {
  'P-256': {
    ecdhName: 'prime256v1',
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    size: 32,
  },
  'P-384': {
    ecdhName: 'secp384r1',
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    size: 48,
  },
  'P-521': {
    ecdhName: 'secp521r1',
    p: 2n ** 521n - 1n,
    n: 0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    size: 66,
  },
};

const curves = new Map<string, Curve>();

/** The curve's parameters; G is read from node (the public key of private key 1) and b from G. */
export function curve(name: string): Curve {
  let c = curves.get(name);
  if (!c) {
    const k = CURVE_CONSTANTS[name];
    if (!k) throw new TypeError(`unsupported curve ${name}`);
    const ecdh = createECDH(k.ecdhName);
    ecdh.setPrivateKey(Buffer.from([1]));
    const g = decodePoint(ecdh.getPublicKey(), k.size);
    const b = mod(g.y * g.y - g.x ** 3n + 3n * g.x, k.p);
    c = { ...k, b, g };
    curves.set(name, c);
  }
  return c;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** a⁻¹ mod m (m prime, a ≠ 0 mod m), by the extended Euclidean algorithm. */
function inverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS, m);
}

export function bigintFrom(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

export function bigintBytes(value: bigint, size: number): Buffer {
  const hex = value.toString(16).padStart(size * 2, '0');
  return Buffer.from(hex, 'hex');
}

function decodePoint(uncompressed: Buffer, size: number): Affine {
  return { x: bigintFrom(uncompressed.subarray(1, 1 + size)), y: bigintFrom(uncompressed.subarray(1 + size)) };
}

/** Go's hashToInt: the digest's leftmost bits, as many as the order has. */
function digestScalar(c: Curve, digest: Buffer): bigint {
  const orderBits = c.n.toString(2).length;
  const orderBytes = Math.ceil(orderBits / 8);
  const used = digest.subarray(0, orderBytes);
  const excess = used.length * 8 - orderBits;
  const e = bigintFrom(used);
  return excess > 0 ? e >> BigInt(excess) : e;
}

function randomScalar(c: Curve): bigint {
  return (bigintFrom(randomBytes(c.size + 16)) % (c.n - 1n)) + 1n;
}

/** ECDSA over a digest: (r, s) as big-endian integers, `size` bytes each. */
export function ecdsaSignDigest(curveName: string, privateScalar: Buffer, digest: Buffer): { r: Buffer; s: Buffer } {
  const c = curve(curveName);
  const e = digestScalar(c, digest);
  const d = bigintFrom(privateScalar);
  for (;;) {
    const nonce = createECDH(c.ecdhName);
    nonce.generateKeys();
    const r = mod(decodePoint(nonce.getPublicKey(), c.size).x, c.n);
    if (r === 0n) continue;
    const k = bigintFrom(nonce.getPrivateKey());
    const blind = randomScalar(c);
    // s = k⁻¹(e + r·d) = (k·blind)⁻¹ · (blind·e + r·(blind·d)) mod n
    const blindedD = mod(blind * d, c.n);
    const s = mod(inverse(mod(k * blind, c.n), c.n) * mod(blind * e + r * blindedD, c.n), c.n);
    if (s === 0n) continue;
    return { r: bigintBytes(r, c.size), s: bigintBytes(s, c.size) };
  }
}

function pointAdd(c: Curve, a: Point, b: Point): Point {
  if (a === null) return b;
  if (b === null) return a;
  if (a.x === b.x) {
    if (mod(a.y + b.y, c.p) === 0n) return null;
    const l = mod((3n * a.x * a.x - 3n) * inverse(2n * a.y, c.p), c.p);
    const x = mod(l * l - 2n * a.x, c.p);
    return { x, y: mod(l * (a.x - x) - a.y, c.p) };
  }
  const l = mod((b.y - a.y) * inverse(b.x - a.x, c.p), c.p);
  const x = mod(l * l - a.x - b.x, c.p);
  return { x, y: mod(l * (a.x - x) - a.y, c.p) };
}

/** A point in Jacobian coordinates (x = X/Z², y = Y/Z³); Z = 0 is the point at infinity. */
type Jacobian = { x: bigint; y: bigint; z: bigint };

function jacobianDouble(c: Curve, a: Jacobian): Jacobian {
  if (a.z === 0n || a.y === 0n) return { x: 1n, y: 1n, z: 0n };
  const delta = mod(a.z * a.z, c.p);
  const gamma = mod(a.y * a.y, c.p);
  const beta = mod(a.x * gamma, c.p);
  const alpha = mod(3n * (a.x - delta) * (a.x + delta), c.p);
  const x = mod(alpha * alpha - 8n * beta, c.p);
  const z = mod((a.y + a.z) ** 2n - gamma - delta, c.p);
  const y = mod(alpha * (4n * beta - x) - 8n * gamma * gamma, c.p);
  return { x, y, z };
}

/** a + b with b affine (mixed addition). */
function jacobianAddAffine(c: Curve, a: Jacobian, b: Affine): Jacobian {
  if (a.z === 0n) return { x: b.x, y: b.y, z: 1n };
  const z1z1 = mod(a.z * a.z, c.p);
  const h = mod(b.x * z1z1 - a.x, c.p);
  const r = mod(b.y * a.z * z1z1 - a.y, c.p);
  if (h === 0n) return r === 0n ? jacobianDouble(c, a) : { x: 1n, y: 1n, z: 0n };
  const hh = mod(h * h, c.p);
  const hhh = mod(h * hh, c.p);
  const v = mod(a.x * hh, c.p);
  const x = mod(r * r - hhh - 2n * v, c.p);
  const y = mod(r * (v - x) - a.y * hhh, c.p);
  return { x, y, z: mod(a.z * h, c.p) };
}

/** u1·G + u2·Q by interleaved double-and-add (public values only); null at infinity. */
function twoScalarMultiply(c: Curve, u1: bigint, u2: bigint, q: Affine): Point {
  const gq = pointAdd(c, c.g, q);
  let acc: Jacobian = { x: 1n, y: 1n, z: 0n };
  const bits = Math.max(u1.toString(2).length, u2.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    acc = jacobianDouble(c, acc);
    const b1 = (u1 >> BigInt(i)) & 1n;
    const b2 = (u2 >> BigInt(i)) & 1n;
    // gq is null when Q = -G: adding G + Q is then adding nothing.
    const addend = b1 && b2 ? gq : b1 ? c.g : b2 ? q : null;
    if (addend === null) continue;
    acc = jacobianAddAffine(c, acc, addend);
  }
  if (acc.z === 0n) return null;
  const zInv = inverse(acc.z, c.p);
  return { x: mod(acc.x * zInv * zInv, c.p), y: mod(acc.y * zInv * zInv * zInv, c.p) };
}

/** ECDSA verification over a digest (Go's ecdsa.Verify); `publicX`/`publicY` the affine public point. */
export function ecdsaVerifyDigest(curveName: string, publicX: Buffer, publicY: Buffer, digest: Buffer, r: bigint, s: bigint): boolean {
  const c = curve(curveName);
  if (r <= 0n || s <= 0n || r >= c.n || s >= c.n) return false;
  const q = { x: bigintFrom(publicX), y: bigintFrom(publicY) };
  if (mod(q.y * q.y - (q.x ** 3n - 3n * q.x + c.b), c.p) !== 0n) return false;
  const w = inverse(s, c.n);
  const point = twoScalarMultiply(c, mod(digestScalar(c, digest) * w, c.n), mod(r * w, c.n), q);
  return point !== null && mod(point.x, c.n) === r;
}
