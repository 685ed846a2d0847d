/**
 * AppRole: roles (unique name and role ID per mount), their secret IDs and the tombstones of secret
 * IDs no longer stored. A secret ID is stored only as an HMAC; its accessor as an HMAC (lookups) and
 * barrier ciphertext (listing). `uses_remaining` NULL means unlimited. Roles go with their mount,
 * secret IDs and tombstones with their role (ON DELETE CASCADE).
 */
import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { MountEntity } from '../../kernel/router/mount.entity';

@Entity({ name: 'roles' })
@Unique('roles_mount_uuid_role_name_key', ['mountUuid', 'roleName'])
@Unique('roles_mount_uuid_role_id_key', ['mountUuid', 'roleId'])
@Check('roles_role_name_check', "role_name <> ''")
@Check('roles_role_id_check', "role_id <> ''")
@Check('roles_ttl_seconds_check', 'ttl_seconds >= 0')
@Check('roles_max_ttl_seconds_check', 'max_ttl_seconds >= 0')
@Check('roles_secret_id_num_uses_check', 'secret_id_num_uses >= 0')
@Check('roles_secret_id_ttl_seconds_check', 'secret_id_ttl_seconds >= 0')
export class AppRoleRoleEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint', primaryKeyConstraintName: 'roles_pkey' }) id!: string;
  @Column({ name: 'mount_uuid', type: 'uuid' }) mountUuid!: string;
  @Column({ name: 'role_name', type: 'text' }) roleName!: string;
  @Column({ name: 'role_id', type: 'text' }) roleId!: string;
  @Column({ type: 'text', array: true, default: [] }) policies!: string[];
  @Column({ name: 'token_policies', type: 'text', array: true, default: [] }) tokenPolicies!: string[];
  @Column({ name: 'ttl_seconds', type: 'integer', default: 0 }) ttlSeconds!: number;
  @Column({ name: 'max_ttl_seconds', type: 'integer', default: 0 }) maxTtlSeconds!: number;
  @Column({ name: 'bind_secret_id', type: 'boolean', default: true }) bindSecretId!: boolean;
  @Column({ name: 'secret_id_num_uses', type: 'integer', default: 0 }) secretIdNumUses!: number;
  @Column({ name: 'secret_id_ttl_seconds', type: 'integer', default: 0 }) secretIdTtlSeconds!: number;
  @Column({ name: 'bound_cidr_list', type: 'text', array: true, default: [] }) boundCidrList!: string[];
  @Column({ type: 'boolean', default: true }) enabled!: boolean;
  @Column({ name: 'token_settings', type: 'jsonb', default: {} }) tokenSettings!: Record<string, unknown>;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'roles_mount_uuid_fkey' })
  mount?: MountEntity;
}

@Entity({ name: 'secret_ids' })
@Unique('secret_ids_role_pk_secret_id_hmac_key', ['rolePk', 'secretIdHmac'])
@Unique('secret_ids_role_pk_accessor_hmac_key', ['rolePk', 'accessorHmac'])
@Index('secret_ids_expires_at', ['expiresAt'], { where: 'expires_at IS NOT NULL' })
@Check('secret_ids_uses_remaining_check', 'uses_remaining >= 0')
@Check('secret_ids_ttl_seconds_check', 'ttl_seconds >= 0')
export class SecretIdEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint', primaryKeyConstraintName: 'secret_ids_pkey' }) id!: string;
  @Column({ name: 'role_pk', type: 'bigint' }) rolePk!: string;
  @Column({ name: 'secret_id_hmac', type: 'bytea' }) secretIdHmac!: Buffer;
  @Column({ name: 'accessor_hmac', type: 'bytea' }) accessorHmac!: Buffer;
  @Column({ name: 'accessor_ciphertext', type: 'bytea' }) accessorCiphertext!: Buffer;
  @Column({ name: 'uses_remaining', type: 'integer', nullable: true }) usesRemaining!: number | null;
  @Column({ name: 'ttl_seconds', type: 'integer', default: 0 }) ttlSeconds!: number;
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true }) expiresAt!: Date | null;
  @Column({ name: 'cidr_list', type: 'text', array: true, default: [] }) cidrList!: string[];
  @Column({ name: 'token_bound_cidrs', type: 'text', array: true, default: [] }) tokenBoundCidrs!: string[];
  @Column({ type: 'jsonb', default: {} }) metadata!: Record<string, string>;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'last_updated_at', type: 'timestamptz', default: () => 'now()' }) lastUpdatedAt!: Date;

  @ManyToOne(() => AppRoleRoleEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'role_pk', foreignKeyConstraintName: 'secret_ids_role_pk_fkey' })
  role?: AppRoleRoleEntity;
}

@Entity({ name: 'secret_id_tombstones' })
export class SecretIdTombstoneEntity {
  @PrimaryColumn({ name: 'role_pk', type: 'bigint', primaryKeyConstraintName: 'secret_id_tombstones_pkey' }) rolePk!: string;
  @PrimaryColumn({ name: 'secret_id_hmac', type: 'bytea', primaryKeyConstraintName: 'secret_id_tombstones_pkey' }) secretIdHmac!: Buffer;
  @Column({ name: 'retired_at', type: 'timestamptz' }) retiredAt!: Date;

  @ManyToOne(() => AppRoleRoleEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'role_pk', foreignKeyConstraintName: 'secret_id_tombstones_role_pk_fkey' })
  role?: AppRoleRoleEntity;
}

export const APPROLE_ENTITIES = [AppRoleRoleEntity, SecretIdEntity, SecretIdTombstoneEntity];
