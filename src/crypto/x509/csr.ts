/**
 * PKCS#10 certificate requests (RFC 2986): building one for intermediate/generate and parsing and
 * verifying one sent to sign/sign-intermediate.
 *
 * Invariants:
 * - parseCsr returns only requests whose self-signature verifies under the enclosed key; every
 *   failure (not DER, trailing bytes, wrong version, unsupported key or signature algorithm, bad
 *   signature) throws an Error whose message starts with "invalid certificate request";
 * - requested extensions are read from the PKCS#9 extensionRequest attribute only, and kept raw in
 *   `extensionsDer` exactly as the requester encoded them;
 * - buildCsr requests a SAN (critical when the subject is empty) and, when asked, a critical
 *   BasicConstraints cA TRUE without a path length, and always writes the attributes field (A0 00
 *   when there is nothing to request), as OpenSSL and Go do.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { Attribute, BasicConstraints, Extension, Extensions, SubjectAlternativeName, id_ce_basicConstraints, id_ce_subjectAltName } from '@peculiar/asn1-x509';
import { TAG_CONTEXT_0_CONSTRUCTED, TAG_INTEGER, TAG_SEQUENCE, childElements, derBitString, derElement, derSequence, readSingleElement } from './der';
import { extension, parseExtensions } from './extensions';
import { generalNamesOf, hasSubjectAltNames, type SubjectAltNames } from './general-names';
import type { Signer } from '../signer';
import { distinguishedNameOf, encodeName, type DistinguishedName } from './names';
import { fromPem } from './pem';
import { signatureSchemeFor, verifySignature } from './signing';

/** PKCS#9 extensionRequest. */
export const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

export interface ParsedCsr {
  subject: DistinguishedName;
  subjectDer: Buffer;
  /** Any key node can read; whether the engine may sign for it is the caller's check (keyInfo). */
  publicKey: KeyObject;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emails: string[];
  /** The request asks for basicConstraints cA TRUE. */
  requestsCa: boolean;
  /** Each requested Extension's DER, in request order. */
  extensionsDer: Buffer[];
}

const VERSION_V1_DER = derElement(TAG_INTEGER, [Buffer.from([0])]);

/** A PKCS#10 request for the signer's key, self-signed through it (Vault's default digest for the key). */
export async function buildCsr(subject: DistinguishedName, signer: Signer, sans: SubjectAltNames = {}, requestCa = false): Promise<Buffer> {
  const subjectDer = encodeName(subject);
  const requested = [];
  if (hasSubjectAltNames(sans)) {
    requested.push(extension(id_ce_subjectAltName, subjectDer.length === 2, new SubjectAlternativeName(generalNamesOf(sans))));
  }
  if (requestCa) requested.push(extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true })));
  const attributes =
    requested.length === 0
      ? []
      : [Buffer.from(AsnConvert.serialize(new Attribute({ type: OID_EXTENSION_REQUEST, values: [AsnConvert.serialize(new Extensions(requested))] })))];
  const info = derSequence([
    VERSION_V1_DER,
    subjectDer,
    signer.publicKey.export({ type: 'spki', format: 'der' }),
    derElement(TAG_CONTEXT_0_CONSTRUCTED, attributes),
  ]);
  const scheme = signatureSchemeFor(signer.publicKey);
  return derSequence([info, scheme.algorithmDer, derBitString(await signer.sign(scheme, info))]);
}

function invalid(reason: string): Error {
  return new Error(`invalid certificate request: ${reason}`);
}

function csrDer(pemOrDer: string | Buffer): Buffer {
  // DER starts with a SEQUENCE tag; anything else is taken as PEM text.
  if (Buffer.isBuffer(pemOrDer) && pemOrDer[0] === TAG_SEQUENCE) return pemOrDer;
  const text = typeof pemOrDer === 'string' ? pemOrDer : pemOrDer.toString('utf8');
  const blocks = [...fromPem(text, 'CERTIFICATE REQUEST'), ...fromPem(text, 'NEW CERTIFICATE REQUEST')];
  if (blocks.length === 0) throw invalid('no CERTIFICATE REQUEST PEM block found');
  if (blocks.length > 1) throw invalid('more than one CERTIFICATE REQUEST PEM block');
  return blocks[0];
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Parses a CSR (PEM text or DER) and checks its self-signature. */
export function parseCsr(pemOrDer: string | Buffer): ParsedCsr {
  let der: Buffer;
  let infoFields: Buffer[];
  let infoDer: Buffer;
  let request: CertificationRequest;
  try {
    der = csrDer(pemOrDer);
    [infoDer] = childElements(der, readSingleElement(der, TAG_SEQUENCE, 'CSR'));
    if (infoDer === undefined) throw new Error('empty SEQUENCE');
    infoFields = childElements(infoDer, readSingleElement(infoDer, TAG_SEQUENCE, 'CertificationRequestInfo'));
    if (infoFields.length < 3) throw new Error('CertificationRequestInfo is missing fields');
    request = AsnConvert.parse(der, CertificationRequest);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('invalid certificate request')) throw error;
    throw invalid(`not a DER PKCS#10 request (${reasonOf(error)})`);
  }
  const info = request.certificationRequestInfo;
  if (info.version !== 0) throw invalid(`unsupported version ${info.version}`);
  const [, subjectDer, spkiDer] = infoFields;
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch (error) {
    throw invalid(`unsupported or malformed public key (${reasonOf(error)})`);
  }
  if (!verifySignature(request.signatureAlgorithm, publicKey, infoDer, Buffer.from(request.signature))) {
    throw invalid(`signature does not verify (algorithm ${request.signatureAlgorithm.algorithm})`);
  }

  const extensionsDer: Buffer[] = [];
  let extensionRequests = 0;
  for (const attribute of info.attributes ?? []) {
    if (attribute.type !== OID_EXTENSION_REQUEST) continue;
    for (const value of attribute.values) {
      extensionRequests++;
      const raw = Buffer.from(value);
      try {
        const requested = childElements(raw, readSingleElement(raw, TAG_SEQUENCE, 'extensionRequest'));
        extensionsDer.push(...requested.map((ext) => Buffer.from(ext)));
      } catch (error) {
        throw invalid(`malformed extensionRequest (${reasonOf(error)})`);
      }
    }
  }
  if (extensionRequests > 1) throw invalid('more than one extensionRequest');
  let requested;
  try {
    requested = parseExtensions(extensionsDer.map((ext) => AsnConvert.parse(ext, Extension)));
  } catch (error) {
    throw invalid(`malformed requested extension (${reasonOf(error)})`);
  }
  return {
    subject: distinguishedNameOf(info.subject),
    subjectDer: Buffer.from(subjectDer),
    publicKey,
    dnsNames: requested.dnsNames,
    ipAddresses: requested.ipAddresses,
    uris: requested.uris,
    emails: requested.emails,
    requestsCa: requested.isCa,
    extensionsDer,
  };
}
