/**
 * The transit engine's tables, per mount (rows go with it, ON DELETE CASCADE): a named key's policy
 * (`transit_keys`) and each version's key material (`transit_key_versions`, barrier ciphertext bound
 * to mount, name and version: TRANSIT_KEY_MATERIAL). Mirrors migration 1734070000000.
 */
import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { MountEntity } from '../../kernel/router/mount.entity';

@Entity({ name: 'transit_keys' })
@Check('transit_keys_type_check', "type = 'aes256-gcm96'")
export class TransitKeyEntity {
  @PrimaryColumn({ name: 'mount_uuid', type: 'uuid', primaryKeyConstraintName: 'transit_keys_pkey' }) mountUuid!: string;
  @PrimaryColumn({ type: 'text', collation: 'C', primaryKeyConstraintName: 'transit_keys_pkey' }) name!: string;
  @Column({ type: 'text' }) type!: string;
  @Column({ name: 'latest_version', type: 'integer' }) latestVersion!: number;
  @Column({ name: 'min_decryption_version', type: 'integer', default: 1 }) minDecryptionVersion!: number;
  @Column({ name: 'min_encryption_version', type: 'integer', default: 0 }) minEncryptionVersion!: number;
  @Column({ name: 'deletion_allowed', type: 'boolean', default: false }) deletionAllowed!: boolean;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;

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
  @Column({ name: 'key_ciphertext', type: 'bytea', comment: 'barrier ciphertext of the key version, bound to mount, name and version' }) keyCiphertext!: Buffer;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'transit_key_versions_mount_uuid_fkey' })
  mount?: MountEntity;
}

export const TRANSIT_ENTITIES = [TransitKeyEntity, TransitKeyVersionEntity];
