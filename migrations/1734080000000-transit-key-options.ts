import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Transit beyond aes256-gcm96 (issue 28): every Vault key type, the key options (derived with its
 * KDF, convergent encryption, exportable, plaintext backup, auto-rotation, hmac key size, trimmed
 * versions, imported keys, managed keys, backup/restore records), each version's public key and
 * convergent scheme, and the mount's settings (`config/keys` disable_upsert, `cache-config` size).
 * Existing versions keep their sealed raw AES-256 key (32 bytes), which the engine still reads.
 */
export class TransitKeyOptions1734080000000 implements MigrationInterface {
  name = 'TransitKeyOptions1734080000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE transit_keys DROP CONSTRAINT transit_keys_type_check');
    await q.query(`
      ALTER TABLE transit_keys
        ADD COLUMN derived boolean NOT NULL DEFAULT false,
        ADD COLUMN kdf integer NOT NULL DEFAULT 1,
        ADD COLUMN convergent_encryption boolean NOT NULL DEFAULT false,
        ADD COLUMN convergent_version integer NOT NULL DEFAULT 0,
        ADD COLUMN exportable boolean NOT NULL DEFAULT false,
        ADD COLUMN allow_plaintext_backup boolean NOT NULL DEFAULT false,
        ADD COLUMN auto_rotate_period integer NOT NULL DEFAULT 0,
        ADD COLUMN key_size integer NOT NULL DEFAULT 0,
        ADD COLUMN min_available_version integer NOT NULL DEFAULT 0,
        ADD COLUMN imported_key boolean NOT NULL DEFAULT false,
        ADD COLUMN allow_imported_key_rotation boolean NOT NULL DEFAULT false,
        ADD COLUMN managed_key_name text,
        ADD COLUMN managed_key_id uuid,
        ADD COLUMN backup_info jsonb,
        ADD COLUMN restore_info jsonb,
        ADD CONSTRAINT transit_keys_type_check CHECK (type IN ('aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305', 'ed25519',
          'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'hmac', 'managed_key')),
        ADD CONSTRAINT transit_keys_kdf_check CHECK (kdf IN (0, 1)),
        ADD CONSTRAINT transit_keys_auto_rotate_period_check CHECK (auto_rotate_period = 0 OR auto_rotate_period >= 3600),
        ADD CONSTRAINT transit_keys_convergent_check CHECK (NOT convergent_encryption OR derived)`);
    await q.query(`
      ALTER TABLE transit_key_versions
        ADD COLUMN public_key text,
        ADD COLUMN convergent_version integer NOT NULL DEFAULT 0,
        ADD COLUMN public_key_only boolean NOT NULL DEFAULT false`);
    await q.query(
      `COMMENT ON COLUMN transit_key_versions.key_ciphertext IS 'barrier ciphertext of the key version (JSON key and hmac_key, or a raw 32-byte AES key), bound to mount, name and version'`,
    );
    await q.query(`
      CREATE TABLE transit_mount_config (
        mount_uuid uuid NOT NULL,
        disable_upsert boolean NOT NULL DEFAULT false,
        cache_size integer NOT NULL DEFAULT 0,
        CONSTRAINT transit_mount_config_pkey PRIMARY KEY (mount_uuid),
        CONSTRAINT transit_mount_config_mount_uuid_fkey FOREIGN KEY (mount_uuid) REFERENCES mounts (uuid) ON DELETE CASCADE,
        CONSTRAINT transit_mount_config_cache_size_check CHECK (cache_size = 0 OR cache_size >= 10)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE transit_mount_config');
    await q.query('ALTER TABLE transit_key_versions DROP COLUMN public_key, DROP COLUMN convergent_version, DROP COLUMN public_key_only');
    await q.query(`DELETE FROM transit_key_versions v USING transit_keys k
      WHERE k.mount_uuid = v.mount_uuid AND k.name = v.name AND k.type <> 'aes256-gcm96'`);
    await q.query(`DELETE FROM transit_keys WHERE type <> 'aes256-gcm96'`);
    await q.query(`
      ALTER TABLE transit_keys
        DROP CONSTRAINT transit_keys_type_check,
        DROP COLUMN derived, DROP COLUMN kdf, DROP COLUMN convergent_encryption, DROP COLUMN convergent_version,
        DROP COLUMN exportable, DROP COLUMN allow_plaintext_backup, DROP COLUMN auto_rotate_period, DROP COLUMN key_size,
        DROP COLUMN min_available_version, DROP COLUMN imported_key, DROP COLUMN allow_imported_key_rotation,
        DROP COLUMN managed_key_name, DROP COLUMN managed_key_id, DROP COLUMN backup_info, DROP COLUMN restore_info,
        ADD CONSTRAINT transit_keys_type_check CHECK (type = 'aes256-gcm96')`);
  }
}
