import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Credential anomalies found by the job over the audit log.
 *
 * Invariants:
 * - one row per (kind, subject type, subject, window start): a window scanned again updates its row
 *   (observed value, severity and sequence range only grow) and never adds one;
 * - `audit_anomaly_cursor` (one row) holds the last audit sequence the job consumed, so each entry
 *   is counted once; the job moves it in the transaction that stores what it found;
 * - `audit_anomaly_activity` counts entries per subject and UTC hour for the unusual-hours history;
 *   rows older than the lookback are deleted by the job;
 * - nothing here holds a clear source address or token: subjects are the audit log's HMACs or
 *   user names, addresses only counts.
 */
export class AuditAnomalies1733000000000 implements MigrationInterface {
  name = 'AuditAnomalies1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_anomalies (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        kind text NOT NULL CHECK (kind IN ('request_rate', 'error_rate', 'source_ips', 'unusual_hours', 'login_bruteforce')),
        subject_type text NOT NULL CHECK (subject_type IN ('token_accessor', 'approle_role', 'user')),
        subject text NOT NULL,
        severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
        window_start timestamptz NOT NULL,
        window_end timestamptz NOT NULL,
        observed numeric NOT NULL,
        threshold numeric NOT NULL,
        details jsonb NOT NULL DEFAULT '{}',
        first_sequence bigint NOT NULL,
        last_sequence bigint NOT NULL,
        detected_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        resolved boolean NOT NULL DEFAULT false,
        resolved_at timestamptz NULL,
        resolved_by text NULL,
        resolved_by_accessor text NULL,
        resolution_note text NULL,
        CONSTRAINT audit_anomalies_once UNIQUE (kind, subject_type, subject, window_start)
      )`);
    await q.query('CREATE INDEX audit_anomalies_by_detection ON audit_anomalies (detected_at DESC)');
    await q.query(`
      CREATE TABLE audit_anomaly_cursor (
        id smallint PRIMARY KEY CHECK (id = 1),
        last_sequence bigint NOT NULL,
        scanned_at timestamptz NULL
      )`);
    await q.query('INSERT INTO audit_anomaly_cursor (id, last_sequence) VALUES (1, 0)');
    await q.query(`
      CREATE TABLE audit_anomaly_activity (
        subject_type text NOT NULL,
        subject text NOT NULL,
        hour_start timestamptz NOT NULL,
        entries bigint NOT NULL,
        PRIMARY KEY (subject_type, subject, hour_start)
      )`);
    await q.query('CREATE INDEX audit_anomaly_activity_by_hour ON audit_anomaly_activity (hour_start)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE audit_anomaly_activity');
    await q.query('DROP TABLE audit_anomaly_cursor');
    await q.query('DROP TABLE audit_anomalies');
  }
}
