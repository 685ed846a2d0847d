/**
 * What CRLs and OCSP answers need from an issuer certificate (its subject Name exactly as encoded,
 * key identifier, public key bits) and how an issuer key signs them (signing.ts: the algorithm by
 * key type, node:crypto's signature). No hand-written cryptography: hashing and signing are node's.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, id_ce_subjectKeyIdentifier, SubjectKeyIdentifier, type Name } from '@peculiar/asn1-x509';
import { signatureSchemeFor, signWithScheme } from './signing';

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
  const keyId = skiExtension
    ? Buffer.from(AsnConvert.parse(skiExtension.extnValue, SubjectKeyIdentifier).buffer)
    : createHash('sha1').update(publicKeyBits).digest();
  return { name: tbs.subject, nameDer: Buffer.from(AsnConvert.serialize(tbs.subject)), publicKeyBits, keyId };
}

/** The AlgorithmIdentifier an issuer key signs with (signing.ts decides: Vault's default digest per key). */
export function signatureAlgorithmOf(key: KeyObject): AlgorithmIdentifier {
  return AsnConvert.parse(signatureSchemeFor(key).algorithmDer, AlgorithmIdentifier);
}

/** Signs DER bytes with the issuer key, as signing.ts signs certificates. */
export function signDer(key: KeyObject, data: ArrayBuffer | Buffer): Buffer {
  return signWithScheme(signatureSchemeFor(key), key, Buffer.from(data as ArrayBuffer));
}
