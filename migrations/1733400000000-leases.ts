import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Leases (the expiration manager): one row per secret handed out with a TTL. The engine's
 * revocation data is barrier ciphertext bound to the lease id. A row stays after revocation
 * (revoked = true) until tidied, so revocation is idempotent and auditable.
 */
export class Leases1733400000000 implements MigrationInterface {
  name = 'Leases1733400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE leases (
        lease_id text PRIMARY KEY,
        secret_path text NOT NULL,
        mount_uuid uuid NOT NULL,
        engine_type text NOT NULL,
        token_hmac bytea NULL,
        display_name text NOT NULL DEFAULT '',
        issued_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        max_expires_at timestamptz NOT NULL,
        ttl_seconds integer NOT NULL,
        renewable boolean NOT NULL,
        renewed_count integer NOT NULL DEFAULT 0,
        last_renewed_at timestamptz NULL,
        revoked boolean NOT NULL DEFAULT false,
        revoked_at timestamptz NULL,
        revocation_reason text NULL,
        credentials_ciphertext bytea NOT NULL,
        engine_metadata jsonb NOT NULL DEFAULT '{}',
        source_ip text NULL,
        correlation_id text NULL,
        revoke_attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NULL,
        last_error text NULL,
        irrevocable boolean NOT NULL DEFAULT false
      )`);
    await q.query('CREATE INDEX leases_due ON leases (expires_at) WHERE NOT revoked');
    await q.query('CREATE INDEX leases_token ON leases (token_hmac) WHERE NOT revoked');
    await q.query('CREATE INDEX leases_prefix ON leases (lease_id text_pattern_ops)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE leases');
  }
}
