import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The transit engine's named keys (Vault's keysutil policies), per mount (rows go with it, ON DELETE
 * CASCADE): the policy (`transit_keys`) and each key version's material (`transit_key_versions`,
 * barrier ciphertext bound to mount, name and version: TRANSIT_KEY_MATERIAL). Only aes256-gcm96 for now.
 */
export class TransitKeys1734070000000 implements MigrationInterface {
  name = 'TransitKeys1734070000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE transit_keys (
        mount_uuid uuid NOT NULL,
        name text COLLATE "C" NOT NULL,
        type text NOT NULL,
        latest_version integer NOT NULL,
        min_decryption_version integer NOT NULL DEFAULT 1,
        min_encryption_version integer NOT NULL DEFAULT 0,
        deletion_allowed boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT transit_keys_pkey PRIMARY KEY (mount_uuid, name),
        CONSTRAINT transit_keys_mount_uuid_fkey FOREIGN KEY (mount_uuid) REFERENCES mounts (uuid) ON DELETE CASCADE,
        CONSTRAINT transit_keys_type_check CHECK (type = 'aes256-gcm96')
      )`);
    await q.query(`
      CREATE TABLE transit_key_versions (
        mount_uuid uuid NOT NULL,
        name text COLLATE "C" NOT NULL,
        version integer NOT NULL,
        key_ciphertext bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT transit_key_versions_pkey PRIMARY KEY (mount_uuid, name, version),
        CONSTRAINT transit_key_versions_mount_uuid_fkey FOREIGN KEY (mount_uuid) REFERENCES mounts (uuid) ON DELETE CASCADE,
        CONSTRAINT transit_key_versions_version_check CHECK (version > 0)
      )`);
    await q.query(`COMMENT ON COLUMN transit_key_versions.key_ciphertext IS 'barrier ciphertext of the key version, bound to mount, name and version'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE transit_key_versions');
    await q.query('DROP TABLE transit_keys');
  }
}
