/**
 * What CRLs and OCSP answers need from an issuer certificate (its subject Name exactly as encoded,
 * key identifier, public key bits) and how an issuer key signs: the signature algorithm by key type
 * and node:crypto's signature. No hand-written cryptography: hashing and signing are node's.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, id_ce_subjectKeyIdentifier, SubjectKeyIdentifier, type Name } from '@peculiar/asn1-x509';

/** Exactly these bytes as an ArrayBuffer (a Node Buffer may be a view into a larger shared one). */
export function exactBytes(b: Buffer): ArrayBuffer {
  return new Uint8Array(b).buffer;
}

export interface IssuerParts {
  name: Name;
  nameDer: Buffer;
  publicKeyBits: Buffer;
  /** The issuer's SubjectKeyIdentifier, or SHA-1 of its public key bits (RFC 5280 method 1) when it has none. */
  keyId: Buffer;
}

export function issuerParts(certDer: Buffer): IssuerParts {
  const cert = AsnConvert.parse(certDer, Certificate);
  const tbs = cert.tbsCertificate;
  const publicKeyBits = Buffer.from(tbs.subjectPublicKeyInfo.subjectPublicKey);
  const skiExtension = tbs.extensions?.find((e) => e.extnID === id_ce_subjectKeyIdentifier);
  const keyId = skiExtension ? Buffer.from(AsnConvert.parse(skiExtension.extnValue, SubjectKeyIdentifier).buffer) : createHash('sha1').update(publicKeyBits).digest();
  return { name: tbs.subject, nameDer: Buffer.from(AsnConvert.serialize(tbs.subject)), publicKeyBits, keyId };
}

const NULL_PARAMETERS = new Uint8Array([0x05, 0x00]).buffer;
const EC_HASH: Record<string, 'sha256' | 'sha384' | 'sha512'> = { prime256v1: 'sha256', secp256k1: 'sha256', secp224r1: 'sha256', secp384r1: 'sha384', secp521r1: 'sha512' };
const ECDSA_OID = { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha512: '1.2.840.10045.4.3.4' };
const RSA_OID = { sha256: '1.2.840.113549.1.1.11', sha384: '1.2.840.113549.1.1.12', sha512: '1.2.840.113549.1.1.13' };

/** The signature algorithm an issuer key signs with, and the hash node:crypto is given for it. */
export function signatureAlgorithmOf(key: KeyObject): { algorithm: AlgorithmIdentifier; hash: 'sha256' | 'sha384' | 'sha512' | null } {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { algorithm: new AlgorithmIdentifier({ algorithm: RSA_OID.sha256, parameters: NULL_PARAMETERS }), hash: 'sha256' };
    case 'ec': {
      const hash = EC_HASH[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? 'sha256';
      return { algorithm: new AlgorithmIdentifier({ algorithm: ECDSA_OID[hash] }), hash };
    }
    case 'ed25519':
      return { algorithm: new AlgorithmIdentifier({ algorithm: '1.3.101.112' }), hash: null };
    default:
      throw new Error(`unsupported issuer key type ${key.asymmetricKeyType}`);
  }
}

/** Signs DER bytes with the issuer key (ECDSA signatures DER-encoded, as X.509 wants). */
export function signDer(key: KeyObject, data: ArrayBuffer | Buffer): Buffer {
  const { hash } = signatureAlgorithmOf(key);
  return sign(hash, Buffer.from(data as ArrayBuffer), key);
}
