import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `database_objects` becomes `engine_objects`: the database, rabbitmq and pki engines keep their
 * configuration objects there, each kind named by its engine, so the fixed kind list goes.
 */
export class EngineObjects1733700000000 implements MigrationInterface {
  name = 'EngineObjects1733700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE database_objects RENAME TO engine_objects');
    await q.query('ALTER TABLE engine_objects DROP CONSTRAINT database_objects_kind_check');
    await q.query("ALTER TABLE engine_objects ADD CONSTRAINT engine_objects_kind_check CHECK (kind ~ '^[a-z][a-z-]{0,31}$')");
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE engine_objects DROP CONSTRAINT engine_objects_kind_check');
    await q.query("ALTER TABLE engine_objects ADD CONSTRAINT database_objects_kind_check CHECK (kind IN ('connection', 'role', 'static-role'))");
    await q.query('ALTER TABLE engine_objects RENAME TO database_objects');
  }
}
