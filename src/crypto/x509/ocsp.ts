/**
 * OCSP (RFC 6960) requests parsed and responses built with @peculiar/asn1-ocsp, signed through the
 * issuer's Signer by the issuer itself (responder ID by key hash). Requests are never trusted beyond
 * their certIDs and nonce; a certID names our issuer only if both its name and key hashes match.
 */
import { createHash } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  KeyHash,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
} from '@peculiar/asn1-ocsp';
import { Certificate, CRLReason, Extension } from '@peculiar/asn1-x509';
import { serialInteger } from './crl';
import type { Signer } from '../signer';
import { exactBytes, issuerParts, issuerSignature, signDer } from './issuer-parts';

export interface OcspCertId {
  hashAlgorithm: string;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  serial: Buffer;
  /** The certID as parsed, echoed in the answer. */
  raw: CertID;
}

export type OcspStatus = { status: 'good' } | { status: 'revoked'; revokedAt: Date; reason?: number } | { status: 'unknown' };

export interface OcspResponseSpec {
  responderCertDer: Buffer;
  responderSigner: Signer;
  producedAt: Date;
  responses: { certId: OcspCertId; status: OcspStatus; thisUpdate: Date; nextUpdate?: Date }[];
  nonce?: Buffer;
}

const HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export function parseOcspRequest(der: Buffer): { certIds: OcspCertId[]; nonce?: Buffer } {
  const request = AsnConvert.parse(der, OCSPRequest);
  const certIds = request.tbsRequest.requestList.map((r) => ({
    hashAlgorithm: r.reqCert.hashAlgorithm.algorithm,
    issuerNameHash: Buffer.from(r.reqCert.issuerNameHash.buffer),
    issuerKeyHash: Buffer.from(r.reqCert.issuerKeyHash.buffer),
    serial: Buffer.from(r.reqCert.serialNumber),
    raw: r.reqCert,
  }));
  if (certIds.length === 0) throw new Error('an OCSP request without certificates');
  const nonceExt = request.tbsRequest.requestExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
  return { certIds, nonce: nonceExt ? Buffer.from(nonceExt.extnValue.buffer) : undefined };
}

/** Whether a certID names a certificate of this issuer: its Name and public key, hashed as the certID says. */
export function certIdMatchesIssuer(certId: OcspCertId, issuerCertDer: Buffer): boolean {
  const hash = HASHES[certId.hashAlgorithm];
  if (!hash) return false;
  const issuer = issuerParts(issuerCertDer);
  return (
    createHash(hash).update(issuer.nameDer).digest().equals(certId.issuerNameHash) &&
    createHash(hash).update(issuer.publicKeyBits).digest().equals(certId.issuerKeyHash)
  );
}

function certStatus(s: OcspStatus): CertStatus {
  if (s.status === 'good') return new CertStatus({ good: null });
  if (s.status === 'unknown') return new CertStatus({ unknown: null });
  return new CertStatus({ revoked: new RevokedInfo({ revocationTime: s.revokedAt, revocationReason: s.reason ? new CRLReason(s.reason) : undefined }) });
}

export async function buildOcspResponse(spec: OcspResponseSpec): Promise<Buffer> {
  const responder = issuerParts(spec.responderCertDer);
  const { scheme, algorithm } = issuerSignature(spec.responderSigner);
  const data = new ResponseData({
    responderID: new ResponderID({ byKey: new KeyHash(exactBytes(createHash('sha1').update(responder.publicKeyBits).digest())) }),
    producedAt: spec.producedAt,
    responses: spec.responses.map(
      (r) =>
        new SingleResponse({
          certID: new CertID({ ...r.certId.raw, serialNumber: serialInteger(r.certId.serial) }),
          certStatus: certStatus(r.status),
          thisUpdate: r.thisUpdate,
          nextUpdate: r.nextUpdate,
        }),
    ),
    responseExtensions: spec.nonce
      ? [new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(exactBytes(spec.nonce)) })]
      : undefined,
  });
  const basic = new BasicOCSPResponse({
    tbsResponseData: data,
    signatureAlgorithm: algorithm,
    signature: exactBytes(await signDer(spec.responderSigner, scheme, AsnConvert.serialize(data))),
    certs: [AsnConvert.parse(spec.responderCertDer, Certificate)],
  });
  const response = new OCSPResponse({
    responseStatus: OCSPResponseStatus.successful,
    responseBytes: new ResponseBytes({ responseType: id_pkix_ocsp_basic, response: new OctetString(AsnConvert.serialize(basic)) }),
  });
  return Buffer.from(AsnConvert.serialize(response));
}

export function ocspErrorResponse(status: 'malformedRequest' | 'internalError' | 'tryLater' | 'sigRequired' | 'unauthorized'): Buffer {
  return Buffer.from(AsnConvert.serialize(new OCSPResponse({ responseStatus: OCSPResponseStatus[status] })));
}
