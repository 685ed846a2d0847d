import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Password policies (`sys/policies/password/:name`): the document as written (HCL or JSON), in
 * clear like ACL policies (they describe passwords, they hold none). Names are case-sensitive, as
 * in Vault, and one path segment.
 */
export class PasswordPolicies1733600000000 implements MigrationInterface {
  name = 'PasswordPolicies1733600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE password_policies (
        name text PRIMARY KEY CHECK (name <> '' AND position('/' IN name) = 0),
        policy text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE password_policies');
  }
}
