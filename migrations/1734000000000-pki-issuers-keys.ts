import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A pki mount's issuers and keys as their own rows (Vault's `issuer/:ref`, `key/:ref`): several
 * named issuers per mount, each a CA certificate with an optional key; keys are barrier ciphertext
 * bound to mount and key id. Existing issuers (a `certificates` row holding a key) move here under
 * their id (the serial) with their key (key id = serial, so the ciphertext and its binding are
 * copied as they are); their chain stays in the engine objects until first read (`chain_pem` NULL).
 */
export class PkiIssuersKeys1734000000000 implements MigrationInterface {
  name = 'PkiIssuersKeys1734000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE pki_keys (
        mount_uuid uuid NOT NULL REFERENCES mounts (uuid) ON DELETE CASCADE,
        key_id text NOT NULL,
        key_name text NOT NULL DEFAULT '',
        public_key_sha256 text NULL,
        private_key_encrypted bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mount_uuid, key_id)
      )`);
    await q.query("CREATE UNIQUE INDEX pki_keys_name ON pki_keys (mount_uuid, key_name) WHERE key_name <> ''");
    // One row per key material (NULL: a migrated key, fingerprinted when first compared).
    await q.query('CREATE UNIQUE INDEX pki_keys_public_key ON pki_keys (mount_uuid, public_key_sha256)');
    await q.query(`
      CREATE TABLE pki_issuers (
        mount_uuid uuid NOT NULL REFERENCES mounts (uuid) ON DELETE CASCADE,
        issuer_id text NOT NULL,
        issuer_name text NOT NULL DEFAULT '',
        key_id text NULL,
        serial_number text NOT NULL,
        certificate_pem text NOT NULL,
        fingerprint text NOT NULL,
        chain_pem text[] NULL,
        manual_chain text[] NOT NULL DEFAULT '{}',
        leaf_not_after_behavior text NOT NULL DEFAULT 'err' CHECK (leaf_not_after_behavior IN ('err', 'truncate', 'permit', 'always_enforce_err')),
        usage text[] NOT NULL DEFAULT '{read-only,issuing-certificates,crl-signing,ocsp-signing}',
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mount_uuid, issuer_id),
        FOREIGN KEY (mount_uuid, key_id) REFERENCES pki_keys (mount_uuid, key_id)
      )`);
    await q.query("CREATE UNIQUE INDEX pki_issuers_name ON pki_issuers (mount_uuid, issuer_name) WHERE issuer_name <> ''");
    // One issuer per certificate (SHA-256 of its DER): importing it again finds it.
    await q.query('CREATE UNIQUE INDEX pki_issuers_fingerprint ON pki_issuers (mount_uuid, fingerprint)');
    await q.query(`INSERT INTO pki_keys (mount_uuid, key_id, private_key_encrypted, created_at)
      SELECT mount_uuid, serial_number, private_key_encrypted, created_at FROM certificates WHERE private_key_encrypted IS NOT NULL`);
    await q.query(`INSERT INTO pki_issuers (mount_uuid, issuer_id, key_id, serial_number, certificate_pem, fingerprint, chain_pem, created_at)
      SELECT mount_uuid, serial_number, serial_number, serial_number, certificate_pem, fingerprint, NULL, created_at FROM certificates WHERE private_key_encrypted IS NOT NULL`);
    await q.query('UPDATE certificates SET private_key_encrypted = NULL WHERE private_key_encrypted IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    // Only keys whose id is their issuer's serial (the pre-migration ones) have a binding the old code can open.
    await q.query(`UPDATE certificates c SET private_key_encrypted = k.private_key_encrypted FROM pki_keys k
      WHERE k.mount_uuid = c.mount_uuid AND k.key_id = c.serial_number`);
    await q.query('DROP TABLE pki_issuers');
    await q.query('DROP TABLE pki_keys');
  }
}
