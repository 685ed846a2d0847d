/**
 * X.509 v3 certificates: building and signing one from a spec, and reading back the parts the
 * PKI engine needs.
 *
 * The structures (names, validity, extensions, algorithm identifiers) are encoded by
 * @peculiar/asn1-schema; parts that are already DER (the issuer's Name as the caller holds it,
 * node's SubjectPublicKeyInfo, the signed TBSCertificate) are framed by der.ts so they are copied
 * byte for byte, never re-encoded. Signing goes through a Signer (software key or HSM key alike).
 *
 * Invariants of every certificate built:
 * - version v3; the serial is a positive INTEGER in minimal form, nonzero, from at most 20 octets;
 * - the signature AlgorithmIdentifier inside the TBSCertificate equals the outer one;
 * - validity times are UTCTime for 1950-2049 and GeneralizedTime otherwise, whole seconds (RFC 5280
 *   4.1.2.5); notBefore is not after notAfter;
 * - the issuer field is exactly `issuer.nameDer`; SKI is SHA-1 of the subject key's BIT STRING
 *   bits (RFC 5280 4.2.1.2 method 1) and AKI is the issuer's SKI (see CertificateSpec.issuer);
 * - extensions as extensions.ts describes.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, Validity } from '@peculiar/asn1-x509';
import {
  TAG_CONTEXT_0_CONSTRUCTED,
  TAG_INTEGER,
  TAG_SEQUENCE,
  childElements,
  derBitString,
  derElement,
  derSequence,
  integerMagnitude,
  positiveIntegerContent,
  readElement,
  readSingleElement,
} from './der';
import { certificateExtensionsDer, parseExtensions, type KeyUsage } from './extensions';
import { subjectPublicKeyOf } from './public-key';
import { distinguishedNameOf, encodeName, type DistinguishedName } from './names';
import type { Signer } from '../signer';
import { sha1, signatureSchemeFor, type SignatureHash } from './signing';

export { EKU, KEY_USAGE_BITS, type KeyUsage } from './extensions';
export { encodeName, decodeName, type DistinguishedName } from './names';
export { fromPem, toPem, type PemLabel } from './pem';

export interface CertificateSpec {
  /** Big-endian magnitude, at most 20 octets once leading zeros are dropped, nonzero. */
  serial: Buffer;
  subject: DistinguishedName;
  /**
   * The issuer: its subject Name (DER) and a Signer for its key; for a self-signed certificate pass
   * encodeName(subject) and a signer of the subject's own key. `subjectKeyId` is the issuer
   * certificate's SKI; when absent it is computed from the signer's public key the way this module
   * computes every SKI, which matches any issuer certificate built here.
   */
  issuer: { nameDer: Buffer; signer: Signer; subjectKeyId?: Buffer };
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  /** -1 or undefined: no limit. Only written on CA certificates. */
  maxPathLength?: number;
  keyUsage: KeyUsage[];
  /** EKU OIDs (see EKU). */
  extKeyUsage: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
  emails?: string[];
  issuingCertificateUrls?: string[];
  ocspServers?: string[];
  crlDistributionPoints?: string[];
  /** Default by issuer key: RSA sha256; EC P-384 sha384, P-521 sha512, else sha256; Ed25519 none. */
  signatureHash?: SignatureHash;
  /** RSASSA-PSS instead of PKCS#1 v1.5 (RSA issuers only; Vault's `use_pss`). */
  usePss?: boolean;
}

export interface CertificateParts {
  subjectNameDer: Buffer;
  issuerNameDer: Buffer;
  subjectKeyId?: Buffer;
  authorityKeyId?: Buffer;
  /** Big-endian magnitude, no leading zero octets. */
  serial: Buffer;
  isCa: boolean;
  /** Absent when unlimited or not a CA. */
  maxPathLength?: number;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  /** The SubjectPublicKeyInfo DER as it appears in the certificate. */
  publicKeyDer: Buffer;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emails: string[];
  keyUsage: KeyUsage[];
  extKeyUsage: string[];
  issuingCertificateUrls: string[];
  ocspServers: string[];
  crlDistributionPoints: string[];
  rawExtensions: { oid: string; value: Buffer }[];
  commonName?: string;
  subject: DistinguishedName;
  issuer: DistinguishedName;
}

/** `[0] EXPLICIT Version v3` of a TBSCertificate. */
const VERSION_V3_DER = derElement(TAG_CONTEXT_0_CONSTRUCTED, [derElement(TAG_INTEGER, [Buffer.from([2])])]);
const TAG_EXTENSIONS = 0xa3;
const MAX_SERIAL_OCTETS = 20;

interface PublicKeyFacts {
  spkiDer: Buffer;
  subjectKeyId: Buffer;
}

/** Per-KeyObject cache: a key's SPKI and SKI are computed once however many certificates use it. */
const publicKeyFactsCache = new WeakMap<KeyObject, PublicKeyFacts>();

function publicKeyFacts(key: KeyObject): PublicKeyFacts {
  let facts = publicKeyFactsCache.get(key);
  if (facts === undefined) {
    const publicKey = key.type === 'private' ? createPublicKey(key) : key;
    const { spkiDer, keyBits } = subjectPublicKeyOf(publicKey);
    facts = { spkiDer, subjectKeyId: sha1(keyBits) };
    publicKeyFactsCache.set(key, facts);
  }
  return facts;
}

/** SHA-1 of the public key's BIT STRING bits (RFC 5280 4.2.1.2 method 1). A private key stands for its public half. */
export function subjectKeyIdOf(publicKey: KeyObject): Buffer {
  return Buffer.from(publicKeyFacts(publicKey).subjectKeyId);
}

function serialContent(serial: Buffer): Buffer {
  let start = 0;
  while (start < serial.length && serial[start] === 0) start++;
  if (serial.length - start > MAX_SERIAL_OCTETS) throw new Error('certificate serial number is longer than 20 octets');
  if (start === serial.length) throw new Error('certificate serial number must be positive (got zero)');
  return positiveIntegerContent(serial.subarray(start));
}

let lastValidity: { key: string; der: Buffer } | undefined;

function validityDer(notBefore: Date, notAfter: Date): Buffer {
  for (const [what, date] of [
    ['notBefore', notBefore],
    ['notAfter', notAfter],
  ] as const) {
    const time = date.getTime();
    if (Number.isNaN(time)) throw new Error(`${what} is not a valid date`);
    const year = date.getUTCFullYear();
    if (year < 1950 || year > 9999) throw new Error(`${what} ${date.toISOString()} is outside 1950-9999`);
  }
  if (notAfter.getTime() < notBefore.getTime()) throw new Error('notAfter is before notBefore');
  // Certificates issued in the same second with the same TTL share their encoded Validity.
  const key = `${Math.floor(notBefore.getTime() / 1000)}:${Math.floor(notAfter.getTime() / 1000)}`;
  if (lastValidity?.key !== key) {
    // Validity's Time picks UTCTime up to 2049 and GeneralizedTime after, dropping milliseconds.
    lastValidity = { key, der: Buffer.from(AsnConvert.serialize(new Validity({ notBefore, notAfter }))) };
  }
  return lastValidity.der;
}

/** A signed certificate (DER) for `spec`. */
export async function buildCertificate(spec: CertificateSpec): Promise<Buffer> {
  readSingleElement(spec.issuer.nameDer, TAG_SEQUENCE, 'issuer name');
  const { signer } = spec.issuer;
  const scheme = signatureSchemeFor(signer.publicKey, spec.signatureHash, spec.usePss ?? false);
  const subjectNameDer = encodeName(spec.subject);
  const subjectKey = publicKeyFacts(spec.publicKey);
  const authorityKeyId = spec.issuer.subjectKeyId ?? publicKeyFacts(signer.publicKey).subjectKeyId;
  const extensions = certificateExtensionsDer({
    ...spec,
    subjectIsEmpty: subjectNameDer.length === 2,
    subjectKeyId: subjectKey.subjectKeyId,
    authorityKeyId,
  });
  const tbs = derSequence([
    VERSION_V3_DER,
    derElement(TAG_INTEGER, [serialContent(spec.serial)]),
    scheme.algorithmDer,
    spec.issuer.nameDer,
    validityDer(spec.notBefore, spec.notAfter),
    subjectNameDer,
    subjectKey.spkiDer,
    derElement(TAG_EXTENSIONS, [derSequence(extensions)]),
  ]);
  const signature = await signer.sign(scheme, tbs);
  return derSequence([tbs, scheme.algorithmDer, derBitString(signature)]);
}

/** The parts of a certificate (DER) the engine reads. Throws on anything that is not one certificate. */
export function certificateParts(der: Buffer): CertificateParts {
  const certificateSpan = readSingleElement(der, TAG_SEQUENCE, 'certificate');
  const [tbsDer] = childElements(der, certificateSpan);
  if (tbsDer === undefined) throw new Error('certificate: empty SEQUENCE');
  const tbsFields = childElements(tbsDer, readElement(tbsDer));
  // The version is [0] EXPLICIT and DEFAULT v1, so the serial is field 0 or 1.
  const first = tbsFields[0]?.[0] === TAG_CONTEXT_0_CONSTRUCTED ? 1 : 0;
  if (tbsFields.length < first + 6) throw new Error('certificate: TBSCertificate is missing fields');
  const [serialDer, , issuerNameDer, , subjectNameDer, publicKeyDer] = tbsFields.slice(first);
  const serialSpan = readElement(serialDer);
  if (serialSpan.tag !== TAG_INTEGER) throw new Error('certificate: serial number is not an INTEGER');

  const tbs = AsnConvert.parse(der, Certificate).tbsCertificate;
  const extensions = parseExtensions(tbs.extensions ?? []);
  const subject = distinguishedNameOf(tbs.subject);
  return {
    subjectNameDer: Buffer.from(subjectNameDer),
    issuerNameDer: Buffer.from(issuerNameDer),
    serial: integerMagnitude(serialDer.subarray(serialSpan.contentStart, serialSpan.end)),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    publicKey: createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' }),
    publicKeyDer: Buffer.from(publicKeyDer),
    ...extensions,
    commonName: subject.commonName,
    subject,
    issuer: distinguishedNameOf(tbs.issuer),
  };
}

/** A fresh serial: 20 random octets with the top bit clear (159 bits, as Vault draws), never zero. */
export function randomSerial(): Buffer {
  for (;;) {
    const serial = randomBytes(MAX_SERIAL_OCTETS);
    serial[0] &= 0x7f;
    if (serial.some((octet) => octet !== 0)) return serial;
  }
}

/** Bytes as lowercase hex pairs joined by colons (`0a:1b`), as Vault prints serials and key ids. */
export function colonHex(bytes: Uint8Array): string {
  return Array.from(bytes, (octet) => octet.toString(16).padStart(2, '0')).join(':');
}

/** A serial as Vault prints it: lower-case hex octets joined by ':', leading zero octets dropped (Go's big.Int.Bytes). */
export function serialToVault(serial: Buffer): string {
  let start = 0;
  while (start < serial.length - 1 && serial[start] === 0) start++;
  return colonHex(serial.subarray(start));
}
