/**
 * Leases: one row per secret handed out with a TTL, kept after revocation (revoked = true) until
 * tidied. `credentials_ciphertext` is barrier ciphertext bound to the lease id. No foreign key to
 * mounts or tokens: a lease outlives neither by cascade but is revoked by the expiration manager.
 */
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ name: 'leases' })
@Index('leases_due', ['expiresAt'], { where: 'NOT revoked' })
@Index('leases_token', ['tokenHmac'], { where: 'NOT revoked' })
// The migration builds it with text_pattern_ops (prefix scans); TypeORM has no operator classes.
@Index('leases_prefix', ['leaseId'])
export class LeaseEntity {
  @PrimaryColumn({ name: 'lease_id', type: 'text', primaryKeyConstraintName: 'leases_pkey' }) leaseId!: string;
  @Column({ name: 'secret_path', type: 'text' }) secretPath!: string;
  @Column({ name: 'mount_uuid', type: 'uuid' }) mountUuid!: string;
  @Column({ name: 'engine_type', type: 'text' }) engineType!: string;
  @Column({ name: 'token_hmac', type: 'bytea', nullable: true }) tokenHmac!: Buffer | null;
  @Column({ name: 'display_name', type: 'text', default: '' }) displayName!: string;
  @Column({ name: 'issued_at', type: 'timestamptz' }) issuedAt!: Date;
  @Column({ name: 'expires_at', type: 'timestamptz' }) expiresAt!: Date;
  @Column({ name: 'max_expires_at', type: 'timestamptz' }) maxExpiresAt!: Date;
  @Column({ name: 'ttl_seconds', type: 'integer' }) ttlSeconds!: number;
  @Column({ type: 'boolean' }) renewable!: boolean;
  @Column({ name: 'renewed_count', type: 'integer', default: 0 }) renewedCount!: number;
  @Column({ name: 'last_renewed_at', type: 'timestamptz', nullable: true }) lastRenewedAt!: Date | null;
  @Column({ type: 'boolean', default: false }) revoked!: boolean;
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true }) revokedAt!: Date | null;
  @Column({ name: 'revocation_reason', type: 'text', nullable: true }) revocationReason!: string | null;
  @Column({ name: 'credentials_ciphertext', type: 'bytea' }) credentialsCiphertext!: Buffer;
  @Column({ name: 'engine_metadata', type: 'jsonb', default: {} }) engineMetadata!: Record<string, unknown>;
  @Column({ name: 'source_ip', type: 'text', nullable: true }) sourceIp!: string | null;
  @Column({ name: 'correlation_id', type: 'text', nullable: true }) correlationId!: string | null;
  @Column({ name: 'revoke_attempts', type: 'integer', default: 0 }) revokeAttempts!: number;
  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true }) nextAttemptAt!: Date | null;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  @Column({ type: 'boolean', default: false }) irrevocable!: boolean;
  /** The process (node registry row) that claimed the lease for revocation. */
  @Column({ name: 'claimed_node_id', type: 'text', nullable: true }) claimedNodeId!: string | null;
  @Column({ name: 'claimed_worker_id', type: 'integer', nullable: true }) claimedWorkerId!: number | null;
}

export const LEASE_ENTITIES = [LeaseEntity];
