import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Root generation progress in the database (issue 30): shares submitted to any process of any node
 * count toward one attempt; the OTP and the submitted shares are barrier-sealed.
 */
export class GenerateRootAttempts1734120000000 implements MigrationInterface {
  name = 'GenerateRootAttempts1734120000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE generate_root_attempts (
        name text NOT NULL,
        nonce uuid NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        otp_ciphertext bytea NOT NULL,
        progress integer NOT NULL DEFAULT 0,
        progress_ciphertext bytea,
        CONSTRAINT generate_root_attempts_pkey PRIMARY KEY (name),
        CONSTRAINT generate_root_attempts_name_check CHECK (name = 'root')
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE generate_root_attempts');
  }
}
