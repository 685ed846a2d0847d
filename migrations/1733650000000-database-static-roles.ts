import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The `database` engine's static roles live beside connections and roles (whole object as barrier ciphertext). */
export class DatabaseStaticRoles1733650000000 implements MigrationInterface {
  name = 'DatabaseStaticRoles1733650000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE database_objects DROP CONSTRAINT database_objects_kind_check');
    await q.query(`ALTER TABLE database_objects ADD CONSTRAINT database_objects_kind_check CHECK (kind IN ('connection', 'role', 'static-role'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM database_objects WHERE kind = 'static-role'`);
    await q.query('ALTER TABLE database_objects DROP CONSTRAINT database_objects_kind_check');
    await q.query(`ALTER TABLE database_objects ADD CONSTRAINT database_objects_kind_check CHECK (kind IN ('connection', 'role'))`);
  }
}
