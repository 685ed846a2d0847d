/**
 * Key references, key templates, mechanisms and attribute decoding for Pkcs11Token.
 *
 * Invariants:
 * - generated keys never leave the token: secret and private keys are CKA_TOKEN, CKA_PRIVATE,
 *   CKA_SENSITIVE and not CKA_EXTRACTABLE (the token then refuses to reveal or wrap them, and a
 *   sensitive key can never be made non-sensitive again);
 * - a key reference names a key by class, label and CKA_ID only (what the token stores), never by
 *   handle: handles are per library initialisation, so the token resolves a reference again
 *   after a reopen;
 * - GCM uses a 96-bit IV and a 128-bit tag, OAEP uses MGF1 with the same hash as the label hash;
 * - EC keys are on a named curve only (CKA_EC_PARAMS is the curve's DER OID, never explicit
 *   parameters); RSA-PSS signs with MGF1 of the same hash and a salt as long as the hash, which is
 *   what src/crypto/x509/signing.ts writes into the AlgorithmIdentifier.
 */
import { endianness } from 'node:os';
import { GCM_IV_BYTES, GCM_TAG_BYTES, OAEP_HASHES, type OaepHash } from '../crypto/encrypter';
import { CKZ_DATA_SPECIFIED, type Attribute, type AttributeResult, type Handle, type Mechanism, type Pkcs11Binding } from './pkcs11-binding';

/**
 * A key on a token: a secret key (CKO_SECRET_KEY, normally AES), or an RSA or EC private key whose
 * public key is the CKO_PUBLIC_KEY of the same type with the same CKA_ID (or, without an id, the
 * same label).
 */
export interface Pkcs11KeyRef {
  readonly class: 'secret' | 'rsa' | 'ec';
  /** CKA_LABEL as stored ('' when the key has none). */
  readonly label: string;
  /** CKA_ID as stored (empty when the key has none). */
  readonly id: Buffer;
}

export interface Pkcs11KeyQuery {
  label?: string;
  id?: Buffer;
}

export interface Pkcs11KeyInfo {
  label: string;
  id: Buffer;
  keyType: 'aes' | 'rsa' | 'ec' | 'other';
  sensitive: boolean;
  extractable: boolean;
  /** AES: key length in bits; RSA: modulus length in bits; EC: curve size; undefined when the token does not say. */
  bits?: number;
}

// One definition with the software encrypters (src/crypto/encrypter.ts), so both make the same layout.
export { GCM_IV_BYTES, GCM_TAG_BYTES, OAEP_HASHES, type OaepHash };
export const AES_KEY_BYTES = 32;
/** Large enough for the output of an RSA operation with a modulus of up to 16384 bits. */
export const RSA_MAX_BYTES = 2048;
/** CKA_ID given to a generated key when the caller names none. */
export const GENERATED_ID_BYTES = 4;

/** `key 'label' (id 0a1b2c3d)`, for messages. */
export function keyName(key: Pkcs11KeyQuery): string {
  const parts = [];
  if (key.label) parts.push(`'${key.label}'`);
  if (key.id && key.id.length > 0) parts.push(`(id ${key.id.toString('hex')})`);
  return parts.length > 0 ? `key ${parts.join(' ')}` : 'key without label or id';
}

/** The numeric value of a CK_ULONG handle (slot ids are unsigned 64-bit; pkcs11js gives native-endian Buffers). */
export function ulongValue(buf: Buffer): bigint {
  let value = 0n;
  const le = endianness() === 'LE';
  for (let i = 0; i < buf.length; i++) value = (value << 8n) | BigInt(buf[le ? buf.length - 1 - i : i]);
  return value;
}

/** A decoded attribute value. */
export function attributeBool(result: AttributeResult): boolean {
  return result.value.length > 0 && result.value[0] !== 0;
}

export function attributeUlong(result: AttributeResult): number {
  return Number(ulongValue(result.value));
}

export type KeyObjectClass = Pkcs11KeyRef['class'] | 'rsa-public' | 'ec-public';

/** The template that finds the key a reference or query names (class, and label/id where given). */
export function keyTemplate(p: Pkcs11Binding, cls: KeyObjectClass, key: Pkcs11KeyQuery): Attribute[] {
  const t: Attribute[] =
    cls === 'secret'
      ? [{ type: p.CKA_CLASS, value: p.CKO_SECRET_KEY }]
      : [
          { type: p.CKA_CLASS, value: cls === 'rsa' || cls === 'ec' ? p.CKO_PRIVATE_KEY : p.CKO_PUBLIC_KEY },
          { type: p.CKA_KEY_TYPE, value: cls === 'rsa' || cls === 'rsa-public' ? p.CKK_RSA : p.CKK_EC },
        ];
  if (key.label) t.push({ type: p.CKA_LABEL, value: key.label });
  if (key.id && key.id.length > 0) t.push({ type: p.CKA_ID, value: key.id });
  return t;
}

/** A 256-bit AES key that stays on the token (see the invariants). */
export function aesKeyTemplate(p: Pkcs11Binding, label: string, id: Buffer): Attribute[] {
  return [
    { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
    { type: p.CKA_KEY_TYPE, value: p.CKK_AES },
    { type: p.CKA_VALUE_LEN, value: AES_KEY_BYTES },
    { type: p.CKA_LABEL, value: label },
    { type: p.CKA_ID, value: id },
    { type: p.CKA_TOKEN, value: true },
    { type: p.CKA_PRIVATE, value: true },
    { type: p.CKA_SENSITIVE, value: true },
    { type: p.CKA_EXTRACTABLE, value: false },
    { type: p.CKA_ENCRYPT, value: true },
    { type: p.CKA_DECRYPT, value: true },
    { type: p.CKA_WRAP, value: true },
    { type: p.CKA_UNWRAP, value: true },
  ];
}

/**
 * A key pair on the token: the public half with `publicExtra`, the private half private, sensitive
 * and not extractable with `privateExtra` (what it may do).
 */
function keyPairTemplates(
  p: Pkcs11Binding,
  keyType: number,
  label: string,
  id: Buffer,
  publicExtra: Attribute[],
  privateExtra: Attribute[],
): { publicKey: Attribute[]; privateKey: Attribute[] } {
  const common = [
    { type: p.CKA_KEY_TYPE, value: keyType },
    { type: p.CKA_LABEL, value: label },
    { type: p.CKA_ID, value: id },
    { type: p.CKA_TOKEN, value: true },
  ];
  return {
    publicKey: [{ type: p.CKA_CLASS, value: p.CKO_PUBLIC_KEY }, ...common, { type: p.CKA_PRIVATE, value: false }, ...publicExtra],
    privateKey: [
      { type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY },
      ...common,
      { type: p.CKA_PRIVATE, value: true },
      { type: p.CKA_SENSITIVE, value: true },
      { type: p.CKA_EXTRACTABLE, value: false },
      ...privateExtra,
    ],
  };
}

/** An RSA key pair (public exponent 65537) whose private half stays on the token. */
export function rsaKeyPairTemplates(p: Pkcs11Binding, label: string, bits: number, id: Buffer): { publicKey: Attribute[]; privateKey: Attribute[] } {
  return keyPairTemplates(
    p,
    p.CKK_RSA,
    label,
    id,
    [
      { type: p.CKA_MODULUS_BITS, value: bits },
      { type: p.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      { type: p.CKA_ENCRYPT, value: true },
      { type: p.CKA_WRAP, value: true },
      { type: p.CKA_VERIFY, value: true },
    ],
    [
      { type: p.CKA_DECRYPT, value: true },
      { type: p.CKA_UNWRAP, value: true },
      { type: p.CKA_SIGN, value: true },
    ],
  );
}

export type EcCurve = 'P-256' | 'P-384' | 'P-521';

/** Per named curve: CKA_EC_PARAMS (the DER OID, RFC 5480), the size in bits and the octets of a coordinate. */
export const EC_CURVES: Readonly<Record<EcCurve, { params: Buffer; bits: number; coordinateBytes: number }>> = {
  'P-256': { params: Buffer.from('06082a8648ce3d030107', 'hex'), bits: 256, coordinateBytes: 32 },
  'P-384': { params: Buffer.from('06052b81040022', 'hex'), bits: 384, coordinateBytes: 48 },
  'P-521': { params: Buffer.from('06052b81040023', 'hex'), bits: 521, coordinateBytes: 66 },
};

/** The named curve whose DER OID is `params`, or undefined (another curve, or explicit parameters). */
export function curveOfParams(params: Buffer): EcCurve | undefined {
  return (Object.keys(EC_CURVES) as EcCurve[]).find((curve) => EC_CURVES[curve].params.equals(params));
}

/** An EC key pair on a named curve whose private half stays on the token and only signs. */
export function ecKeyPairTemplates(p: Pkcs11Binding, label: string, curve: EcCurve, id: Buffer): { publicKey: Attribute[]; privateKey: Attribute[] } {
  return keyPairTemplates(
    p,
    p.CKK_EC,
    label,
    id,
    [
      { type: p.CKA_EC_PARAMS, value: EC_CURVES[curve].params },
      { type: p.CKA_VERIFY, value: true },
    ],
    [{ type: p.CKA_SIGN, value: true }],
  );
}

export type SignHash = 'sha256' | 'sha384' | 'sha512';

/**
 * A signature mechanism by name: 'ecdsa' signs a digest computed in software (CKM_ECDSA, giving
 * r ‖ s); 'rsa-pkcs1' and 'rsa-pss' hash on the token (CKM_SHA*_RSA_PKCS, CKM_SHA*_RSA_PKCS_PSS).
 */
export interface Pkcs11SignMechanism {
  algorithm: 'ecdsa' | 'rsa-pkcs1' | 'rsa-pss';
  hash: SignHash;
}

export const SIGN_HASHES: readonly SignHash[] = ['sha256', 'sha384', 'sha512'];
const HASH_BYTES: Record<SignHash, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** The PKCS#11 mechanism for `mechanism` (the caller passes CKM_ECDSA the digest, not the message). */
export function signMechanism(p: Pkcs11Binding, { algorithm, hash }: Pkcs11SignMechanism): Mechanism {
  if (algorithm === 'ecdsa') return { mechanism: p.CKM_ECDSA };
  const pkcs1 = { sha256: p.CKM_SHA256_RSA_PKCS, sha384: p.CKM_SHA384_RSA_PKCS, sha512: p.CKM_SHA512_RSA_PKCS };
  if (algorithm === 'rsa-pkcs1') return { mechanism: pkcs1[hash] };
  const pss = { sha256: p.CKM_SHA256_RSA_PKCS_PSS, sha384: p.CKM_SHA384_RSA_PKCS_PSS, sha512: p.CKM_SHA512_RSA_PKCS_PSS };
  const [hashAlg, mgf] = { sha256: [p.CKM_SHA256, p.CKG_MGF1_SHA256], sha384: [p.CKM_SHA384, p.CKG_MGF1_SHA384], sha512: [p.CKM_SHA512, p.CKG_MGF1_SHA512] }[
    hash
  ];
  return { mechanism: pss[hash], parameter: { type: p.CK_PARAMS_RSA_PSS, hashAlg, mgf, saltLen: HASH_BYTES[hash] } };
}

/** CKM_AES_GCM with a 96-bit IV and a 128-bit tag; an empty AAD is passed as none (GCM treats them alike). */
export function gcmMechanism(p: Pkcs11Binding, iv: Buffer, aad?: Buffer): Mechanism {
  const parameter: Mechanism['parameter'] = { type: p.CK_PARAMS_GCM, iv, ivBits: GCM_IV_BYTES * 8, tagBits: GCM_TAG_BYTES * 8 };
  if (aad && aad.length > 0) parameter.aad = aad;
  return { mechanism: p.CKM_AES_GCM, parameter };
}

/** CKM_RSA_PKCS_OAEP with `hash` and MGF1-`hash`, no label. */
export function oaepMechanism(p: Pkcs11Binding, hash: OaepHash): Mechanism {
  const [hashAlg, mgf] = {
    sha1: [p.CKM_SHA_1, p.CKG_MGF1_SHA1],
    sha224: [p.CKM_SHA224, p.CKG_MGF1_SHA224],
    sha256: [p.CKM_SHA256, p.CKG_MGF1_SHA256],
    sha384: [p.CKM_SHA384, p.CKG_MGF1_SHA384],
    sha512: [p.CKM_SHA512, p.CKG_MGF1_SHA512],
  }[hash];
  return { mechanism: p.CKM_RSA_PKCS_OAEP, parameter: { type: p.CK_PARAMS_RSA_OAEP, hashAlg, mgf, source: CKZ_DATA_SPECIFIED } };
}

/** The key type named by a CKA_KEY_TYPE value. */
export function keyTypeName(p: Pkcs11Binding, value: number): Pkcs11KeyInfo['keyType'] {
  if (value === p.CKK_AES) return 'aes';
  if (value === p.CKK_RSA) return 'rsa';
  if (value === p.CKK_EC) return 'ec';
  return 'other';
}

/** Handles of a resolved reference, valid for one session epoch of one token. */
export interface ResolvedKey {
  epoch: number;
  handle: Handle;
  /** RSA and EC: the public key's handle, looked up on first use (null: the token has none). */
  publicHandle?: Handle | null;
}
