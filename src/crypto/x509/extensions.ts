/**
 * Certificate extensions: building the list for a new certificate and reading one back.
 *
 * Invariants (building):
 * - extensions come in Go's x509.CreateCertificate order: key usage, extended key usage, basic
 *   constraints, subject and authority key identifiers, authority information access, SAN,
 *   CRL distribution points; each appears at most once;
 * - BasicConstraints is always present and critical (cA FALSE is the empty SEQUENCE, DER omits the
 *   default); pathLenConstraint only on a CA with a limit >= 0;
 * - KeyUsage is critical and present only when a usage is asked, as a DER named bit list (trailing
 *   zero bits dropped); EKU only when an OID is asked;
 * - SAN is present when any name is, critical exactly when the subject is empty (RFC 5280 4.2.1.6);
 * - AIA lists OCSP servers before issuing-certificate URLs; CRL DP has one point per URL.
 * Invariants (reading): a repeated extension OID throws (RFC 5280 4.2); unknown ones are skipped.
 */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AccessDescription,
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CRLDistributionPoints,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  Extension,
  GeneralName,
  KeyIdentifier,
  KeyUsage as KeyUsageBits,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  id_ad_caIssuers,
  id_ad_ocsp,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_cRLDistributionPoints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_pe_authorityInfoAccess,
} from '@peculiar/asn1-x509';
import { generalNamesOf, hasSubjectAltNames, subjectAltNamesOf, type ParsedSubjectAltNames, type SubjectAltNames } from './general-names';

export type KeyUsage =
  | 'digitalSignature'
  | 'contentCommitment'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

/** KeyUsage names in bit order (RFC 5280 4.2.1.3: digitalSignature is bit 0). */
export const KEY_USAGE_BITS: readonly KeyUsage[] = [
  'digitalSignature',
  'contentCommitment',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

type EkuName = 'serverAuth' | 'clientAuth' | 'codeSigning' | 'emailProtection' | 'timeStamping' | 'ocspSigning';

/** Extended key usage OIDs (RFC 5280 4.2.1.12). */
export const EKU = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const satisfies Record<EkuName, string>;

const OID_PATTERN = /^[0-2](\.(0|[1-9][0-9]*))+$/;

export interface CertificateExtensionsSpec extends SubjectAltNames {
  isCa: boolean;
  maxPathLength?: number;
  keyUsage: readonly KeyUsage[];
  extKeyUsage: readonly string[];
  subjectIsEmpty: boolean;
  subjectKeyId: Buffer;
  authorityKeyId: Buffer;
  issuingCertificateUrls?: string[];
  ocspServers?: string[];
  crlDistributionPoints?: string[];
}

export interface ParsedExtensions extends ParsedSubjectAltNames {
  isCa: boolean;
  /** Absent when there is no limit (or the certificate is no CA). */
  maxPathLength?: number;
  keyUsage: KeyUsage[];
  extKeyUsage: string[];
  subjectKeyId?: Buffer;
  authorityKeyId?: Buffer;
  issuingCertificateUrls: string[];
  ocspServers: string[];
  crlDistributionPoints: string[];
  /** Every extension's OID and extnValue contents (the DER of its value), in certificate order. */
  rawExtensions: { oid: string; value: Buffer }[];
}

export function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** KeyUsage as a DER named bit list: as many octets as the highest bit set needs. */
export function keyUsageBits(usages: readonly KeyUsage[]): KeyUsageBits {
  let highest = -1;
  const octets = Buffer.alloc(2);
  for (const usage of usages) {
    const bit = KEY_USAGE_BITS.indexOf(usage);
    if (bit < 0) throw new Error(`unknown key usage "${String(usage)}"`);
    octets[bit >> 3] |= 0x80 >> (bit & 7);
    highest = Math.max(highest, bit);
  }
  return new KeyUsageBits(octets.subarray(0, (highest >> 3) + 1), 7 - (highest & 7));
}

function keyUsagesOf(bits: KeyUsageBits): KeyUsage[] {
  const octets = new Uint8Array(bits.value);
  const isSet = (bit: number) => bit >> 3 < octets.length && (octets[bit >> 3] & (0x80 >> (bit & 7))) !== 0;
  return KEY_USAGE_BITS.filter((_, bit) => isSet(bit));
}

function uriName(uri: string): GeneralName {
  return generalNamesOf({ uris: [uri] })[0];
}

/**
 * Encoded extensions that many certificates share (key usages, EKUs, basic constraints, one
 * issuer's AKI, its URLs) are kept here under their kind and exact inputs (JSON, so no two input
 * lists share a key): encoding is most of the cost of a certificate. Entries are immutable DER;
 * the map is emptied when it reaches its bound.
 */
const sharedExtensionDer = new Map<string, Buffer>();
const SHARED_EXTENSION_LIMIT = 1024;

function encoded(ext: Extension): Buffer {
  return Buffer.from(AsnConvert.serialize(ext));
}

function shared(kind: string, inputs: unknown, build: () => Extension): Buffer {
  const key = `${kind}:${JSON.stringify(inputs)}`;
  let der = sharedExtensionDer.get(key);
  if (der === undefined) {
    der = encoded(build());
    if (sharedExtensionDer.size >= SHARED_EXTENSION_LIMIT) sharedExtensionDer.clear();
    sharedExtensionDer.set(key, der);
  }
  return der;
}

function accessDescription(accessMethod: string, url: string): AccessDescription {
  return new AccessDescription({ accessMethod, accessLocation: uriName(url) });
}

/** The Extension DERs of a new certificate, in order (see the invariants above). */
export function certificateExtensionsDer(spec: CertificateExtensionsSpec): Buffer[] {
  const { keyUsage, extKeyUsage, isCa, authorityKeyId } = spec;
  const extensions: Buffer[] = [];
  if (keyUsage.length > 0) {
    extensions.push(shared('ku', keyUsage, () => extension(id_ce_keyUsage, true, keyUsageBits(keyUsage))));
  }
  if (extKeyUsage.length > 0) {
    extensions.push(
      shared('eku', extKeyUsage, () => {
        for (const oid of extKeyUsage) if (!OID_PATTERN.test(oid)) throw new Error(`"${oid}" is not an OID`);
        return extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([...extKeyUsage]));
      }),
    );
  }
  const maxPathLength = spec.maxPathLength ?? -1;
  if (!Number.isInteger(maxPathLength) || maxPathLength < -1) throw new Error(`invalid max path length ${maxPathLength}`);
  const pathLenConstraint = isCa && maxPathLength >= 0 ? maxPathLength : undefined;
  extensions.push(
    shared('bc', [isCa, pathLenConstraint ?? null], () => extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: isCa, pathLenConstraint }))),
  );
  extensions.push(encoded(extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(spec.subjectKeyId))));
  extensions.push(
    shared('aki', authorityKeyId.toString('hex'), () =>
      extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(authorityKeyId) })),
    ),
  );
  const ocspServers = spec.ocspServers ?? [];
  const issuingCertificateUrls = spec.issuingCertificateUrls ?? [];
  if (ocspServers.length + issuingCertificateUrls.length > 0) {
    extensions.push(
      shared('aia', [ocspServers, issuingCertificateUrls], () => {
        const access = [
          ...ocspServers.map((url) => accessDescription(id_ad_ocsp, url)),
          ...issuingCertificateUrls.map((url) => accessDescription(id_ad_caIssuers, url)),
        ];
        return extension(id_pe_authorityInfoAccess, false, new AuthorityInfoAccessSyntax(access));
      }),
    );
  }
  if (hasSubjectAltNames(spec)) {
    const names = new SubjectAlternativeName(generalNamesOf(spec));
    extensions.push(encoded(extension(id_ce_subjectAltName, spec.subjectIsEmpty, names)));
  }
  const crlUrls = spec.crlDistributionPoints ?? [];
  if (crlUrls.length > 0) {
    extensions.push(
      shared('crl', crlUrls, () => {
        const points = crlUrls.map((url) => new DistributionPoint({ distributionPoint: new DistributionPointName({ fullName: [uriName(url)] }) }));
        return extension(id_ce_cRLDistributionPoints, false, new CRLDistributionPoints(points));
      }),
    );
  }
  return extensions;
}

/** Rejects a list naming one extension twice (RFC 5280 4.2). */
export function assertDistinctExtensions(extensions: readonly Extension[]): void {
  const seen = new Set<string>();
  for (const ext of extensions) {
    if (seen.has(ext.extnID)) throw new Error(`extension ${ext.extnID} appears more than once`);
    seen.add(ext.extnID);
  }
}

function uriOf(name: GeneralName): string[] {
  return name.uniformResourceIdentifier === undefined ? [] : [name.uniformResourceIdentifier];
}

export function parseExtensions(extensions: readonly Extension[]): ParsedExtensions {
  assertDistinctExtensions(extensions);
  const parsed: ParsedExtensions = {
    isCa: false,
    keyUsage: [],
    extKeyUsage: [],
    dnsNames: [],
    ipAddresses: [],
    uris: [],
    emails: [],
    issuingCertificateUrls: [],
    ocspServers: [],
    crlDistributionPoints: [],
    rawExtensions: [],
  };
  for (const ext of extensions) {
    const value = ext.extnValue.buffer;
    parsed.rawExtensions.push({ oid: ext.extnID, value: Buffer.from(value) });
    switch (ext.extnID) {
      case id_ce_basicConstraints: {
        const constraints = AsnConvert.parse(value, BasicConstraints);
        parsed.isCa = constraints.cA;
        if (constraints.cA && constraints.pathLenConstraint !== undefined) parsed.maxPathLength = constraints.pathLenConstraint;
        break;
      }
      case id_ce_keyUsage:
        parsed.keyUsage = keyUsagesOf(AsnConvert.parse(value, KeyUsageBits));
        break;
      case id_ce_extKeyUsage:
        parsed.extKeyUsage = [...AsnConvert.parse(value, ExtendedKeyUsage)];
        break;
      case id_ce_subjectKeyIdentifier:
        parsed.subjectKeyId = Buffer.from(AsnConvert.parse(value, SubjectKeyIdentifier).buffer);
        break;
      case id_ce_authorityKeyIdentifier: {
        const keyIdentifier = AsnConvert.parse(value, AuthorityKeyIdentifier).keyIdentifier;
        if (keyIdentifier !== undefined) parsed.authorityKeyId = Buffer.from(keyIdentifier.buffer);
        break;
      }
      case id_ce_subjectAltName:
        Object.assign(parsed, subjectAltNamesOf(AsnConvert.parse(value, SubjectAlternativeName)));
        break;
      case id_pe_authorityInfoAccess:
        for (const access of AsnConvert.parse(value, AuthorityInfoAccessSyntax)) {
          if (access.accessMethod === id_ad_ocsp) parsed.ocspServers.push(...uriOf(access.accessLocation));
          if (access.accessMethod === id_ad_caIssuers) parsed.issuingCertificateUrls.push(...uriOf(access.accessLocation));
        }
        break;
      case id_ce_cRLDistributionPoints:
        for (const point of AsnConvert.parse(value, CRLDistributionPoints)) {
          for (const name of point.distributionPoint?.fullName ?? []) parsed.crlDistributionPoints.push(...uriOf(name));
        }
        break;
    }
  }
  return parsed;
}
