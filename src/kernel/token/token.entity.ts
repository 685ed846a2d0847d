/** Tokens, keyed by the HMAC of the token; the accessor as HMAC (lookups) and barrier ciphertext (listing). */
import { Check, Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

@Entity({ name: 'tokens' })
@Unique('tokens_accessor_hmac_key', ['accessorHmac'])
@Index('tokens_parent_idx', ['parentTokenHmac'], { where: 'parent_token_hmac IS NOT NULL' })
@Index('tokens_expires_idx', ['expiresAt'], { where: 'expires_at IS NOT NULL' })
@Check('tokens_ttl_seconds_check', 'ttl_seconds >= 0')
@Check('tokens_explicit_max_ttl_seconds_check', 'explicit_max_ttl_seconds >= 0')
@Check('tokens_period_seconds_check', 'period_seconds >= 0')
@Check('tokens_uses_remaining_check', 'uses_remaining >= 0')
export class TokenEntity {
  @PrimaryColumn({ name: 'token_hmac', type: 'bytea', primaryKeyConstraintName: 'tokens_pkey' }) tokenHmac!: Buffer;
  @Column({ name: 'accessor_hmac', type: 'bytea' }) accessorHmac!: Buffer;
  @Column({ name: 'accessor_ciphertext', type: 'bytea' }) accessorCiphertext!: Buffer;
  @Column({ type: 'text', array: true }) policies!: string[];
  @Column({ name: 'token_type', type: 'text', default: 'service' }) tokenType!: string;
  @Column({ name: 'display_name', type: 'text' }) displayName!: string;
  @Column({ name: 'creation_path', type: 'text' }) creationPath!: string;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true }) expiresAt!: Date | null;
  @Column({ name: 'parent_token_hmac', type: 'bytea', nullable: true }) parentTokenHmac!: Buffer | null;
  @Column({ type: 'boolean', default: false }) orphan!: boolean;
  @Column({ name: 'ttl_seconds', type: 'integer', default: 0 }) ttlSeconds!: number;
  @Column({ name: 'explicit_max_ttl_seconds', type: 'integer', default: 0 }) explicitMaxTtlSeconds!: number;
  @Column({ name: 'period_seconds', type: 'integer', default: 0 }) periodSeconds!: number;
  @Column({ name: 'uses_remaining', type: 'integer', nullable: true }) usesRemaining!: number | null;
  @Column({ name: 'num_uses_initial', type: 'integer', default: 0 }) numUsesInitial!: number;
  @Column({ type: 'boolean', default: false }) renewable!: boolean;
  @Column({ name: 'max_expires_at', type: 'timestamptz', nullable: true }) maxExpiresAt!: Date | null;
  @Column({ type: 'jsonb', default: {} }) meta!: Record<string, string>;
  @Column({ name: 'bound_cidrs', type: 'text', array: true, default: [] }) boundCidrs!: string[];
  @Column({ name: 'role_name', type: 'text', nullable: true }) roleName!: string | null;
}

export const TOKEN_ENTITIES = [TokenEntity];
