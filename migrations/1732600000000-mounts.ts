import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The mount table: secrets engines and auth methods enabled at a path. Engine tables reference
 * `mounts(uuid) ON DELETE CASCADE`, so disabling a mount removes its data in the same statement.
 * Not secret (Vault's mount table holds no secrets either); its integrity rests on the database's.
 */
export class Mounts1732600000000 implements MigrationInterface {
  name = 'Mounts1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mounts (
        uuid uuid PRIMARY KEY,
        path text NOT NULL UNIQUE CHECK (path ~ '^[^/].*/$'),
        class text NOT NULL CHECK (class IN ('secret', 'auth')),
        type text NOT NULL,
        description text NOT NULL DEFAULT '',
        accessor text NOT NULL UNIQUE,
        config jsonb NOT NULL DEFAULT '{}'::jsonb,
        options jsonb NOT NULL DEFAULT '{}'::jsonb,
        local boolean NOT NULL DEFAULT false,
        seal_wrap boolean NOT NULL DEFAULT false,
        external_entropy_access boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE mounts');
  }
}
