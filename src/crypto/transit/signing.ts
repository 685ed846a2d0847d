/**
 * Transit signatures and HMACs, as Vault computes them (sdk/helper/keysutil policy.go
 * SignWithOptions, VerifySignatureWithOptions, HMACKey; builtin/logical/transit path_sign_verify.go,
 * path_sign_verify_ce.go, path_hmac.go):
 *
 * - the input is hashed with `hash_algorithm` (default sha2-256) for ECDSA and RSA unless
 *   `prehashed`; ed25519 always signs the input itself (pure Ed25519; Vault CE refuses prehashed
 *   and sha2-512, which would be Ed25519ph, an Enterprise feature);
 * - ECDSA signatures are DER (`asn1`) or r ‖ s of the curve's size each (`jws`, written base64url
 *   without padding); RSA is PSS (default, MGF1 with the same hash) or PKCS#1 v1.5, and
 *   `hash_algorithm=none` signs a prehashed input with PKCS#1 v1.5 and no DigestInfo;
 * - a derived ed25519 key signs with the seed HKDF-SHA256(version key (Go's 64 bytes), context)[:32];
 * - HMACs use the version's `hmacKey`, except the hmac type's, which is its `key`.
 *
 * Invariants: user errors throw TransitCryptoError with Vault's wording (never key material);
 * verification of a well-formed but wrong signature returns false, not an error; HMACs are compared
 * in constant time.
 */
import { createHash, createHmac, createPublicKey, sign as nodeSign, verify as nodeVerify, constants, type KeyObject } from 'node:crypto';
import { ecdsaDerToRaw, ecdsaRawToDer } from '../ecdsa-signature';
import { constantTimeEqual } from '../hmac';
import type { Signer } from '../signer';
import { signatureSchemeFor, type SignatureHash } from '../x509/signing';
import {
  bigintBytes,
  bigintFrom,
  curve,
  ecdsaSignDigest,
  ecdsaVerifyDigest,
  maxPssSaltLength,
  rsaPkcs1SignDigest,
  rsaPkcs1VerifyDigest,
  rsaPssSignDigest,
  rsaPssVerifyDigest,
  type NodeHash,
} from './digest-signing';
import { TRANSIT_HASH_ALGORITHMS } from './hash';
import { ECDSA_TYPES, RSA_TYPES, ed25519FromSeed, privateKeyObject, publicKeyObject, type KeyVersionMaterial, type TransitKeyType } from './key-types';
import { TransitCryptoError, deriveKey } from './symmetric';

/** Vault's hash names for signatures and HMACs (keysutil HashTypeMap): the `hash` endpoint's, sha1, and `none` (no digest). */
export const HASH_ALGORITHMS = { none: null, sha1: 'sha1', ...TRANSIT_HASH_ALGORITHMS } as const satisfies Record<string, NodeHash | null>;
export type HashAlgorithm = keyof typeof HASH_ALGORITHMS;
export const DEFAULT_HASH_ALGORITHM: HashAlgorithm = 'sha2-256';

export function isHashAlgorithm(name: string): name is HashAlgorithm {
  return Object.prototype.hasOwnProperty.call(HASH_ALGORITHMS, name);
}

export const MARSHALING_TYPES = ['asn1', 'jws'] as const;
export type Marshaling = (typeof MARSHALING_TYPES)[number];

export function isMarshaling(name: string): name is Marshaling {
  return (MARSHALING_TYPES as readonly string[]).includes(name);
}

export interface SignatureOptions {
  hashAlgorithm: HashAlgorithm;
  /** The input is already the digest (ECDSA and RSA). */
  prehashed: boolean;
  /** RSA: `pss` (also when empty) or `pkcs1v15`. */
  signatureAlgorithm: string;
  marshaling: Marshaling;
  /** Go's PSSOptions.SaltLength: 0 = auto (longest when signing, any when verifying), -1 = the hash's length, n > 0 = n bytes. */
  saltLength: number;
}

/** Vault's getSaltLength: `auto`, `hash` or an integer from -1 up (0 is auto, -1 is hash, as Go reads them). */
export function parseSaltLength(raw: string): number {
  const lower = raw.toLowerCase();
  if (lower === 'auto') return 0;
  if (lower === 'hash') return -1;
  if (!/^[+-]?\d{1,15}$/.test(lower)) throw new TransitCryptoError(`salt length neither 'auto', 'hash', nor an int: ${raw}`);
  const value = Number(lower);
  if (value < -1) throw new TransitCryptoError(`salt length is invalid: ${value}`);
  return value;
}

/** Request-wide checks (validateSignApiArgsVersionSpecific, CE): `none` only for prehashed PKCS#1 v1.5. */
export function checkSignatureOptions(options: SignatureOptions): void {
  if (options.hashAlgorithm === 'none' && (!options.prehashed || options.signatureAlgorithm !== 'pkcs1v15'))
    throw new TransitCryptoError('hash_algorithm=none requires both prehashed=true and signature_algorithm=pkcs1v15');
}

/**
 * Vault CE's per-item refusal of Ed25519ph and Ed25519ctx (_forbidEd25519EntBehavior), or undefined:
 * ed25519 keys sign pure Ed25519 only, so a `signature_context` is refused rather than ignored.
 */
export function ed25519Refusal(t: TransitKeyType, options: SignatureOptions, signatureContext = ''): string | undefined {
  if (t !== 'ed25519') return undefined;
  if (options.prehashed) return 'only Pure Ed25519 signatures supported, prehashed must be false';
  // Vault's message, spelling included.
  if (options.hashAlgorithm === 'sha2-512') return 'only Pure Ed25519 signatures supported, hash_alogithm should not be set';
  if (signatureContext !== '') return 'only Pure Ed25519 signatures supported, signature_context must be empty';
  return undefined;
}

const CURVES: Partial<Record<TransitKeyType, string>> = { 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384', 'ecdsa-p521': 'P-521' };

function derivedEd25519(material: KeyVersionMaterial, context: Buffer): KeyObject {
  try {
    return ed25519FromSeed(deriveKey(material.key, context, 32));
  } catch (err) {
    if (err instanceof TransitCryptoError) throw new TransitCryptoError(`error deriving key: ${err.message}`);
    throw err;
  }
}

/** The private key a version signs with; a derived ed25519 key's comes from the context. */
export function signingKey(t: TransitKeyType, material: KeyVersionMaterial, derived: boolean, context: Buffer): KeyObject {
  if (t === 'ed25519' && derived) return derivedEd25519(material, context);
  return privateKeyObject(t, material);
}

/**
 * The public key a version verifies with: from its private key when stored, else from what the key
 * read shows (`shownPublicKey`: base64 raw ed25519, PEM for ECDSA and RSA), as imported public keys have.
 */
export function verificationKey(
  t: TransitKeyType,
  material: KeyVersionMaterial | undefined,
  shownPublicKey: string | undefined,
  derived: boolean,
  context: Buffer,
): KeyObject {
  if (t === 'ed25519' && derived) {
    if (!material || material.key.length === 0) throw new TransitCryptoError('no Ed25519 key material for derivation');
    return createPublicKey(derivedEd25519(material, context));
  }
  if (material && material.key.length > 0) return publicKeyObject(t, material);
  if (!shownPublicKey) throw new TransitCryptoError('no public key for that key version');
  if (t === 'ed25519')
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(shownPublicKey, 'base64').toString('base64url') }, format: 'jwk' });
  return createPublicKey(shownPublicKey);
}

/** The raw 32-byte ed25519 public key (what sign returns as `public_key` for a derived key). */
export function ed25519PublicBytes(key: KeyObject): Buffer {
  return Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x as string, 'base64url');
}

function nodeHash(options: SignatureOptions): NodeHash | null {
  return HASH_ALGORITHMS[options.hashAlgorithm];
}

function rsaScheme(options: SignatureOptions): 'pss' | 'pkcs1v15' {
  const algorithm = options.signatureAlgorithm === '' ? 'pss' : options.signatureAlgorithm;
  if (algorithm !== 'pss' && algorithm !== 'pkcs1v15') throw new TransitCryptoError(`unsupported rsa signature algorithm ${algorithm}`);
  return algorithm;
}

/** PSS's hash and salt length, checked against Go's bounds for the key (validRSAPSSSaltLength). */
function pssParameters(key: KeyObject, options: SignatureOptions): NodeHash {
  const hash = nodeHash(options);
  if (hash === null) throw new TransitCryptoError('hash_algorithm=none requires both prehashed=true and signature_algorithm=pkcs1v15');
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (options.saltLength < -1 || options.saltLength > maxPssSaltLength(bits, hash))
    throw new TransitCryptoError(`requested salt length ${options.saltLength} is invalid`);
  return hash;
}

/** node's saltLength for a Go salt length: auto is the longest when signing and detected when verifying. */
function nodeSaltLength(saltLength: number, signing: boolean): number {
  if (saltLength === 0) return signing ? constants.RSA_PSS_SALTLEN_MAX_SIGN : constants.RSA_PSS_SALTLEN_AUTO;
  if (saltLength === -1) return constants.RSA_PSS_SALTLEN_DIGEST;
  return saltLength;
}

/** The signature bytes of `input` (marshaled for ECDSA); the caller formats them with `encodeSignature`. */
export function signInput(t: TransitKeyType, privateKey: KeyObject, input: Buffer, options: SignatureOptions): Buffer {
  if (t === 'ed25519') return nodeSign(null, input, privateKey);
  const hash = nodeHash(options);
  const digestGiven = options.prehashed || hash === null;
  if (ECDSA_TYPES.includes(t)) {
    if (!digestGiven) return nodeSign(hash, input, { key: privateKey, dsaEncoding: options.marshaling === 'jws' ? 'ieee-p1363' : 'der' });
    const d = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url');
    const { r, s } = ecdsaSignDigest(CURVES[t] as string, d, input);
    const raw = Buffer.concat([r, s]);
    return options.marshaling === 'jws' ? raw : ecdsaRawToDer(raw);
  }
  if (RSA_TYPES.includes(t)) {
    if (rsaScheme(options) === 'pss') {
      const pssHash = pssParameters(privateKey, options);
      if (options.prehashed) return rsaPssSignDigest(privateKey, pssHash, input, options.saltLength);
      return nodeSign(pssHash, input, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: nodeSaltLength(options.saltLength, true) });
    }
    if (digestGiven) return rsaPkcs1SignDigest(privateKey, hash, input);
    return nodeSign(hash, input, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
  }
  throw new TransitCryptoError(`message signing not supported for key type ${t}`);
}

/** Whether `signature` (the decoded payload) signs `input`; malformed ECDSA DER is Vault's user error. */
export function verifyInput(t: TransitKeyType, publicKey: KeyObject, input: Buffer, signature: Buffer, options: SignatureOptions): boolean {
  if (t === 'ed25519') return nodeVerify(null, input, publicKey, signature);
  const hash = nodeHash(options);
  const digestGiven = options.prehashed || hash === null;
  if (ECDSA_TYPES.includes(t)) {
    const { r, s } = options.marshaling === 'jws' ? jwsScalars(signature) : asn1Scalars(signature);
    const c = curve(CURVES[t] as string);
    if (r <= 0n || s <= 0n || r >= c.n || s >= c.n) return false;
    if (!digestGiven) {
      const raw = Buffer.concat([bigintBytes(r, c.size), bigintBytes(s, c.size)]);
      return nodeVerify(hash, input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw);
    }
    const jwk = publicKey.export({ format: 'jwk' });
    return ecdsaVerifyDigest(CURVES[t] as string, Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url'), input, r, s);
  }
  if (RSA_TYPES.includes(t)) {
    if (rsaScheme(options) === 'pss') {
      const pssHash = pssParameters(publicKey, options);
      if (options.prehashed) return rsaPssVerifyDigest(publicKey, pssHash, input, signature, options.saltLength);
      return nodeVerify(
        pssHash,
        input,
        { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: nodeSaltLength(options.saltLength, false) },
        signature,
      );
    }
    if (digestGiven) return rsaPkcs1VerifyDigest(publicKey, hash, input, signature);
    return nodeVerify(hash, input, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
  }
  throw new TransitCryptoError(`message verification not supported for key type ${t}`);
}

const MANAGED_HASHES: Partial<Record<HashAlgorithm, SignatureHash>> = { 'sha2-256': 'sha256', 'sha2-384': 'sha384', 'sha2-512': 'sha512' };
const CURVE_TYPES: Record<string, TransitKeyType> = { prime256v1: 'ecdsa-p256', secp384r1: 'ecdsa-p384', secp521r1: 'ecdsa-p521' };

/** The transit type a managed key's public key signs as: ed25519, an ECDSA curve, or RSA (any size, as rsa-2048). */
export function signingTypeOf(publicKey: KeyObject): TransitKeyType {
  const keyType = publicKey.asymmetricKeyType;
  if (keyType === 'ed25519') return 'ed25519';
  if (keyType === 'rsa') return 'rsa-2048';
  const t = keyType === 'ec' ? CURVE_TYPES[publicKey.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
  if (!t) throw new TransitCryptoError(`managed key of type ${keyType ?? 'unknown'} cannot sign`);
  return t;
}

/**
 * Signs with a managed key's Signer (the token hashes the input): sha2-256/384/512, no prehashed
 * input, PSS with a salt as long as the hash (which `auto` verifiers accept); anything else is a
 * TransitCryptoError naming what the token cannot do. The result is marshaled as `signInput`'s.
 */
export async function signWithSigner(signer: Signer, input: Buffer, options: SignatureOptions): Promise<Buffer> {
  const t = signingTypeOf(signer.publicKey);
  if (t === 'ed25519') return signer.sign(signatureSchemeFor(signer.publicKey), input);
  if (options.prehashed) throw new TransitCryptoError('prehashed input is not supported for managed keys');
  const hash = MANAGED_HASHES[options.hashAlgorithm];
  if (!hash) throw new TransitCryptoError(`hash algorithm ${options.hashAlgorithm} is not supported for managed keys`);
  if (ECDSA_TYPES.includes(t)) {
    const der = await signer.sign(signatureSchemeFor(signer.publicKey, hash), input);
    return options.marshaling === 'jws' ? ecdsaDerToRaw(der, curve(CURVES[t] as string).size) : der;
  }
  const pss = rsaScheme(options) === 'pss';
  if (pss) {
    pssParameters(signer.publicKey, options);
    const hashBytes = createHash(hash).digest().length;
    if (options.saltLength !== 0 && options.saltLength !== -1 && options.saltLength !== hashBytes)
      throw new TransitCryptoError(`requested salt length ${options.saltLength} is not supported for managed keys (only the hash length)`);
  }
  return signer.sign(signatureSchemeFor(signer.publicKey, hash, pss), input);
}

/** The signature as Vault writes it after `vault:v<N>:`: base64, or base64url without padding for jws. */
export function encodeSignature(signature: Buffer, marshaling: Marshaling): string {
  return signature.toString(marshaling === 'jws' ? 'base64url' : 'base64');
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const RAW_URL_BASE64 = /^[A-Za-z0-9_-]*$/;

/** The payload of a signature value, decoded as its marshaling says (Go's StdEncoding / RawURLEncoding, newlines skipped). */
export function decodeSignature(payload: string, marshaling: Marshaling): Buffer {
  const compact = payload.replace(/[\r\n]/g, '');
  const valid = marshaling === 'jws' ? RAW_URL_BASE64.test(compact) && compact.length % 4 !== 1 : STD_BASE64.test(compact);
  if (!valid) throw new TransitCryptoError('invalid base64 signature value');
  return Buffer.from(compact, marshaling === 'jws' ? 'base64url' : 'base64');
}

/** JWS r ‖ s: Vault splits at half the length (s takes an odd byte). */
function jwsScalars(signature: Buffer): { r: bigint; s: bigint } {
  const half = Math.floor(signature.length / 2);
  return { r: bigintFrom(signature.subarray(0, half)), s: bigintFrom(signature.subarray(half)) };
}

class DerFormatError extends Error {}

/** One DER TLV at `offset` as Go's encoding/asn1 reads it (definite, minimal lengths). */
function readTlv(der: Buffer, offset: number): { tag: number; start: number; end: number } {
  if (offset + 2 > der.length) throw new DerFormatError();
  const tag = der[offset];
  let length = der[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3 || start + count > der.length || der[start] === 0) throw new DerFormatError();
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i];
    if (length < 0x80) throw new DerFormatError();
    start += count;
  }
  if (start + length > der.length) throw new DerFormatError();
  return { tag, start, end: start + length };
}

/** A DER INTEGER's value, two's complement, rejecting what Go rejects (empty, non-minimal). */
function readInteger(der: Buffer, offset: number): { value: bigint; end: number } {
  const { tag, start, end } = readTlv(der, offset);
  if (tag !== 0x02 || end === start) throw new DerFormatError();
  const content = der.subarray(start, end);
  if (content.length > 1 && ((content[0] === 0x00 && content[1] < 0x80) || (content[0] === 0xff && content[1] >= 0x80))) throw new DerFormatError();
  let value = bigintFrom(content);
  if (content[0] & 0x80) value -= 1n << BigInt(content.length * 8);
  return { value, end };
}

/** Vault's asn1.Unmarshal of ecdsaSignature: trailing elements inside the SEQUENCE are ignored, bytes after it are not. */
function asn1Scalars(signature: Buffer): { r: bigint; s: bigint } {
  let parsed: { r: bigint; s: bigint; end: number };
  try {
    const outer = readTlv(signature, 0);
    if (outer.tag !== 0x30) throw new DerFormatError();
    const sequence = signature.subarray(0, outer.end);
    const r = readInteger(sequence, outer.start);
    const s = readInteger(sequence, r.end);
    parsed = { r: r.value, s: s.value, end: outer.end };
  } catch (err) {
    if (err instanceof DerFormatError) throw new TransitCryptoError('supplied signature is invalid');
    throw err;
  }
  if (parsed.end !== signature.length) throw new TransitCryptoError('supplied signature contains extra data');
  return parsed;
}

/** keysutil HMACKey: the hmac type's key, every other type's `hmacKey`. */
export function hmacKeyOf(t: TransitKeyType, material: KeyVersionMaterial): Buffer {
  if (t === 'hmac') return material.key;
  if (!material.hmacKey || material.hmacKey.length === 0) throw new TransitCryptoError('no HMAC key exists for that key version');
  return material.hmacKey;
}

/** HMAC of `input` with a hash of HASH_ALGORITHMS (not `none`). */
export function computeHmac(hash: NodeHash, key: Buffer, input: Buffer): Buffer {
  return createHmac(hash, key).update(input).digest();
}

/** Whether a given HMAC equals the computed one, in constant time (Go's hmac.Equal). */
export function hmacMatches(computed: Buffer, given: Buffer): boolean {
  return constantTimeEqual(computed, given);
}
