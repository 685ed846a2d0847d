import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Vault's managed keys registry (sys/managed-keys), PKCS#11 only: where a key lives (a kms_library
 * name from the server configuration, a slot or a token label, the key's label and/or CKA_ID), how
 * it is used (mechanism, size or curve, usages) and who may use it (any_mount, or the mounts listing
 * it in allowed_managed_keys). The PIN is barrier ciphertext bound to the row (MANAGED_KEY_PIN).
 */
export class ManagedKeys1734050000000 implements MigrationInterface {
  name = 'ManagedKeys1734050000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE managed_keys (
        id uuid NOT NULL,
        name text COLLATE "C" NOT NULL,
        type text NOT NULL,
        library text NOT NULL,
        slot text NULL,
        token_label text NULL,
        pin_ciphertext bytea NOT NULL,
        key_label text NULL,
        key_id text NULL,
        mechanism bigint NOT NULL,
        key_bits integer NULL,
        curve text NULL,
        allow_generate_key boolean NOT NULL DEFAULT false,
        allow_replace_key boolean NOT NULL DEFAULT false,
        allow_store_key boolean NOT NULL DEFAULT false,
        any_mount boolean NOT NULL DEFAULT false,
        usages text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT managed_keys_pkey PRIMARY KEY (id),
        CONSTRAINT managed_keys_name_key UNIQUE (name),
        CONSTRAINT managed_keys_name_check CHECK (name ~ '^[a-z0-9][a-z0-9_.-]*$'),
        CONSTRAINT managed_keys_type_check CHECK (type = 'pkcs11'),
        CONSTRAINT managed_keys_library_check CHECK (library <> ''),
        CONSTRAINT managed_keys_token_check CHECK ((slot IS NULL) <> (token_label IS NULL)),
        CONSTRAINT managed_keys_slot_check CHECK (slot ~ '^[0-9]{1,20}$'),
        CONSTRAINT managed_keys_key_check CHECK (key_label IS NOT NULL OR key_id IS NOT NULL),
        CONSTRAINT managed_keys_key_id_check CHECK (key_id ~ '^([0-9a-f]{2})+$'),
        CONSTRAINT managed_keys_mechanism_check CHECK (mechanism >= 0),
        CONSTRAINT managed_keys_key_bits_check CHECK (key_bits > 0),
        CONSTRAINT managed_keys_curve_check CHECK (curve IN ('P256', 'P384', 'P521')),
        CONSTRAINT managed_keys_usages_check CHECK (
          cardinality(usages) > 0 AND usages <@ ARRAY['encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap', 'mac', 'random']::text[])
      )`);
    await q.query(`COMMENT ON COLUMN managed_keys.pin_ciphertext IS 'barrier ciphertext of the PKCS#11 user PIN, bound to the row id'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE managed_keys');
  }
}
