/**
 * Signature algorithms for certificates and CSRs: picking and encoding the AlgorithmIdentifier
 * for an issuer key, signing with node:crypto, and verifying a signature named by an
 * AlgorithmIdentifier (CSRs may come from any client).
 *
 * Invariants:
 * - the AlgorithmIdentifier written is exactly the one the signature was made with; RSA PKCS#1
 *   v1.5 identifiers carry NULL parameters, ECDSA and EdDSA identifiers carry none (RFC 5754,
 *   RFC 8410), RSASSA-PSS carries its hash, MGF1 with the same hash and a salt as long as the hash;
 * - default hashes follow Vault: SHA-256 for RSA, P-224 and P-256, SHA-384 for P-384, SHA-512
 *   for P-521; Ed25519 signs the message itself;
 * - verification answers false for any signature it cannot check (unknown algorithm, key of the
 *   wrong kind, malformed parameters) — never true by default.
 *
 * OIDs are spelt out here: asn1-rsa 2.11's sha224/sha256WithRSAEncryption constants carry the
 * SHA-512/224 and SHA-512/256 OIDs.
 */
import { constants, createHash, sign, verify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { RsaSaPssParams } from '@peculiar/asn1-rsa';
import { keyInfo, type KeyType } from './keys';

export type SignatureHash = 'sha256' | 'sha384' | 'sha512';
type VerifiableHash = 'sha1' | 'sha224' | SignatureHash;

const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';
const OID_MGF1 = '1.2.840.113549.1.1.8';
const OID_ED25519 = '1.3.101.112';
const OID_ED448 = '1.3.101.113';

const RSA_PKCS1_OIDS: Record<VerifiableHash, string> = {
  sha1: '1.2.840.113549.1.1.5',
  sha224: '1.2.840.113549.1.1.14',
  sha256: '1.2.840.113549.1.1.11',
  sha384: '1.2.840.113549.1.1.12',
  sha512: '1.2.840.113549.1.1.13',
};
const ECDSA_OIDS: Record<VerifiableHash, string> = {
  sha1: '1.2.840.10045.4.1',
  sha224: '1.2.840.10045.4.3.1',
  sha256: '1.2.840.10045.4.3.2',
  sha384: '1.2.840.10045.4.3.3',
  sha512: '1.2.840.10045.4.3.4',
};
const HASH_OIDS: Record<VerifiableHash, string> = {
  sha1: '1.3.14.3.2.26',
  sha224: '2.16.840.1.101.3.4.2.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};
const HASH_BYTES: Record<VerifiableHash, number> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

function invert(record: Record<VerifiableHash, string>): Map<string, VerifiableHash> {
  return new Map((Object.entries(record) as [VerifiableHash, string][]).map(([hash, oid]) => [oid, hash]));
}
const RSA_PKCS1_HASH_BY_OID = invert(RSA_PKCS1_OIDS);
const ECDSA_HASH_BY_OID = invert(ECDSA_OIDS);
const HASH_BY_OID = invert(HASH_OIDS);

/** How to sign: the AlgorithmIdentifier's DER and what node needs to produce that signature. */
export interface SignatureScheme {
  algorithmDer: Buffer;
  /** Digest passed to node's sign(); null for Ed25519. */
  hash: SignatureHash | null;
  pss: boolean;
}

function algorithmDer(algorithm: string, parameters?: ArrayBuffer | null): Buffer {
  return Buffer.from(AsnConvert.serialize(new AlgorithmIdentifier({ algorithm, parameters })));
}

function pssParameters(hash: VerifiableHash): ArrayBuffer {
  const hashAlgorithm = new AlgorithmIdentifier({ algorithm: HASH_OIDS[hash], parameters: null });
  return AsnConvert.serialize(
    new RsaSaPssParams({
      hashAlgorithm,
      maskGenAlgorithm: new AlgorithmIdentifier({ algorithm: OID_MGF1, parameters: AsnConvert.serialize(hashAlgorithm) }),
      saltLength: HASH_BYTES[hash],
    }),
  );
}

const SIGNATURE_HASHES: ReadonlySet<string> = new Set<SignatureHash>(['sha256', 'sha384', 'sha512']);

const schemeCache = new Map<string, SignatureScheme>();

function cachedScheme(key: string, build: () => SignatureScheme): SignatureScheme {
  let scheme = schemeCache.get(key);
  if (scheme === undefined) {
    scheme = build();
    schemeCache.set(key, scheme);
  }
  return scheme;
}

/** keyInfo per KeyObject, computed once: a Signer's publicKey is one object for all its signatures. */
const keyInfoCache = new WeakMap<KeyObject, { type: KeyType; bits: number }>();

function cachedKeyInfo(key: KeyObject): { type: KeyType; bits: number } {
  let info = keyInfoCache.get(key);
  if (info === undefined) {
    info = keyInfo(key);
    keyInfoCache.set(key, info);
  }
  return info;
}

/** Vault's default digest for a signing key, given by its private or (a Signer's) public half. */
export function defaultSignatureHash(signingKey: KeyObject): SignatureHash | null {
  const { type, bits } = cachedKeyInfo(signingKey);
  if (type === 'ed25519') return null;
  if (type === 'ec') return bits === 384 ? 'sha384' : bits === 521 ? 'sha512' : 'sha256';
  return 'sha256';
}

/**
 * The scheme for signing with `signingKey` (its private or public half: only type and size count).
 * `hash` overrides the default (ignored for Ed25519);
 * `usePss` selects RSASSA-PSS for RSA keys (Vault's `use_pss`) and is refused for other keys.
 */
export function signatureSchemeFor(signingKey: KeyObject, hash?: SignatureHash, usePss = false): SignatureScheme {
  const { type } = cachedKeyInfo(signingKey);
  if (usePss && type !== 'rsa') throw new Error('PSS signatures need an RSA key');
  if (hash !== undefined && !SIGNATURE_HASHES.has(hash)) {
    throw new Error(`unsupported signature hash "${String(hash)}": use sha256, sha384 or sha512`);
  }
  if (type === 'ed25519') {
    return cachedScheme('ed25519', () => ({ algorithmDer: algorithmDer(OID_ED25519), hash: null, pss: false }));
  }
  const digest = hash ?? (defaultSignatureHash(signingKey) as SignatureHash);
  if (type === 'ec') {
    return cachedScheme(`ec:${digest}`, () => ({ algorithmDer: algorithmDer(ECDSA_OIDS[digest]), hash: digest, pss: false }));
  }
  if (usePss) {
    return cachedScheme(`pss:${digest}`, () => ({
      algorithmDer: algorithmDer(OID_RSASSA_PSS, pssParameters(digest)),
      hash: digest,
      pss: true,
    }));
  }
  return cachedScheme(`rsa:${digest}`, () => ({
    algorithmDer: algorithmDer(RSA_PKCS1_OIDS[digest], null),
    hash: digest,
    pss: false,
  }));
}

/** The signature of `data` under the software private key, as signatureSchemeFor's scheme describes (DER for ECDSA). */
export function signWithScheme(scheme: SignatureScheme, signingKey: KeyObject, data: Buffer): Buffer {
  if (scheme.pss && scheme.hash !== null) {
    return sign(scheme.hash, data, {
      key: signingKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: HASH_BYTES[scheme.hash],
    });
  }
  return sign(scheme.hash, data, signingKey);
}

function pssVerifyOptions(parameters: ArrayBuffer | null | undefined): { hash: VerifiableHash; saltLength: number } | null {
  if (!parameters) return null;
  const params = AsnConvert.parse(parameters, RsaSaPssParams);
  const hash = HASH_BY_OID.get(params.hashAlgorithm.algorithm);
  if (hash === undefined || params.maskGenAlgorithm.algorithm !== OID_MGF1 || !params.maskGenAlgorithm.parameters) return null;
  const mgfHash = AsnConvert.parse(params.maskGenAlgorithm.parameters, AlgorithmIdentifier);
  // node's MGF1 uses the signature digest, so a different MGF1 digest cannot be checked.
  if (HASH_BY_OID.get(mgfHash.algorithm) !== hash || params.trailerField !== 1) return null;
  return { hash, saltLength: params.saltLength };
}

/** Whether `signature` over `data` verifies under `publicKey` with the named algorithm. */
export function verifySignature(algorithm: AlgorithmIdentifier, publicKey: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    const keyType = publicKey.asymmetricKeyType;
    const rsaHash = RSA_PKCS1_HASH_BY_OID.get(algorithm.algorithm);
    if (rsaHash !== undefined) return keyType === 'rsa' && verify(rsaHash, data, publicKey, signature);
    const ecdsaHash = ECDSA_HASH_BY_OID.get(algorithm.algorithm);
    if (ecdsaHash !== undefined) return keyType === 'ec' && verify(ecdsaHash, data, publicKey, signature);
    if (algorithm.algorithm === OID_ED25519) return keyType === 'ed25519' && verify(null, data, publicKey, signature);
    if (algorithm.algorithm === OID_ED448) return keyType === 'ed448' && verify(null, data, publicKey, signature);
    if (algorithm.algorithm === OID_RSASSA_PSS) {
      const options = pssVerifyOptions(algorithm.parameters);
      if (options === null || (keyType !== 'rsa' && keyType !== 'rsa-pss')) return false;
      return verify(options.hash, data, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: options.saltLength }, signature);
    }
    return false;
  } catch {
    return false;
  }
}

/** SHA-1 of `data` (key identifiers, RFC 5280 4.2.1.2 method 1). */
export function sha1(data: Buffer): Buffer {
  return createHash('sha1').update(data).digest();
}
