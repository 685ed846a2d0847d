/** TypeORM entities for the kernel's tables (see migrations/). Secret columns hold barrier ciphertext. */
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'seal_config' })
export class SealConfigEntity {
  @PrimaryColumn({ type: 'smallint' }) id!: number;
  @Column({ name: 'seal_type', type: 'text' }) sealType!: string;
  @Column({ name: 'secret_shares', type: 'integer' }) secretShares!: number;
  @Column({ name: 'secret_threshold', type: 'integer' }) secretThreshold!: number;
  @Column({ name: 'root_key_wrapped', type: 'bytea' }) rootKeyWrapped!: Buffer;
  @Column({ name: 'cluster_name', type: 'text' }) clusterName!: string;
  @Column({ name: 'cluster_id', type: 'uuid' }) clusterId!: string;
  @Column({ name: 'initialized_at', type: 'timestamptz' }) initializedAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'barrier_keyring' })
export class BarrierKeyringEntity {
  @PrimaryColumn({ type: 'smallint' }) id!: number;
  @Column({ name: 'active_term', type: 'integer' }) activeTerm!: number;
  @Column({ name: 'keyring_ciphertext', type: 'bytea' }) keyringCiphertext!: Buffer;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'barrier_term_usage' })
export class BarrierTermUsageEntity {
  @PrimaryColumn({ type: 'integer' }) term!: number;
  @Column({ name: 'installed_at', type: 'timestamptz' }) installedAt!: Date;
  @Column({ type: 'bigint' }) encryptions!: string;
}

@Entity({ name: 'kernel_secrets' })
export class KernelSecretEntity {
  @PrimaryColumn({ type: 'text' }) name!: string;
  @Column({ name: 'value_ciphertext', type: 'bytea' }) valueCiphertext!: Buffer;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

@Entity({ name: 'tokens' })
export class TokenEntity {
  @PrimaryColumn({ name: 'token_hmac', type: 'bytea' }) tokenHmac!: Buffer;
  @Column({ name: 'accessor_hmac', type: 'bytea' }) accessorHmac!: Buffer;
  @Column({ name: 'accessor_ciphertext', type: 'bytea' }) accessorCiphertext!: Buffer;
  @Column({ type: 'text', array: true }) policies!: string[];
  @Column({ name: 'token_type', type: 'text' }) tokenType!: string;
  @Column({ name: 'display_name', type: 'text' }) displayName!: string;
  @Column({ name: 'creation_path', type: 'text' }) creationPath!: string;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true }) expiresAt!: Date | null;
  @Column({ name: 'parent_token_hmac', type: 'bytea', nullable: true }) parentTokenHmac!: Buffer | null;
  @Column({ type: 'boolean' }) orphan!: boolean;
  @Column({ name: 'ttl_seconds', type: 'integer' }) ttlSeconds!: number;
  @Column({ name: 'explicit_max_ttl_seconds', type: 'integer' }) explicitMaxTtlSeconds!: number;
  @Column({ name: 'period_seconds', type: 'integer' }) periodSeconds!: number;
  @Column({ name: 'uses_remaining', type: 'integer', nullable: true }) usesRemaining!: number | null;
  @Column({ name: 'num_uses_initial', type: 'integer' }) numUsesInitial!: number;
  @Column({ type: 'boolean' }) renewable!: boolean;
  @Column({ name: 'max_expires_at', type: 'timestamptz', nullable: true }) maxExpiresAt!: Date | null;
  @Column({ type: 'jsonb' }) meta!: Record<string, string>;
  @Column({ name: 'bound_cidrs', type: 'text', array: true }) boundCidrs!: string[];
}



@Entity({ name: 'policies' })
export class PolicyEntity {
  @PrimaryColumn({ type: 'text' }) name!: string;
  @Column({ name: 'policy_type', type: 'text' }) policyType!: string;
  @Column({ type: 'jsonb' }) document!: unknown;
  @Column({ type: 'text' }) raw!: string;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

export const KERNEL_ENTITIES = [SealConfigEntity, BarrierKeyringEntity, BarrierTermUsageEntity, KernelSecretEntity, TokenEntity, PolicyEntity];
