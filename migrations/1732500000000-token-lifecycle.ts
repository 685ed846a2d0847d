import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Token lifecycle: parent/child tree, orphans, TTLs and hard caps, periodic tokens, use counts,
 * renewability, metadata and bound CIDRs.
 */
export class TokenLifecycle1732500000000 implements MigrationInterface {
  name = 'TokenLifecycle1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tokens
        ADD COLUMN parent_token_hmac bytea NULL,
        ADD COLUMN orphan boolean NOT NULL DEFAULT false,
        ADD COLUMN ttl_seconds integer NOT NULL DEFAULT 0 CHECK (ttl_seconds >= 0),
        ADD COLUMN explicit_max_ttl_seconds integer NOT NULL DEFAULT 0 CHECK (explicit_max_ttl_seconds >= 0),
        ADD COLUMN period_seconds integer NOT NULL DEFAULT 0 CHECK (period_seconds >= 0),
        ADD COLUMN uses_remaining integer NULL CHECK (uses_remaining >= 0),
        ADD COLUMN num_uses_initial integer NOT NULL DEFAULT 0,
        ADD COLUMN renewable boolean NOT NULL DEFAULT false,
        ADD COLUMN max_expires_at timestamptz NULL,
        ADD COLUMN meta jsonb NOT NULL DEFAULT '{}'::jsonb,
        ADD COLUMN bound_cidrs text[] NOT NULL DEFAULT '{}'`);
    await q.query('CREATE INDEX tokens_parent_idx ON tokens (parent_token_hmac) WHERE parent_token_hmac IS NOT NULL');
    await q.query('CREATE INDEX tokens_expires_idx ON tokens (expires_at) WHERE expires_at IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX tokens_expires_idx');
    await q.query('DROP INDEX tokens_parent_idx');
    await q.query(`ALTER TABLE tokens DROP COLUMN parent_token_hmac, DROP COLUMN orphan, DROP COLUMN ttl_seconds,
      DROP COLUMN explicit_max_ttl_seconds, DROP COLUMN period_seconds, DROP COLUMN uses_remaining, DROP COLUMN num_uses_initial,
      DROP COLUMN renewable, DROP COLUMN max_expires_at, DROP COLUMN meta, DROP COLUMN bound_cidrs`);
  }
}
