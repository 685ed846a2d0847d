import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PKI keys on an HSM (Vault Enterprise's `…/generate/kms`): a `pki_keys` row holds either the key
 * as barrier ciphertext or the id of the managed key (sys/managed-keys) whose key it is, never both.
 * No foreign key: the registry may lose the key; signing then says the managed key is unavailable.
 */
export class PkiManagedKeys1734060000000 implements MigrationInterface {
  name = 'PkiManagedKeys1734060000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE pki_keys ADD COLUMN managed_key_id uuid NULL');
    await q.query('ALTER TABLE pki_keys ALTER COLUMN private_key_encrypted DROP NOT NULL');
    await q.query('ALTER TABLE pki_keys ADD CONSTRAINT pki_keys_material_check CHECK ((private_key_encrypted IS NULL) <> (managed_key_id IS NULL))');
  }

  async down(q: QueryRunner): Promise<void> {
    // Issuers on managed keys cannot exist before this migration: they go, with their keys.
    await q.query('DELETE FROM pki_issuers i USING pki_keys k WHERE k.mount_uuid = i.mount_uuid AND k.key_id = i.key_id AND k.managed_key_id IS NOT NULL');
    await q.query('DELETE FROM pki_keys WHERE managed_key_id IS NOT NULL');
    await q.query('ALTER TABLE pki_keys DROP CONSTRAINT pki_keys_material_check');
    await q.query('ALTER TABLE pki_keys ALTER COLUMN private_key_encrypted SET NOT NULL');
    await q.query('ALTER TABLE pki_keys DROP COLUMN managed_key_id');
  }
}
