import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Key management beyond Vault (issue 29): usage-based rotation (`auto_rotate_after_operations`,
 * each version's counted operations), failed automatic rotations, the key history (rotations with
 * their reason and actor, lifecycle setting changes, trims), and trimming made irreversible in the
 * database: min_available_version never decreases and no version below it is ever inserted.
 */
export class TransitKeyManagement1734090000000 implements MigrationInterface {
  name = 'TransitKeyManagement1734090000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE transit_keys
        ADD COLUMN auto_rotate_after_operations bigint NOT NULL DEFAULT '0'::bigint,
        ADD COLUMN failed_rotations integer NOT NULL DEFAULT 0,
        ADD CONSTRAINT transit_keys_auto_rotate_after_operations_check CHECK (auto_rotate_after_operations >= 0)`);
    await q.query("ALTER TABLE transit_key_versions ADD COLUMN operations bigint NOT NULL DEFAULT '0'::bigint");
    await q.query(`
      CREATE TABLE transit_key_history (
        id bigserial NOT NULL,
        mount_uuid uuid NOT NULL,
        name text COLLATE "C" NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        event text NOT NULL,
        reason text NOT NULL,
        actor text,
        from_version integer,
        to_version integer,
        details jsonb,
        CONSTRAINT transit_key_history_pkey PRIMARY KEY (id),
        CONSTRAINT transit_key_history_mount_uuid_fkey FOREIGN KEY (mount_uuid) REFERENCES mounts (uuid) ON DELETE CASCADE,
        CONSTRAINT transit_key_history_event_check CHECK (event IN ('create', 'rotation', 'config', 'trim', 'import', 'restore', 'rotation-failed'))
      )`);
    await q.query('CREATE INDEX transit_key_history_by_key ON transit_key_history (mount_uuid, name, id)');
    await q.query(`
      CREATE FUNCTION transit_keys_keep_trim() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.min_available_version < OLD.min_available_version THEN
          RAISE EXCEPTION 'transit key % versions below % are destroyed', OLD.name, OLD.min_available_version USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER transit_keys_keep_trim BEFORE UPDATE OF min_available_version ON transit_keys
      FOR EACH ROW EXECUTE FUNCTION transit_keys_keep_trim()`);
    await q.query(`
      CREATE FUNCTION transit_key_versions_not_destroyed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM transit_keys k WHERE k.mount_uuid = NEW.mount_uuid AND k.name = NEW.name AND NEW.version < k.min_available_version) THEN
          RAISE EXCEPTION 'transit key % version % is destroyed', NEW.name, NEW.version USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER transit_key_versions_not_destroyed BEFORE INSERT ON transit_key_versions
      FOR EACH ROW EXECUTE FUNCTION transit_key_versions_not_destroyed()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER transit_key_versions_not_destroyed ON transit_key_versions');
    await q.query('DROP FUNCTION transit_key_versions_not_destroyed()');
    await q.query('DROP TRIGGER transit_keys_keep_trim ON transit_keys');
    await q.query('DROP FUNCTION transit_keys_keep_trim()');
    await q.query('DROP TABLE transit_key_history');
    await q.query('ALTER TABLE transit_key_versions DROP COLUMN operations');
    await q.query('ALTER TABLE transit_keys DROP COLUMN auto_rotate_after_operations, DROP COLUMN failed_rotations');
  }
}
