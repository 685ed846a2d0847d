import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drops `certificates.private_key_encrypted`: NULL in every row since 1734000000000 moved issuers'
 * keys to `pki_keys`, and read or written by no code since. `down` brings it back empty, the
 * layout 1734000000000's own `down` writes into.
 */
export class DropCertificatePrivateKey1734030000000 implements MigrationInterface {
  name = 'DropCertificatePrivateKey1734030000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE certificates DROP COLUMN IF EXISTS private_key_encrypted');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE certificates ADD COLUMN IF NOT EXISTS private_key_encrypted bytea NULL');
  }
}
