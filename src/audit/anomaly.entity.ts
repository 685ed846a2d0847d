/**
 * Credential anomalies found over the audit log: one row per (kind, subject type, subject, window
 * start); the cursor (one row, id 1) is the last audit sequence consumed; activity counts entries
 * per subject and UTC hour. Subjects are the audit log's HMACs or user names, never clear secrets.
 */
import { Check, Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn, Unique } from 'typeorm';

@Entity({ name: 'audit_anomalies' })
@Unique('audit_anomalies_once', ['kind', 'subjectType', 'subject', 'windowStart'])
// The migration builds it on detected_at DESC; TypeORM has no column order in indices.
@Index('audit_anomalies_by_detection', ['detectedAt'])
@Check('audit_anomalies_kind_check', "kind IN ('request_rate', 'error_rate', 'source_ips', 'unusual_hours', 'login_bruteforce')")
@Check('audit_anomalies_subject_type_check', "subject_type IN ('token_accessor', 'approle_role', 'user')")
@Check('audit_anomalies_severity_check', "severity IN ('low', 'medium', 'high', 'critical')")
export class AuditAnomalyEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'audit_anomalies_pkey' }) id!: string;
  @Column({ type: 'text' }) kind!: string;
  @Column({ name: 'subject_type', type: 'text' }) subjectType!: string;
  @Column({ type: 'text' }) subject!: string;
  @Column({ type: 'text' }) severity!: string;
  @Column({ name: 'window_start', type: 'timestamptz' }) windowStart!: Date;
  @Column({ name: 'window_end', type: 'timestamptz' }) windowEnd!: Date;
  @Column({ type: 'numeric' }) observed!: string;
  @Column({ type: 'numeric' }) threshold!: string;
  @Column({ type: 'jsonb', default: {} }) details!: Record<string, unknown>;
  @Column({ name: 'first_sequence', type: 'bigint' }) firstSequence!: string;
  @Column({ name: 'last_sequence', type: 'bigint' }) lastSequence!: string;
  @Column({ name: 'detected_at', type: 'timestamptz', default: () => 'now()' }) detectedAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
  @Column({ type: 'boolean', default: false }) resolved!: boolean;
  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true }) resolvedAt!: Date | null;
  @Column({ name: 'resolved_by', type: 'text', nullable: true }) resolvedBy!: string | null;
  @Column({ name: 'resolved_by_accessor', type: 'text', nullable: true }) resolvedByAccessor!: string | null;
  @Column({ name: 'resolution_note', type: 'text', nullable: true }) resolutionNote!: string | null;
}

@Entity({ name: 'audit_anomaly_cursor' })
@Check('audit_anomaly_cursor_id_check', 'id = 1')
export class AuditAnomalyCursorEntity {
  @PrimaryColumn({ type: 'smallint', primaryKeyConstraintName: 'audit_anomaly_cursor_pkey' }) id!: number;
  @Column({ name: 'last_sequence', type: 'bigint' }) lastSequence!: string;
  @Column({ name: 'scanned_at', type: 'timestamptz', nullable: true }) scannedAt!: Date | null;
}

@Entity({ name: 'audit_anomaly_activity' })
@Index('audit_anomaly_activity_by_hour', ['hourStart'])
export class AuditAnomalyActivityEntity {
  @PrimaryColumn({ name: 'subject_type', type: 'text', primaryKeyConstraintName: 'audit_anomaly_activity_pkey' }) subjectType!: string;
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'audit_anomaly_activity_pkey' }) subject!: string;
  @PrimaryColumn({ name: 'hour_start', type: 'timestamptz', primaryKeyConstraintName: 'audit_anomaly_activity_pkey' }) hourStart!: Date;
  @Column({ type: 'bigint' }) entries!: string;
}

export const ANOMALY_ENTITIES = [AuditAnomalyEntity, AuditAnomalyCursorEntity, AuditAnomalyActivityEntity];
