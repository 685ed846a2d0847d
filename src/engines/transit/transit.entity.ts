/**
 * The transit engine's tables, per mount (rows go with it, ON DELETE CASCADE): a named key's policy
 * (`transit_keys`) and each version's key material (`transit_key_versions`, barrier ciphertext bound
 * to mount, name and version: TRANSIT_KEY_MATERIAL). Mirrors migration 1734070000000.
 */
import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { MountEntity } from '../../kernel/router/mount.entity';

@Entity({ name: 'transit_keys' })
@Check(
  'transit_keys_type_check',
  "type IN ('aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305', 'ed25519', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'hmac', 'managed_key')",
)
@Check('transit_keys_kdf_check', 'kdf IN (0, 1)')
@Check('transit_keys_auto_rotate_period_check', 'auto_rotate_period = 0 OR auto_rotate_period >= 3600')
@Check('transit_keys_convergent_check', 'NOT convergent_encryption OR derived')
@Check('transit_keys_auto_rotate_after_operations_check', 'auto_rotate_after_operations >= 0')
export class TransitKeyEntity {
  @PrimaryColumn({ name: 'mount_uuid', type: 'uuid', primaryKeyConstraintName: 'transit_keys_pkey' }) mountUuid!: string;
  @PrimaryColumn({ type: 'text', collation: 'C', primaryKeyConstraintName: 'transit_keys_pkey' }) name!: string;
  @Column({ type: 'text' }) type!: string;
  @Column({ name: 'latest_version', type: 'integer' }) latestVersion!: number;
  @Column({ name: 'min_decryption_version', type: 'integer', default: 1 }) minDecryptionVersion!: number;
  @Column({ name: 'min_encryption_version', type: 'integer', default: 0 }) minEncryptionVersion!: number;
  @Column({ name: 'deletion_allowed', type: 'boolean', default: false }) deletionAllowed!: boolean;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ type: 'boolean', default: false }) derived!: boolean;
  /** Vault's KDF number: 0 hmac-sha256 counter mode (old keys), 1 hkdf_sha256. */
  @Column({ type: 'integer', default: 1 }) kdf!: number;
  @Column({ name: 'convergent_encryption', type: 'boolean', default: false }) convergentEncryption!: boolean;
  /** The policy's convergent version (Vault's; -1 = per version); a version's own takes precedence when not 0. */
  @Column({ name: 'convergent_version', type: 'integer', default: 0 }) convergentVersion!: number;
  @Column({ type: 'boolean', default: false }) exportable!: boolean;
  @Column({ name: 'allow_plaintext_backup', type: 'boolean', default: false }) allowPlaintextBackup!: boolean;
  /** Seconds; 0 = never. */
  @Column({ name: 'auto_rotate_period', type: 'integer', default: 0 }) autoRotatePeriod!: number;
  /** The hmac type's key length in bytes (0 for other types). */
  @Column({ name: 'key_size', type: 'integer', default: 0 }) keySize!: number;
  /** Versions below it were trimmed (0: none). */
  @Column({ name: 'min_available_version', type: 'integer', default: 0 }) minAvailableVersion!: number;
  @Column({ name: 'imported_key', type: 'boolean', default: false }) importedKey!: boolean;
  @Column({ name: 'allow_imported_key_rotation', type: 'boolean', default: false }) allowImportedKeyRotation!: boolean;
  @Column({ name: 'managed_key_name', type: 'text', nullable: true }) managedKeyName!: string | null;
  @Column({ name: 'managed_key_id', type: 'uuid', nullable: true }) managedKeyId!: string | null;
  /** Vault's backup_info / restore_info: {time (RFC 3339), version}. */
  @Column({ name: 'backup_info', type: 'jsonb', nullable: true }) backupInfo!: { time: string; version: number } | null;
  @Column({ name: 'restore_info', type: 'jsonb', nullable: true }) restoreInfo!: { time: string; version: number } | null;
  /** Rotate once the latest version has done this many operations (0: no usage policy). */
  @Column({ name: 'auto_rotate_after_operations', type: 'bigint', default: 0 }) autoRotateAfterOperations!: string;
  /** Automatic rotations that failed since the last one that succeeded. */
  @Column({ name: 'failed_rotations', type: 'integer', default: 0 }) failedRotations!: number;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'transit_keys_mount_uuid_fkey' })
  mount?: MountEntity;
}

@Entity({ name: 'transit_key_versions' })
@Check('transit_key_versions_version_check', 'version > 0')
export class TransitKeyVersionEntity {
  @PrimaryColumn({ name: 'mount_uuid', type: 'uuid', primaryKeyConstraintName: 'transit_key_versions_pkey' }) mountUuid!: string;
  @PrimaryColumn({ type: 'text', collation: 'C', primaryKeyConstraintName: 'transit_key_versions_pkey' }) name!: string;
  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'transit_key_versions_pkey' }) version!: number;
  @Column({
    name: 'key_ciphertext',
    type: 'bytea',
    comment: 'barrier ciphertext of the key version (JSON key and hmac_key, or a raw 32-byte AES key), bound to mount, name and version',
  })
  keyCiphertext!: Buffer;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  /** What the key read shows for an asymmetric version (PEM SPKI, or base64 for ed25519). */
  @Column({ name: 'public_key', type: 'text', nullable: true }) publicKey!: string | null;
  @Column({ name: 'convergent_version', type: 'integer', default: 0 }) convergentVersion!: number;
  /** Imported as a public key only: verifies and encrypts, never signs or decrypts. */
  @Column({ name: 'public_key_only', type: 'boolean', default: false }) publicKeyOnly!: boolean;
  /** Encryptions and signatures counted with this version (written in batches: transit-usage.ts). */
  @Column({ type: 'bigint', default: 0 }) operations!: string;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'transit_key_versions_mount_uuid_fkey' })
  mount?: MountEntity;
}

/** The mount's settings: `config/keys` disable_upsert and `cache-config` size (0: unbounded). */
@Entity({ name: 'transit_mount_config' })
@Check('transit_mount_config_cache_size_check', 'cache_size = 0 OR cache_size >= 10')
export class TransitMountConfigEntity {
  @PrimaryColumn({ name: 'mount_uuid', type: 'uuid', primaryKeyConstraintName: 'transit_mount_config_pkey' }) mountUuid!: string;
  @Column({ name: 'disable_upsert', type: 'boolean', default: false }) disableUpsert!: boolean;
  @Column({ name: 'cache_size', type: 'integer', default: 0 }) cacheSize!: number;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'transit_mount_config_mount_uuid_fkey' })
  mount?: MountEntity;
}

/**
 * A key's history (issue 29): rotations with their reason and actor, lifecycle setting changes,
 * trims, creation, imports, restores and failed automatic rotations. Rows are only inserted.
 */
@Entity({ name: 'transit_key_history' })
@Index('transit_key_history_by_key', ['mountUuid', 'name', 'id'])
@Check('transit_key_history_event_check', "event IN ('create', 'rotation', 'config', 'trim', 'import', 'restore', 'rotation-failed')")
export class TransitKeyHistoryEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'transit_key_history_pkey' }) id!: string;
  @Column({ name: 'mount_uuid', type: 'uuid' }) mountUuid!: string;
  @Column({ type: 'text', collation: 'C' }) name!: string;
  @Column({ type: 'timestamptz', default: () => 'now()' }) at!: Date;
  @Column({ type: 'text' }) event!: string;
  @Column({ type: 'text' }) reason!: string;
  @Column({ type: 'text', nullable: true }) actor!: string | null;
  @Column({ name: 'from_version', type: 'integer', nullable: true }) fromVersion!: number | null;
  @Column({ name: 'to_version', type: 'integer', nullable: true }) toVersion!: number | null;
  @Column({ type: 'jsonb', nullable: true }) details!: Record<string, unknown> | null;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'transit_key_history_mount_uuid_fkey' })
  mount?: MountEntity;
}

export const TRANSIT_ENTITIES = [TransitKeyEntity, TransitKeyVersionEntity, TransitMountConfigEntity, TransitKeyHistoryEntity];
