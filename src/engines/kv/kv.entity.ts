/**
 * KV secrets: one `secrets` row per (mount, path), its versions (KV v2) in `secret_versions`, and a
 * v2 mount's settings. `secret_path` has the C collation (bytewise order, prefix scans on the unique
 * index). Values are barrier ciphertext bound to mount, path and version; a destroyed version has
 * none. Rows go with their mount, versions with their secret (ON DELETE CASCADE).
 */
import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { MountEntity } from '../../kernel/router/mount.entity';

@Entity({ name: 'secrets' })
@Unique('secrets_mount_uuid_secret_path_key', ['mountUuid', 'secretPath'])
@Check('secrets_secret_path_check', "secret_path <> '' AND right(secret_path, 1) <> '/'")
@Check('secrets_secret_type_check', "secret_type IN ('kv-v1', 'kv-v2')")
@Check('secrets_version_check', 'version >= 0')
export class SecretEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint', primaryKeyConstraintName: 'secrets_pkey' }) id!: string;
  @Column({ name: 'mount_uuid', type: 'uuid' }) mountUuid!: string;
  @Column({ name: 'secret_path', type: 'text', collation: 'C' }) secretPath!: string;
  @Column({ name: 'secret_type', type: 'text' }) secretType!: string;
  @Column({ name: 'encrypted_data', type: 'bytea', nullable: true }) encryptedData!: Buffer | null;
  @Column({ type: 'integer', default: 0 }) version!: number;
  @Column({ type: 'jsonb', default: {} }) metadata!: Record<string, unknown>;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'secrets_mount_uuid_fkey' })
  mount?: MountEntity;
}

@Entity({ name: 'secret_versions' })
@Check('secret_versions_version_check', 'version > 0')
@Check('secret_versions_check', 'destroyed = (encrypted_data IS NULL)')
export class SecretVersionEntity {
  @PrimaryColumn({ name: 'secret_id', type: 'bigint', primaryKeyConstraintName: 'secret_versions_pkey' }) secretId!: string;
  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'secret_versions_pkey' }) version!: number;
  @Column({ name: 'encrypted_data', type: 'bytea', nullable: true }) encryptedData!: Buffer | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'deletion_time', type: 'timestamptz', nullable: true }) deletionTime!: Date | null;
  @Column({ type: 'boolean', default: false }) destroyed!: boolean;

  @ManyToOne(() => SecretEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'secret_id', foreignKeyConstraintName: 'secret_versions_secret_id_fkey' })
  secret?: SecretEntity;
}

@Entity({ name: 'kv_mount_config' })
@Check('kv_mount_config_max_versions_check', 'max_versions >= 0')
@Check('kv_mount_config_delete_version_after_seconds_check', 'delete_version_after_seconds >= 0')
export class KvMountConfigEntity {
  @PrimaryColumn({ name: 'mount_uuid', type: 'uuid', primaryKeyConstraintName: 'kv_mount_config_pkey' }) mountUuid!: string;
  @Column({ name: 'max_versions', type: 'integer', default: 0 }) maxVersions!: number;
  @Column({ name: 'cas_required', type: 'boolean', default: false }) casRequired!: boolean;
  @Column({ name: 'delete_version_after_seconds', type: 'integer', default: 0 }) deleteVersionAfterSeconds!: number;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'kv_mount_config_mount_uuid_fkey' })
  mount?: MountEntity;
}

export const KV_ENTITIES = [SecretEntity, SecretVersionEntity, KvMountConfigEntity];
