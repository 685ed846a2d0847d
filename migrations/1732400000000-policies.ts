import type { MigrationInterface, QueryRunner } from 'typeorm';

/** ACL policies: the SecretHub `policies` entity (name, parsed document as JSONB, raw text, timestamps). */
export class Policies1732400000000 implements MigrationInterface {
  name = 'Policies1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE policies (
        name text PRIMARY KEY CHECK (name = lower(btrim(name)) AND name <> ''),
        policy_type text NOT NULL DEFAULT 'acl',
        document jsonb NOT NULL,
        raw text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE policies');
  }
}
