/** The `certificates` row of a certificate, read off its DER (one place, so every row says the same things the same way). */
import { createHash } from 'node:crypto';
import { certificateParts, serialToVault, toPem } from '../../crypto/x509/certificate';
import type { CertificateRecord, CertType } from './certificate.repository';

export function certificateRecord(der: Buffer, certType: CertType, issuerSerial: string | null, keyUsage: string[], entity?: { id: string; type: string }): Omit<CertificateRecord, 'revoked' | 'revokedAt' | 'revocationReason'> {
  const parts = certificateParts(der);
  const serialNumber = serialToVault(parts.serial);
  const commonName = parts.commonName ?? '';
  return {
    serialNumber,
    fingerprint: createHash('sha256').update(der).digest('hex'),
    certificatePem: toPem(der, 'CERTIFICATE'),
    subject: commonName,
    issuer: issuerSerial ?? serialNumber,
    // A root is its own issuer.
    issuerSerial: issuerSerial ?? serialNumber,
    commonName,
    validFrom: parts.notBefore,
    validUntil: parts.notAfter,
    certType,
    keyUsage,
    entityId: entity?.id ?? null,
    entityType: entity?.type ?? null,
  };
}
