import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Token roles (auth/token/roles/:name) and the role a token was created through. */
export class TokenRoles1732800000000 implements MigrationInterface {
  name = 'TokenRoles1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE token_roles (
        name text PRIMARY KEY,
        config jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query('ALTER TABLE tokens ADD COLUMN role_name text NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE tokens DROP COLUMN role_name');
    await q.query('DROP TABLE token_roles');
  }
}
