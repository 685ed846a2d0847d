/**
 * The audit devices and the tamper-evident log.
 *
 * Invariants the entities cannot state (the migrations hold them; see migrations/1732900000000-audit.ts):
 * - `audit_logs` is partitioned by range on `timestamp` into monthly partitions `audit_logs_yYYYYmMM`,
 *   created by audit-log.repository.ts; its key includes `timestamp` because of that;
 * - UPDATE, DELETE and TRUNCATE on `audit_logs` and `audit_checkpoints` raise (ENABLE ALWAYS triggers);
 * - sequence numbers come from the writer holding the `audit_chain_head` row lock, never a sequence.
 */
import { Check, Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

@Entity({ name: 'audit_devices' })
@Unique('audit_devices_uuid_key', ['uuid'])
export class AuditDeviceEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'audit_devices_pkey' }) path!: string;
  @Column({ type: 'uuid' }) uuid!: string;
  @Column({ type: 'text' }) type!: string;
  @Column({ type: 'text', default: '' }) description!: string;
  @Column({ type: 'jsonb', default: {} }) options!: Record<string, string>;
  @Column({ type: 'boolean', default: false }) local!: boolean;
  @Column({ name: 'salt_ciphertext', type: 'bytea' }) saltCiphertext!: Buffer;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
}

/** The chain's head (one row, id 1) and where the log has been pruned to. */
@Entity({ name: 'audit_chain_head' })
@Check('audit_chain_head_id_check', 'id = 1')
export class AuditChainHeadEntity {
  @PrimaryColumn({ type: 'smallint', primaryKeyConstraintName: 'audit_chain_head_pkey' }) id!: number;
  @Column({ name: 'log_id', type: 'bytea' }) logId!: Buffer;
  @Column({ name: 'sequence_number', type: 'bigint' }) sequenceNumber!: string;
  @Column({ name: 'chain_hash', type: 'bytea' }) chainHash!: Buffer;
  @Column({ type: 'bytea', array: true, default: [] }) frontier!: Buffer[];
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
  @Column({ name: 'pruned_through', type: 'bigint', default: 0 }) prunedThrough!: string;
  @Column({ name: 'pruned_chain_hash', type: 'bytea', nullable: true }) prunedChainHash!: Buffer | null;
  @Column({ name: 'pruned_frontier', type: 'bytea', array: true, default: [] }) prunedFrontier!: Buffer[];
}

@Entity({ name: 'audit_logs' })
@Index('audit_logs_correlation', ['correlationId'])
export class AuditLogEntity {
  @PrimaryColumn({ name: 'sequence_number', type: 'bigint', primaryKeyConstraintName: 'audit_logs_pkey' }) sequenceNumber!: string;
  @PrimaryColumn({ type: 'timestamptz', primaryKeyConstraintName: 'audit_logs_pkey' }) timestamp!: Date;
  @Column({ name: 'event_id', type: 'uuid' }) eventId!: string;
  @Column({ name: 'event_type', type: 'text' }) eventType!: string;
  @Column({ name: 'actor_type', type: 'text', nullable: true }) actorType!: string | null;
  @Column({ name: 'actor_id', type: 'text', nullable: true }) actorId!: string | null;
  @Column({ name: 'actor_name', type: 'text', nullable: true }) actorName!: string | null;
  @Column({ name: 'secret_path', type: 'text', nullable: true }) secretPath!: string | null;
  @Column({ name: 'secret_mount', type: 'text', nullable: true }) secretMount!: string | null;
  @Column({ type: 'text', nullable: true }) operation!: string | null;
  @Column({ name: 'access_granted', type: 'boolean', nullable: true }) accessGranted!: boolean | null;
  @Column({ name: 'policy_matched', type: 'text', nullable: true }) policyMatched!: string | null;
  @Column({ name: 'denial_reason', type: 'text', nullable: true }) denialReason!: string | null;
  @Column({ name: 'source_ip', type: 'text', nullable: true }) sourceIp!: string | null;
  @Column({ name: 'correlation_id', type: 'text', nullable: true }) correlationId!: string | null;
  @Column({ name: 'previous_hash', type: 'bytea' }) previousHash!: Buffer;
  @Column({ name: 'current_hash', type: 'bytea' }) currentHash!: Buffer;
  @Column({ type: 'bytea', nullable: true }) signature!: Buffer | null;
  @Column({ name: 'entry_bytes', type: 'bytea' }) entryBytes!: Buffer;
  @Column({ name: 'event_data', type: 'jsonb' }) eventData!: Record<string, unknown>;
}

@Entity({ name: 'audit_checkpoints' })
export class AuditCheckpointEntity {
  @PrimaryColumn({ name: 'tree_size', type: 'bigint', primaryKeyConstraintName: 'audit_checkpoints_pkey' }) treeSize!: string;
  @Column({ name: 'root_hash', type: 'bytea' }) rootHash!: Buffer;
  @Column({ name: 'chain_hash', type: 'bytea' }) chainHash!: Buffer;
  @Column({ name: 'previous_tree_size', type: 'bigint' }) previousTreeSize!: string;
  @Column({ type: 'bytea' }) leaves!: Buffer;
  @Column({ name: 'signed_at', type: 'timestamptz' }) signedAt!: Date;
  @Column({ type: 'bytea' }) signature!: Buffer;
}

export const AUDIT_ENTITIES = [AuditDeviceEntity, AuditChainHeadEntity, AuditLogEntity, AuditCheckpointEntity];
