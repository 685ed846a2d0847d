import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * KV secrets, mirroring the SecretHub `secrets` entity, with a versions table for KV v2.
 * `secret_path` uses the C collation: the unique index then serves prefix listings (LIKE 'a/%')
 * and orders keys bytewise, as Vault lists them. Values are barrier ciphertext bound to mount, path
 * and version. Rows go with their mount (ON DELETE CASCADE).
 */
export class Secrets1732700000000 implements MigrationInterface {
  name = 'Secrets1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE secrets (
        id bigserial PRIMARY KEY,
        mount_uuid uuid NOT NULL REFERENCES mounts (uuid) ON DELETE CASCADE,
        secret_path text COLLATE "C" NOT NULL CHECK (secret_path <> '' AND right(secret_path, 1) <> '/'),
        secret_type text NOT NULL CHECK (secret_type IN ('kv-v1', 'kv-v2')),
        encrypted_data bytea NULL,
        version integer NOT NULL DEFAULT 0 CHECK (version >= 0),
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        rotation_interval_seconds integer NULL,
        last_rotated_at timestamptz NULL,
        next_rotation_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (mount_uuid, secret_path)
      )`);
    await q.query(`
      CREATE TABLE secret_versions (
        secret_id bigint NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
        version integer NOT NULL CHECK (version > 0),
        encrypted_data bytea NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        deletion_time timestamptz NULL,
        destroyed boolean NOT NULL DEFAULT false,
        PRIMARY KEY (secret_id, version),
        CHECK (destroyed = (encrypted_data IS NULL))
      )`);
    await q.query(`
      CREATE TABLE kv_mount_config (
        mount_uuid uuid PRIMARY KEY REFERENCES mounts (uuid) ON DELETE CASCADE,
        max_versions integer NOT NULL DEFAULT 0 CHECK (max_versions >= 0),
        cas_required boolean NOT NULL DEFAULT false,
        delete_version_after_seconds integer NOT NULL DEFAULT 0 CHECK (delete_version_after_seconds >= 0)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE kv_mount_config');
    await q.query('DROP TABLE secret_versions');
    await q.query('DROP TABLE secrets');
  }
}
