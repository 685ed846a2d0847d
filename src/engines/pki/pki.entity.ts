/**
 * The pki engine's tables, per mount (rows go with it, ON DELETE CASCADE): every certificate it
 * issued or holds (`certificates`), its keys (`pki_keys`, barrier ciphertext bound to mount and key
 * id, or the id of a managed key on an HSM) and its issuers (`pki_issuers`, each a CA certificate with an optional key of the same mount).
 * Names are unique per mount when not empty; one key row per key material, one issuer per certificate.
 */
import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { MountEntity } from '../../kernel/router/mount.entity';

@Entity({ name: 'certificates' })
@Index('certificates_revoked', ['mountUuid', 'issuerSerial'], { where: 'revoked' })
@Index('certificates_expiry', ['mountUuid', 'validUntil'])
@Check('certificates_cert_type_check', "cert_type IN ('root_ca', 'intermediate_ca', 'leaf', 'agent_client', 'app_client', 'admin_client')")
export class CertificateEntity {
  @PrimaryColumn({ name: 'mount_uuid', type: 'uuid', primaryKeyConstraintName: 'certificates_pkey' }) mountUuid!: string;
  @PrimaryColumn({ name: 'serial_number', type: 'text', primaryKeyConstraintName: 'certificates_pkey' }) serialNumber!: string;
  @Column({ type: 'text' }) fingerprint!: string;
  @Column({ name: 'certificate_pem', type: 'text' }) certificatePem!: string;
  @Column({ type: 'text' }) subject!: string;
  @Column({ type: 'text' }) issuer!: string;
  @Column({ name: 'issuer_serial', type: 'text', nullable: true }) issuerSerial!: string | null;
  @Column({ name: 'common_name', type: 'text', default: '' }) commonName!: string;
  @Column({ name: 'valid_from', type: 'timestamptz' }) validFrom!: Date;
  @Column({ name: 'valid_until', type: 'timestamptz' }) validUntil!: Date;
  @Column({ name: 'cert_type', type: 'text' }) certType!: string;
  @Column({ name: 'key_usage', type: 'text', array: true, default: [] }) keyUsage!: string[];
  @Column({ type: 'boolean', default: false }) revoked!: boolean;
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true }) revokedAt!: Date | null;
  @Column({ name: 'revocation_reason', type: 'text', nullable: true }) revocationReason!: string | null;
  @Column({ name: 'entity_id', type: 'text', nullable: true }) entityId!: string | null;
  @Column({ name: 'entity_type', type: 'text', nullable: true }) entityType!: string | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'certificates_mount_uuid_fkey' })
  mount?: MountEntity;
}

@Entity({ name: 'pki_keys' })
@Index('pki_keys_name', ['mountUuid', 'keyName'], { unique: true, where: "key_name <> ''" })
// NULL fingerprints (migrated keys, fingerprinted when first compared) do not collide.
@Index('pki_keys_public_key', ['mountUuid', 'publicKeySha256'], { unique: true })
// The key is here (barrier ciphertext) or on an HSM (the managed key's id), never both.
@Check('pki_keys_material_check', '(private_key_encrypted IS NULL) <> (managed_key_id IS NULL)')
export class PkiKeyEntity {
  @PrimaryColumn({ name: 'mount_uuid', type: 'uuid', primaryKeyConstraintName: 'pki_keys_pkey' }) mountUuid!: string;
  @PrimaryColumn({ name: 'key_id', type: 'text', primaryKeyConstraintName: 'pki_keys_pkey' }) keyId!: string;
  @Column({ name: 'key_name', type: 'text', default: '' }) keyName!: string;
  @Column({ name: 'public_key_sha256', type: 'text', nullable: true }) publicKeySha256!: string | null;
  @Column({ name: 'private_key_encrypted', type: 'bytea', nullable: true }) privateKeyEncrypted!: Buffer | null;
  /** A key on an HSM: the managed key (sys/managed-keys) it is; no foreign key (the registry may lose it). */
  @Column({ name: 'managed_key_id', type: 'uuid', nullable: true }) managedKeyId!: string | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'pki_keys_mount_uuid_fkey' })
  mount?: MountEntity;
}

@Entity({ name: 'pki_issuers' })
@Index('pki_issuers_name', ['mountUuid', 'issuerName'], { unique: true, where: "issuer_name <> ''" })
@Index('pki_issuers_fingerprint', ['mountUuid', 'fingerprint'], { unique: true })
@Check('pki_issuers_leaf_not_after_behavior_check', "leaf_not_after_behavior IN ('err', 'truncate', 'permit', 'always_enforce_err')")
export class PkiIssuerEntity {
  @PrimaryColumn({ name: 'mount_uuid', type: 'uuid', primaryKeyConstraintName: 'pki_issuers_pkey' }) mountUuid!: string;
  @PrimaryColumn({ name: 'issuer_id', type: 'text', primaryKeyConstraintName: 'pki_issuers_pkey' }) issuerId!: string;
  @Column({ name: 'issuer_name', type: 'text', default: '' }) issuerName!: string;
  @Column({ name: 'key_id', type: 'text', nullable: true }) keyId!: string | null;
  @Column({ name: 'serial_number', type: 'text' }) serialNumber!: string;
  @Column({ name: 'certificate_pem', type: 'text' }) certificatePem!: string;
  @Column({ type: 'text' }) fingerprint!: string;
  /** NULL: the chain is still in the engine objects (issuers migrated from `certificates`), set when first read. */
  @Column({ name: 'chain_pem', type: 'text', array: true, nullable: true }) chainPem!: string[] | null;
  @Column({ name: 'manual_chain', type: 'text', array: true, default: [] }) manualChain!: string[];
  @Column({ name: 'leaf_not_after_behavior', type: 'text', default: 'err' }) leafNotAfterBehavior!: string;
  @Column({ type: 'text', array: true, default: ['read-only', 'issuing-certificates', 'crl-signing', 'ocsp-signing'] }) usage!: string[];
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'pki_issuers_mount_uuid_fkey' })
  mount?: MountEntity;

  /** No ON DELETE: a key an issuer uses cannot be deleted. */
  @ManyToOne(() => PkiKeyEntity)
  @JoinColumn([
    { name: 'mount_uuid', referencedColumnName: 'mountUuid', foreignKeyConstraintName: 'pki_issuers_mount_uuid_key_id_fkey' },
    { name: 'key_id', referencedColumnName: 'keyId' },
  ])
  key?: PkiKeyEntity | null;
}

export const PKI_ENTITIES = [CertificateEntity, PkiKeyEntity, PkiIssuerEntity];
