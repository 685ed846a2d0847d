import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The userpass auth method's users, and the user lockout counters any login method uses.
 * Users go with their mount (uuid), counters with their mount (accessor): ON DELETE CASCADE.
 */
export class Userpass1733200000000 implements MigrationInterface {
  name = 'Userpass1733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE userpass_users (
        mount_uuid uuid NOT NULL REFERENCES mounts (uuid) ON DELETE CASCADE,
        username text COLLATE "C" NOT NULL CHECK (username <> ''),
        password_ciphertext bytea NOT NULL,
        token_params jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mount_uuid, username)
      )`);
    await q.query(`
      CREATE TABLE login_lockouts (
        mount_accessor text NOT NULL REFERENCES mounts (accessor) ON DELETE CASCADE,
        login_name text NOT NULL,
        attempts integer NOT NULL CHECK (attempts > 0),
        first_attempt_at timestamptz NOT NULL,
        last_attempt_at timestamptz NOT NULL,
        locked_until timestamptz NULL,
        PRIMARY KEY (mount_accessor, login_name)
      )`);
    await q.query('CREATE INDEX login_lockouts_locked ON login_lockouts (locked_until) WHERE locked_until IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE login_lockouts');
    await q.query('DROP TABLE userpass_users');
  }
}
