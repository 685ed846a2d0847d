import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the PKCS#11 seal stores beside the wrapped root key: the recovery key layout and its check
 * value (recovery keys authorise generate-root, rekey and migration under an auto seal), and which
 * HSM key and mechanism wrapped the root key (a changed key_label is rewrapped at unseal). A Shamir
 * row has none of them; a pkcs11 row has all but possibly one of label and id.
 */
export class SealPkcs111734040000000 implements MigrationInterface {
  name = 'SealPkcs111734040000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE seal_config
        ADD COLUMN recovery_shares integer NULL,
        ADD COLUMN recovery_threshold integer NULL,
        ADD COLUMN recovery_key_check bytea NULL,
        ADD COLUMN hsm_key_label text NULL,
        ADD COLUMN hsm_key_id text NULL,
        ADD COLUMN hsm_mechanism integer NULL,
        ADD CONSTRAINT seal_config_seal_type_check CHECK (seal_type IN ('shamir', 'pkcs11')),
        ADD CONSTRAINT seal_config_recovery_check CHECK (
          (recovery_shares IS NULL AND recovery_threshold IS NULL AND recovery_key_check IS NULL)
          OR (recovery_shares BETWEEN 1 AND 255 AND recovery_threshold BETWEEN 1 AND recovery_shares AND recovery_key_check IS NOT NULL)),
        ADD CONSTRAINT seal_config_hsm_check CHECK (
          (seal_type = 'shamir' AND recovery_shares IS NULL AND hsm_key_label IS NULL AND hsm_key_id IS NULL AND hsm_mechanism IS NULL)
          OR (seal_type = 'pkcs11' AND recovery_shares IS NOT NULL AND hsm_mechanism IS NOT NULL AND (hsm_key_label IS NOT NULL OR hsm_key_id IS NOT NULL)))`);
    await q.query(
      `COMMENT ON COLUMN seal_config.recovery_key_check IS 'AES-256-GCM of nothing under the recovery key: proves a combined recovery key without the HSM'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE seal_config
        DROP CONSTRAINT seal_config_hsm_check,
        DROP CONSTRAINT seal_config_recovery_check,
        DROP CONSTRAINT seal_config_seal_type_check,
        DROP COLUMN hsm_mechanism,
        DROP COLUMN hsm_key_id,
        DROP COLUMN hsm_key_label,
        DROP COLUMN recovery_key_check,
        DROP COLUMN recovery_threshold,
        DROP COLUMN recovery_shares`);
  }
}
