import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The `database` secrets engine's connections and roles: one row each per mount, the whole object
 * as barrier ciphertext (connections hold the root credentials). Rows go with their mount.
 */
export class DatabaseEngine1733500000000 implements MigrationInterface {
  name = 'DatabaseEngine1733500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE database_objects (
        mount_uuid uuid NOT NULL REFERENCES mounts (uuid) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('connection', 'role')),
        name text NOT NULL,
        value_ciphertext bytea NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mount_uuid, kind, name)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE database_objects');
  }
}
