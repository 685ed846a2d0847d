import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The PKI engine's certificates (the SecretHub `certificates` entity): every certificate a pki
 * mount issued or holds as an issuer, by serial number. An issuer's private key is barrier
 * ciphertext bound to mount and serial; issued leaves never keep theirs. Rows go with their mount.
 */
export class PkiCertificates1733800000000 implements MigrationInterface {
  name = 'PkiCertificates1733800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE certificates (
        mount_uuid uuid NOT NULL REFERENCES mounts (uuid) ON DELETE CASCADE,
        serial_number text NOT NULL,
        fingerprint text NOT NULL,
        certificate_pem text NOT NULL,
        private_key_encrypted bytea NULL,
        subject text NOT NULL,
        issuer text NOT NULL,
        issuer_serial text NULL,
        common_name text NOT NULL DEFAULT '',
        valid_from timestamptz NOT NULL,
        valid_until timestamptz NOT NULL,
        cert_type text NOT NULL CHECK (cert_type IN ('root_ca', 'intermediate_ca', 'leaf', 'agent_client', 'app_client', 'admin_client')),
        key_usage text[] NOT NULL DEFAULT '{}',
        revoked boolean NOT NULL DEFAULT false,
        revoked_at timestamptz NULL,
        revocation_reason text NULL,
        entity_id text NULL,
        entity_type text NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mount_uuid, serial_number)
      )`);
    await q.query('CREATE INDEX certificates_revoked ON certificates (mount_uuid, issuer_serial) WHERE revoked');
    await q.query('CREATE INDEX certificates_expiry ON certificates (mount_uuid, valid_until)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE certificates');
  }
}
