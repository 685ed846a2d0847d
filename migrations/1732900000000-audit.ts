import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit devices and the tamper-evident audit log.
 *
 * Invariants:
 * - `audit_logs` is partitioned by month on `timestamp`; its key is (sequence_number, timestamp)
 *   because PostgreSQL needs the partition key in every unique constraint. Sequence numbers are
 *   assigned by the writer that holds the `audit_chain_head` row lock, never by a sequence.
 * - UPDATE, DELETE and TRUNCATE on the log and its checkpoints raise an error; the triggers are
 *   ENABLE ALWAYS so they also fire under session_replication_role = replica. Partitions get the
 *   row triggers by cloning and their own TRUNCATE trigger when created (audit-log.repository.ts).
 *   The server refuses to unseal when any guard is missing or not ALWAYS.
 * - `log_id` is random per deployment; the chain's genesis hash derives from it.
 */
export class Audit1732900000000 implements MigrationInterface {
  name = 'Audit1732900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_devices (
        path text PRIMARY KEY,
        uuid uuid NOT NULL UNIQUE,
        type text NOT NULL,
        description text NOT NULL DEFAULT '',
        options jsonb NOT NULL DEFAULT '{}',
        local boolean NOT NULL DEFAULT false,
        salt_ciphertext bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE audit_chain_head (
        id smallint PRIMARY KEY CHECK (id = 1),
        log_id bytea NOT NULL,
        sequence_number bigint NOT NULL,
        chain_hash bytea NOT NULL,
        frontier bytea[] NOT NULL DEFAULT '{}',
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // The genesis hash is computed by the writer from log_id; 0 entries so far.
    await q.query(`INSERT INTO audit_chain_head (id, log_id, sequence_number, chain_hash)
      SELECT 1, id, 0, sha256('secrethub-audit-genesis-v1'::bytea || id) FROM (SELECT sha256(convert_to(gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')) AS id) g`);
    await q.query(`
      CREATE TABLE audit_logs (
        sequence_number bigint NOT NULL,
        "timestamp" timestamptz NOT NULL,
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        actor_type text NULL,
        actor_id text NULL,
        actor_name text NULL,
        secret_path text NULL,
        secret_mount text NULL,
        operation text NULL,
        access_granted boolean NULL,
        policy_matched text NULL,
        denial_reason text NULL,
        source_ip text NULL,
        correlation_id text NULL,
        previous_hash bytea NOT NULL,
        current_hash bytea NOT NULL,
        signature bytea NULL,
        entry_bytes bytea NOT NULL,
        event_data jsonb NOT NULL,
        PRIMARY KEY (sequence_number, "timestamp")
      ) PARTITION BY RANGE ("timestamp")`);
    await q.query('CREATE INDEX audit_logs_correlation ON audit_logs (correlation_id)');
    await q.query(`
      CREATE TABLE audit_checkpoints (
        tree_size bigint PRIMARY KEY,
        root_hash bytea NOT NULL,
        chain_hash bytea NOT NULL,
        previous_tree_size bigint NOT NULL,
        leaves bytea NOT NULL,
        signed_at timestamptz NOT NULL,
        signature bytea NOT NULL
      )`);
    await q.query(`
      CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit records are append-only: % on % refused', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
      END $$`);
    for (const table of ['audit_logs', 'audit_checkpoints']) {
      await q.query(`CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION audit_append_only()`);
      await q.query(`CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()`);
      await q.query(`ALTER TABLE ${table} ENABLE ALWAYS TRIGGER audit_no_change`);
      await q.query(`ALTER TABLE ${table} ENABLE ALWAYS TRIGGER audit_no_truncate`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE audit_checkpoints');
    await q.query('DROP TABLE audit_logs');
    await q.query('DROP FUNCTION audit_append_only()');
    await q.query('DROP TABLE audit_chain_head');
    await q.query('DROP TABLE audit_devices');
  }
}
