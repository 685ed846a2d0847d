import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drops the `secrets` columns no code ever used: `rotation_interval_seconds`, `last_rotated_at`
 * and `next_rotation_at` (created with the table, never written nor read). Safe on a database with
 * data: nothing is lost that the server uses, and DROP COLUMN only marks the columns dropped.
 * `down` brings them back empty, as they were.
 */
export class DropSecretRotationColumns1734020000000 implements MigrationInterface {
  name = 'DropSecretRotationColumns1734020000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE secrets DROP COLUMN IF EXISTS rotation_interval_seconds, DROP COLUMN IF EXISTS last_rotated_at, DROP COLUMN IF EXISTS next_rotation_at',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE secrets ADD COLUMN IF NOT EXISTS rotation_interval_seconds integer NULL, ADD COLUMN IF NOT EXISTS last_rotated_at timestamptz NULL,
         ADD COLUMN IF NOT EXISTS next_rotation_at timestamptz NULL`,
    );
  }
}
