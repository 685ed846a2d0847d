/** SQL for the PKI engine's `certificates` table: every certificate a mount issued or holds (no private keys: those are in pki_keys). */
import type { DataSource } from 'typeorm';
import { affectedRows } from '../../database/sql';

export type CertType = 'root_ca' | 'intermediate_ca' | 'leaf' | 'agent_client' | 'app_client' | 'admin_client';

export interface CertificateRecord {
  serialNumber: string;
  fingerprint: string;
  certificatePem: string;
  subject: string;
  issuer: string;
  issuerSerial: string | null;
  commonName: string;
  validFrom: Date;
  validUntil: Date;
  certType: CertType;
  keyUsage: string[];
  revoked: boolean;
  revokedAt: Date | null;
  revocationReason: string | null;
  entityId: string | null;
  entityType: string | null;
}

const COLUMNS = `serial_number, fingerprint, certificate_pem, subject, issuer, issuer_serial, common_name, valid_from, valid_until,
  cert_type, key_usage, revoked, revoked_at, revocation_reason, entity_id, entity_type`;

function toRecord(r: Record<string, unknown>): CertificateRecord {
  return {
    serialNumber: r.serial_number as string,
    fingerprint: r.fingerprint as string,
    certificatePem: r.certificate_pem as string,
    subject: r.subject as string,
    issuer: r.issuer as string,
    issuerSerial: r.issuer_serial as string | null,
    commonName: r.common_name as string,
    validFrom: r.valid_from as Date,
    validUntil: r.valid_until as Date,
    certType: r.cert_type as CertType,
    keyUsage: r.key_usage as string[],
    revoked: r.revoked as boolean,
    revokedAt: r.revoked_at as Date | null,
    revocationReason: r.revocation_reason as string | null,
    entityId: r.entity_id as string | null,
    entityType: r.entity_type as string | null,
  };
}

export class CertificateRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Stores a certificate (issuer keys are in pki_keys, through IssuerRepository). */
  async insert(mountUuid: string, c: Omit<CertificateRecord, 'revoked' | 'revokedAt' | 'revocationReason'>): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO certificates (mount_uuid, serial_number, fingerprint, certificate_pem, subject, issuer, issuer_serial, common_name,
         valid_from, valid_until, cert_type, key_usage, entity_id, entity_type)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [
        mountUuid,
        c.serialNumber,
        c.fingerprint,
        c.certificatePem,
        c.subject,
        c.issuer,
        c.issuerSerial,
        c.commonName,
        c.validFrom,
        c.validUntil,
        c.certType,
        c.keyUsage,
        c.entityId,
        c.entityType,
      ],
    );
  }

  async get(mountUuid: string, serial: string): Promise<CertificateRecord | undefined> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM certificates WHERE mount_uuid = $1 AND serial_number = $2`, [
      mountUuid,
      serial,
    ]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async serials(mountUuid: string): Promise<string[]> {
    const rows: { serial_number: string }[] = await this.dataSource.query(
      'SELECT serial_number FROM certificates WHERE mount_uuid = $1 ORDER BY serial_number',
      [mountUuid],
    );
    return rows.map((r) => r.serial_number);
  }

  /** Marks a certificate revoked once; the row as it is afterwards (undefined: unknown serial). */
  async revoke(mountUuid: string, serial: string, reason: string, at: Date): Promise<CertificateRecord | undefined> {
    await this.dataSource.query(
      'UPDATE certificates SET revoked = true, revoked_at = $3, revocation_reason = $4 WHERE mount_uuid = $1 AND serial_number = $2 AND NOT revoked',
      [mountUuid, serial, at, reason],
    );
    return this.get(mountUuid, serial);
  }

  /** The revoked certificates these issuers (ids, as issuer_serial holds them) signed that have not expired yet (a CRL's entries). */
  async revokedBy(mountUuid: string, issuerIds: string[], now: Date): Promise<{ serialNumber: string; revokedAt: Date }[]> {
    const rows: { serial_number: string; revoked_at: Date }[] = await this.dataSource.query(
      'SELECT serial_number, revoked_at FROM certificates WHERE mount_uuid = $1 AND issuer_serial = ANY($2) AND revoked AND valid_until > $3 ORDER BY revoked_at',
      [mountUuid, issuerIds, now],
    );
    return rows.map((r) => ({ serialNumber: r.serial_number, revokedAt: r.revoked_at }));
  }

  /** Drops the revoked or the unrevoked certificates, other than the mount's issuers', that expired before `before` (tidy). Gives how many. */
  async tidy(mountUuid: string, before: Date, which: 'revoked' | 'unrevoked'): Promise<number> {
    return affectedRows(
      this.dataSource,
      `DELETE FROM certificates c WHERE mount_uuid = $1 AND valid_until < $2 AND revoked = $3
         AND NOT EXISTS (SELECT 1 FROM pki_issuers i WHERE i.mount_uuid = c.mount_uuid AND i.serial_number = c.serial_number)`,
      [mountUuid, before, which === 'revoked'],
    );
  }
}
