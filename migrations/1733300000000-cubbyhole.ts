import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cubbyhole: storage private to one token. Rows die with their token (ON DELETE CASCADE: revocation
 * and tidy delete token rows), so no cubbyhole outlives the token that owns it. Values are barrier
 * ciphertext bound to the token and path.
 */
export class Cubbyhole1733300000000 implements MigrationInterface {
  name = 'Cubbyhole1733300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cubbyhole_entries (
        token_hmac bytea NOT NULL REFERENCES tokens (token_hmac) ON DELETE CASCADE,
        path text NOT NULL,
        value_ciphertext bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (token_hmac, path)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE cubbyhole_entries');
  }
}
