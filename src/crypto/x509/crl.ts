/**
 * Certificate revocation lists (RFC 5280 §5), encoded with @peculiar/asn1-x509 and signed through
 * the issuer's Signer: v2, the issuer's subject Name byte for byte, AuthorityKeyIdentifier and
 * CRLNumber; the signature AlgorithmIdentifier inside TBSCertList equals the outer one.
 */
import type { Signer } from '../signer';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  CertificateList,
  CRLNumber,
  CRLReason,
  Extension,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
  KeyIdentifier,
  RevokedCertificate,
  TBSCertList,
  Time,
  Version,
} from '@peculiar/asn1-x509';
import { exactBytes, issuerParts, issuerSignature, signDer } from './issuer-parts';

export interface RevokedEntry {
  serial: Buffer;
  revokedAt: Date;
  /** RFC 5280 CRLReason; absent: unspecified (no entry extension). */
  reason?: number;
}

export interface CrlSpec {
  issuerCertDer: Buffer;
  issuerSigner: Signer;
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: bigint;
  revoked: RevokedEntry[];
}

/** A serial as an INTEGER's content octets: no redundant leading zeros, a zero byte before a set top bit. */
export function serialInteger(serial: Buffer): ArrayBuffer {
  let start = 0;
  while (start < serial.length - 1 && serial[start] === 0) start++;
  const trimmed = serial.subarray(start);
  const bytes = trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : Buffer.from(trimmed);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
}

const extension = (extnID: string, value: unknown) => new Extension({ extnID, critical: false, extnValue: new OctetString(AsnConvert.serialize(value)) });

export async function buildCrl(spec: CrlSpec): Promise<Buffer> {
  const issuer = issuerParts(spec.issuerCertDer);
  const { scheme, algorithm } = issuerSignature(spec.issuerSigner);
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: algorithm,
    issuer: issuer.name,
    thisUpdate: new Time(spec.thisUpdate),
    nextUpdate: new Time(spec.nextUpdate),
    revokedCertificates: spec.revoked.length
      ? spec.revoked.map(
          (r) =>
            new RevokedCertificate({
              userCertificate: serialInteger(r.serial),
              revocationDate: new Time(r.revokedAt),
              crlEntryExtensions: r.reason ? [extension(id_ce_cRLReasons, new CRLReason(r.reason))] : undefined,
            }),
        )
      : undefined,
    crlExtensions: [
      extension(id_ce_authorityKeyIdentifier, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(exactBytes(issuer.keyId)) })),
      extension(id_ce_cRLNumber, new CRLNumber(Number(spec.crlNumber))),
    ],
  });
  const tbsDer = AsnConvert.serialize(tbs);
  const signature = await signDer(spec.issuerSigner, scheme, tbsDer);
  const list = new CertificateList({ tbsCertList: tbs, signatureAlgorithm: algorithm, signature: exactBytes(signature) });
  return Buffer.from(AsnConvert.serialize(list));
}

export function parseCrl(der: Buffer): { crlNumber: bigint; thisUpdate: Date; nextUpdate?: Date; revoked: { serial: Buffer; revokedAt: Date }[] } {
  const list = AsnConvert.parse(der, CertificateList);
  const tbs = list.tbsCertList;
  const numberExt = tbs.crlExtensions?.find((e) => e.extnID === id_ce_cRLNumber);
  return {
    crlNumber: numberExt ? BigInt(AsnConvert.parse(numberExt.extnValue, CRLNumber).value) : 0n,
    thisUpdate: tbs.thisUpdate.getTime(),
    nextUpdate: tbs.nextUpdate?.getTime(),
    revoked: (tbs.revokedCertificates ?? []).map((r) => ({ serial: Buffer.from(r.userCertificate), revokedAt: r.revocationDate.getTime() })),
  };
}
