import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * AppRole: `secret_id_tombstones`, one row per secret ID of a role that is no longer stored (used
 * up at login, or expired or used up and then tidied), so that a login presenting it is known to
 * present a secret ID the role issued, not a guess. Like `secret_ids`, it holds the secret ID only
 * as its HMAC; `retired_at` is when the secret ID stopped being usable. Rows go with their role.
 */
export class AppRoleSecretIdTombstones1733960000000 implements MigrationInterface {
  name = 'AppRoleSecretIdTombstones1733960000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE secret_id_tombstones (
        role_pk bigint NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        secret_id_hmac bytea NOT NULL,
        retired_at timestamptz NOT NULL,
        PRIMARY KEY (role_pk, secret_id_hmac)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE secret_id_tombstones');
  }
}
