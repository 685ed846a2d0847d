import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * sys endpoints' state: `barrier_rotation_config` (one row: Vault's sys/rotate/config, automatic
 * barrier-key rotation by operation count and interval; not secret, so plaintext) and
 * `version_history` (Vault's sys/version-history: each server version the first time it unsealed
 * this storage, with its build date).
 */
export class SysState1734010000000 implements MigrationInterface {
  name = 'SysState1734010000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE barrier_rotation_config (
        id smallint PRIMARY KEY CHECK (id = 1),
        max_operations bigint NOT NULL CHECK (max_operations > 0),
        interval_seconds integer NOT NULL CHECK (interval_seconds >= 0),
        enabled boolean NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE version_history (
        version text PRIMARY KEY,
        build_date text NOT NULL,
        installed_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE version_history');
    await q.query('DROP TABLE barrier_rotation_config');
  }
}
