/** The `certificates` row of a certificate, read off its DER (one place, so every row says the same things the same way). */
import { createHash } from 'node:crypto';
import { certificateParts, serialToVault, toPem } from '../../crypto/x509/certificate';
import type { CertificateRecord, CertType } from './certificate.repository';

/** What a row needs from inside the certificate: as parsed, or as just encoded into it. */
export interface RecordFacts {
  serial: Buffer;
  commonName?: string;
  notBefore: Date;
  notAfter: Date;
}

type NewRecord = Omit<CertificateRecord, 'revoked' | 'revokedAt' | 'revocationReason'>;

export function certificateRecord(
  der: Buffer,
  certType: CertType,
  issuerSerial: string | null,
  keyUsage: string[],
  entity?: { id: string; type: string },
): NewRecord {
  return recordFromFacts(der, certificateParts(der), certType, issuerSerial, keyUsage, entity);
}

/**
 * The row of a certificate this engine just encoded from `facts`, without parsing it again (parsing
 * cost twice the encoding). The times are cut to whole seconds, as the certificate stores them.
 */
export function recordFromFacts(
  der: Buffer,
  facts: RecordFacts,
  certType: CertType,
  issuerSerial: string | null,
  keyUsage: string[],
  entity?: { id: string; type: string },
): NewRecord {
  const serialNumber = serialToVault(facts.serial);
  const commonName = facts.commonName ?? '';
  const wholeSeconds = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);
  return {
    serialNumber,
    fingerprint: createHash('sha256').update(der).digest('hex'),
    certificatePem: toPem(der, 'CERTIFICATE'),
    subject: commonName,
    issuer: issuerSerial ?? serialNumber,
    // A root is its own issuer.
    issuerSerial: issuerSerial ?? serialNumber,
    commonName,
    validFrom: wholeSeconds(facts.notBefore),
    validUntil: wholeSeconds(facts.notAfter),
    certType,
    keyUsage,
    entityId: entity?.id ?? null,
    entityType: entity?.type ?? null,
  };
}
