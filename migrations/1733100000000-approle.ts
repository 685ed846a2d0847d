import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * AppRole: `roles` (mirroring the SecretHub entity, one row per role per approle mount) and
 * `secret_ids`. A secret ID is stored only as an HMAC (keyed by `approle_hmac_key` in
 * kernel_secrets); its accessor as an HMAC for lookups plus barrier ciphertext for listing.
 * `uses_remaining` NULL means unlimited; a login spends one use with a single conditional UPDATE.
 * Rows go with their mount and their role (ON DELETE CASCADE).
 */
export class AppRole1733100000000 implements MigrationInterface {
  name = 'AppRole1733100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE roles (
        id bigserial PRIMARY KEY,
        mount_uuid uuid NOT NULL REFERENCES mounts (uuid) ON DELETE CASCADE,
        role_name text NOT NULL CHECK (role_name <> ''),
        role_id text NOT NULL CHECK (role_id <> ''),
        policies text[] NOT NULL DEFAULT '{}',
        token_policies text[] NOT NULL DEFAULT '{}',
        ttl_seconds integer NOT NULL DEFAULT 0 CHECK (ttl_seconds >= 0),
        max_ttl_seconds integer NOT NULL DEFAULT 0 CHECK (max_ttl_seconds >= 0),
        bind_secret_id boolean NOT NULL DEFAULT true,
        secret_id_num_uses integer NOT NULL DEFAULT 0 CHECK (secret_id_num_uses >= 0),
        secret_id_ttl_seconds integer NOT NULL DEFAULT 0 CHECK (secret_id_ttl_seconds >= 0),
        bound_cidr_list text[] NOT NULL DEFAULT '{}',
        enabled boolean NOT NULL DEFAULT true,
        token_settings jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (mount_uuid, role_name),
        UNIQUE (mount_uuid, role_id)
      )`);
    await q.query(`
      CREATE TABLE secret_ids (
        id bigserial PRIMARY KEY,
        role_pk bigint NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        secret_id_hmac bytea NOT NULL,
        accessor_hmac bytea NOT NULL,
        accessor_ciphertext bytea NOT NULL,
        uses_remaining integer NULL CHECK (uses_remaining >= 0),
        ttl_seconds integer NOT NULL DEFAULT 0 CHECK (ttl_seconds >= 0),
        expires_at timestamptz NULL,
        cidr_list text[] NOT NULL DEFAULT '{}',
        token_bound_cidrs text[] NOT NULL DEFAULT '{}',
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (role_pk, secret_id_hmac),
        UNIQUE (role_pk, accessor_hmac)
      )`);
    await q.query('CREATE INDEX secret_ids_expires_at ON secret_ids (expires_at) WHERE expires_at IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE secret_ids');
    await q.query('DROP TABLE roles');
  }
}
