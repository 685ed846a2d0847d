/**
 * KV v2 rows: one `secrets` row per key (current version and key metadata) and one
 * `secret_versions` row per version. Every change to a key runs in a transaction holding that
 * key's row lock, so concurrent writers see each other's versions (CAS is exact). Values go in and
 * come out of this file in the clear only: they are sealed in KV_V2_VALUE, bound to mount, path and
 * version, and a version's value is opened only while it is live (neither destroyed nor deleted).
 */
import type { DataSource, EntityManager } from 'typeorm';
import { runStatement, statement } from '../../database/sql';
import type { Barrier } from '../../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../../kernel/barrier/sealed-column';
import { KV_V2_VALUE } from '../../kernel/barrier/sealed-columns';

export type KvValue = Record<string, unknown>;
type ValueColumn = SealedColumn<{ mountUuid: string; path: string; version: number }>;

export interface KvMountConfig {
  maxVersions: number;
  casRequired: boolean;
  deleteVersionAfterSeconds: number;
}

/** The key's metadata as stored in `secrets.metadata`. */
export interface KvKeyMetadata {
  maxVersions: number;
  casRequired: boolean;
  deleteVersionAfterSeconds: number;
  customMetadata: Record<string, string>;
  oldestVersion: number;
}

export interface KvKey {
  id: string;
  currentVersion: number;
  metadata: KvKeyMetadata;
  createdAt: Date;
  updatedAt: Date;
}

export interface KvVersion {
  version: number;
  createdAt: Date;
  deletionTime: Date | null;
  destroyed: boolean;
}

export function isDeleted(v: KvVersion, now = Date.now()): boolean {
  return v.deletionTime !== null && new Date(v.deletionTime).getTime() <= now;
}

/** Live: its value can be read (neither destroyed nor deleted). Once not live at some instant, never live later (unless undeleted). */
export function isLive(v: KvVersion, now = Date.now()): boolean {
  return !v.destroyed && !isDeleted(v, now);
}

export const EMPTY_KEY_METADATA: KvKeyMetadata = { maxVersions: 0, casRequired: false, deleteVersionAfterSeconds: 0, customMetadata: {}, oldestVersion: 0 };

interface KeyRow {
  id: string;
  version: number;
  metadata: Partial<KvKeyMetadata>;
  created_at: Date;
  updated_at: Date;
}

const toKey = (r: KeyRow): KvKey => ({
  id: r.id,
  currentVersion: r.version,
  metadata: { ...EMPTY_KEY_METADATA, ...r.metadata },
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const VERSION_COLUMNS = 'version, created_at AS "createdAt", deletion_time AS "deletionTime", destroyed';

interface ConfigRow {
  max_versions: number | null;
  cas_required: boolean | null;
  delete_version_after_seconds: number | null;
}

const toConfig = (r: ConfigRow | undefined): KvMountConfig => ({
  maxVersions: r?.max_versions ?? 0,
  casRequired: r?.cas_required ?? false,
  deleteVersionAfterSeconds: r?.delete_version_after_seconds ?? 0,
});

// The statements of the read and write paths, prepared once per connection.
const SQL = {
  readVersion: statement(
    'kv2-read-version',
    `SELECT s.id, s.version, s.metadata, s.created_at, s.updated_at,
            v.version AS v_version, v.encrypted_data AS ciphertext, v.created_at AS v_created_at, v.deletion_time, v.destroyed
       FROM secrets s
       LEFT JOIN secret_versions v ON v.secret_id = s.id AND v.version = CASE WHEN $3::int > 0 THEN $3::int ELSE s.version END
      WHERE s.mount_uuid = $1 AND s.secret_path = $2 AND s.secret_type = 'kv-v2'`,
  ),
  // The key's row lock, with the mount's settings read in the same round trip.
  lockKey: statement(
    'kv2-lock-key',
    `SELECT s.id, s.version, s.metadata, s.created_at, s.updated_at, c.max_versions, c.cas_required, c.delete_version_after_seconds
       FROM secrets s LEFT JOIN kv_mount_config c ON c.mount_uuid = s.mount_uuid
      WHERE s.mount_uuid = $1 AND s.secret_path = $2 AND s.secret_type = 'kv-v2' FOR UPDATE OF s`,
  ),
  createKey: statement(
    'kv2-create-key',
    `INSERT INTO secrets (mount_uuid, secret_path, secret_type, metadata) VALUES ($1, $2, 'kv-v2', $3::jsonb) ON CONFLICT (mount_uuid, secret_path) DO NOTHING`,
  ),
  versions: statement('kv2-versions', `SELECT ${VERSION_COLUMNS} FROM secret_versions WHERE secret_id = $1 ORDER BY version`),
  liveValue: statement(
    'kv2-live-value',
    `SELECT ${VERSION_COLUMNS}, encrypted_data AS "ciphertext" FROM secret_versions WHERE secret_id = $1 AND version = $2`,
  ),
  insertVersion: statement(
    'kv2-insert-version',
    'INSERT INTO secret_versions (secret_id, version, encrypted_data, deletion_time) VALUES ($1, $2, $3, $4) RETURNING created_at',
  ),
  saveKey: statement('kv2-save-key', 'UPDATE secrets SET version = $2, metadata = $3::jsonb, updated_at = now() WHERE id = $1'),
  pruneBelow: statement('kv2-prune-below', 'DELETE FROM secret_versions WHERE secret_id = $1 AND version < $2'),
  config: statement('kv2-config', 'SELECT max_versions, cas_required, delete_version_after_seconds FROM kv_mount_config WHERE mount_uuid = $1'),
};

/** The value of a version row, opened when the version is live at `now`. */
function liveValue(values: ValueColumn, mountUuid: string, path: string, v: KvVersion, ciphertext: Ciphertext | null, now = Date.now()): KvValue | undefined {
  if (!isLive(v, now) || ciphertext === null) return undefined;
  return values.openJson<KvValue>({ mountUuid, path, version: v.version }, ciphertext);
}

/** One key's rows inside its locked transaction. */
export class KvKeyTransaction {
  constructor(
    private readonly m: EntityManager,
    private readonly values: ValueColumn,
    private readonly mountUuid: string,
    private readonly path: string,
    readonly key: KvKey,
    /** The mount's settings, read with the lock. */
    readonly config: KvMountConfig,
  ) {}

  async versions(): Promise<KvVersion[]> {
    return runStatement<KvVersion>(this.m, SQL.versions, [this.key.id]);
  }

  /** The value of `version`, opened; undefined when there is no such version or it is not live. */
  async liveValue(version: number): Promise<KvValue | undefined> {
    const row = (await runStatement<KvVersion & { ciphertext: Ciphertext | null }>(this.m, SQL.liveValue, [this.key.id, version]))[0];
    return row && liveValue(this.values, this.mountUuid, this.path, row, row.ciphertext);
  }

  /** Stores `value` as `version`, sealed; gives its creation time. */
  async insertVersion(version: number, value: KvValue, deletionTime: Date | null): Promise<Date> {
    const ciphertext = await this.values.sealJson({ mountUuid: this.mountUuid, path: this.path, version }, value);
    const rows = await runStatement<{ created_at: Date }>(this.m, SQL.insertVersion, [this.key.id, version, ciphertext, deletionTime]);
    return rows[0].created_at;
  }

  async saveKey(currentVersion: number, metadata: KvKeyMetadata): Promise<void> {
    await runStatement(this.m, SQL.saveKey, [this.key.id, currentVersion, JSON.stringify(metadata)]);
  }

  /** Soft-deletes the named versions that are neither deleted nor destroyed. */
  async markDeleted(versions: number[], at: Date): Promise<void> {
    await this.m.query(
      'UPDATE secret_versions SET deletion_time = $3 WHERE secret_id = $1 AND version = ANY($2) AND NOT destroyed AND (deletion_time IS NULL OR deletion_time > $3)',
      [this.key.id, versions, at],
    );
  }

  async undelete(versions: number[]): Promise<void> {
    await this.m.query('UPDATE secret_versions SET deletion_time = NULL WHERE secret_id = $1 AND version = ANY($2) AND NOT destroyed', [this.key.id, versions]);
  }

  async destroy(versions: number[]): Promise<void> {
    await this.m.query('UPDATE secret_versions SET encrypted_data = NULL, destroyed = true WHERE secret_id = $1 AND version = ANY($2)', [
      this.key.id,
      versions,
    ]);
  }

  /** Removes every version below `oldestKept` (max_versions pruning). */
  async pruneBelow(oldestKept: number): Promise<void> {
    await runStatement(this.m, SQL.pruneBelow, [this.key.id, oldestKept]);
  }

  async deleteKey(): Promise<void> {
    await this.m.query('DELETE FROM secrets WHERE id = $1', [this.key.id]);
  }
}

/** The read path's query, for the benchmark's EXPLAIN (bench/scenarios.ts). */
export const KV_READ_VERSION_SQL = SQL.readVersion.text;

export class KvV2Repository {
  private readonly values: ValueColumn;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.values = new SealedColumn(KV_V2_VALUE, barrier);
  }

  async config(mountUuid: string): Promise<KvMountConfig> {
    return toConfig((await runStatement<ConfigRow>(this.dataSource, SQL.config, [mountUuid]))[0]);
  }

  async setConfig(mountUuid: string, c: KvMountConfig): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO kv_mount_config (mount_uuid, max_versions, cas_required, delete_version_after_seconds) VALUES ($1, $2, $3, $4)
       ON CONFLICT (mount_uuid) DO UPDATE SET max_versions = EXCLUDED.max_versions, cas_required = EXCLUDED.cas_required,
         delete_version_after_seconds = EXCLUDED.delete_version_after_seconds`,
      [mountUuid, c.maxVersions, c.casRequired, c.deleteVersionAfterSeconds],
    );
  }

  /** The key and its versions, without locks (reads). */
  async read(mountUuid: string, path: string): Promise<{ key: KvKey; versions: KvVersion[] } | undefined> {
    const rows: KeyRow[] = await this.dataSource.query(
      `SELECT id, version, metadata, created_at, updated_at FROM secrets WHERE mount_uuid = $1 AND secret_path = $2 AND secret_type = 'kv-v2'`,
      [mountUuid, path],
    );
    if (!rows[0]) return undefined;
    const versions: KvVersion[] = await this.dataSource.query(`SELECT ${VERSION_COLUMNS} FROM secret_versions WHERE secret_id = $1 ORDER BY version`, [
      rows[0].id,
    ]);
    return { key: toKey(rows[0]), versions };
  }

  /**
   * The key and one version (`version` 0: the current one) in one query; `version` undefined when the
   * key has no such version; `value` its value, opened, when the version is live (`now`). The read
   * path: no other version's ciphertext is fetched. `open: false` (existence checks): no value.
   */
  async readVersion(
    mountUuid: string,
    path: string,
    version: number,
    { open = true, now = Date.now() }: { open?: boolean; now?: number } = {},
  ): Promise<{ key: KvKey; version?: KvVersion; value?: KvValue } | undefined> {
    type Row = KeyRow & { v_version: number | null; ciphertext: Ciphertext | null; v_created_at: Date; deletion_time: Date | null; destroyed: boolean };
    const r = (await runStatement<Row>(this.dataSource, SQL.readVersion, [mountUuid, path, version]))[0];
    if (!r) return undefined;
    if (r.v_version === null) return { key: toKey(r) };
    const found: KvVersion = { version: r.v_version, createdAt: r.v_created_at, deletionTime: r.deletion_time, destroyed: r.destroyed };
    return { key: toKey(r), version: found, value: open ? liveValue(this.values, mountUuid, path, found, r.ciphertext, now) : undefined };
  }

  /**
   * Runs `work` on the key with its row locked. `create`: make the key row when missing (a write);
   * otherwise `work` is not run for a missing key and the result is undefined.
   */
  async withKey<T>(mountUuid: string, path: string, create: boolean, work: (tx: KvKeyTransaction) => Promise<T>): Promise<T | undefined> {
    return this.dataSource.transaction(async (m) => {
      const lock = async () => (await runStatement<KeyRow & ConfigRow>(m, SQL.lockKey, [mountUuid, path]))[0];
      // A new version of an existing key (the common write) takes one statement to lock; a new key three.
      let row = await lock();
      if (!row && create) {
        await runStatement(m, SQL.createKey, [mountUuid, path, JSON.stringify(EMPTY_KEY_METADATA)]);
        row = await lock();
      }
      if (!row) return undefined;
      return work(new KvKeyTransaction(m, this.values, mountUuid, path, toKey(row), toConfig(row)));
    });
  }
}
