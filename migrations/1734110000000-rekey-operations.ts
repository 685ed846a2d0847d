import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rekey progress in the database (issue 30): shares submitted to any process of any node count
 * toward one operation; submitted shares and a new key awaiting verification are barrier-sealed.
 */
export class RekeyOperations1734110000000 implements MigrationInterface {
  name = 'RekeyOperations1734110000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rekey_operations (
        target text NOT NULL,
        nonce uuid NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        secret_shares integer NOT NULL,
        secret_threshold integer NOT NULL,
        require_verification boolean NOT NULL,
        progress integer NOT NULL DEFAULT 0,
        progress_ciphertext bytea,
        authorised_check bytea,
        verification_nonce uuid,
        verification_key_ciphertext bytea,
        verification_progress integer NOT NULL DEFAULT 0,
        verification_progress_ciphertext bytea,
        CONSTRAINT rekey_operations_pkey PRIMARY KEY (target),
        CONSTRAINT rekey_operations_target_check CHECK (target IN ('barrier', 'recovery'))
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE rekey_operations');
  }
}
