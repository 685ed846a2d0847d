import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The kernel's tables: seal configuration, barrier keyring, per-term usage counters,
 * kernel secrets (salts) and tokens. Secret columns hold barrier ciphertext only.
 */
export class KernelFoundation1732300000000 implements MigrationInterface {
  name = 'KernelFoundation1732300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE seal_config (
        id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        seal_type text NOT NULL,
        secret_shares integer NOT NULL CHECK (secret_shares BETWEEN 1 AND 255),
        secret_threshold integer NOT NULL CHECK (secret_threshold BETWEEN 1 AND secret_shares),
        root_key_wrapped bytea NOT NULL,
        cluster_name text NOT NULL,
        cluster_id uuid NOT NULL,
        initialized_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON COLUMN seal_config.root_key_wrapped IS 'root key, AES-256-GCM under the unseal key (Shamir) or the HSM key'`);
    await q.query(`
      CREATE TABLE barrier_keyring (
        id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        active_term integer NOT NULL,
        keyring_ciphertext bytea NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE barrier_term_usage (
        term integer PRIMARY KEY,
        installed_at timestamptz NOT NULL,
        encryptions bigint NOT NULL DEFAULT 0
      )`);
    await q.query(`
      CREATE TABLE kernel_secrets (
        name text PRIMARY KEY,
        value_ciphertext bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE tokens (
        token_hmac bytea PRIMARY KEY,
        accessor_hmac bytea NOT NULL UNIQUE,
        accessor_ciphertext bytea NOT NULL,
        policies text[] NOT NULL,
        token_type text NOT NULL DEFAULT 'service',
        display_name text NOT NULL,
        creation_path text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tokens');
    await q.query('DROP TABLE kernel_secrets');
    await q.query('DROP TABLE barrier_term_usage');
    await q.query('DROP TABLE barrier_keyring');
    await q.query('DROP TABLE seal_config');
  }
}
