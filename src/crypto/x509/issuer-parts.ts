/**
 * What CRLs and OCSP answers need from an issuer certificate (its subject Name exactly as encoded,
 * key identifier, public key bits) and how an issuer key signs them (signing.ts picks the algorithm
 * by the signer's public key, the Signer makes the signature). No hand-written cryptography.
 */
import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, id_ce_subjectKeyIdentifier, SubjectKeyIdentifier, type Name } from '@peculiar/asn1-x509';
import type { Signer } from '../signer';
import { signatureSchemeFor, type SignatureScheme } from './signing';

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

/**
 * How an issuer signs CRLs and OCSP answers: the scheme (Vault's default digest for its key, from
 * signing.ts) and that scheme's AlgorithmIdentifier, which the caller writes both inside the signed
 * data and beside the signature.
 */
export function issuerSignature(signer: Signer): { scheme: SignatureScheme; algorithm: AlgorithmIdentifier } {
  const scheme = signatureSchemeFor(signer.publicKey);
  return { scheme, algorithm: AsnConvert.parse(scheme.algorithmDer, AlgorithmIdentifier) };
}

/** Signs DER bytes with the issuer's signer under `scheme`. */
export async function signDer(signer: Signer, scheme: SignatureScheme, data: ArrayBuffer | Buffer): Promise<Buffer> {
  return signer.sign(scheme, Buffer.from(data as ArrayBuffer));
}
