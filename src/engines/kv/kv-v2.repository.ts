/**
 * KV v2 rows: one `secrets` row per key (current version and key metadata) and one
 * `secret_versions` row per version. Every change to a key runs in a transaction holding that
 * key's row lock, so concurrent writers see each other's versions (CAS is exact). Values go in and
 * come out of this file in the clear only: they are sealed in KV_V2_VALUE, bound to mount, path and
 * version, and a version's value is opened only while it is live (neither destroyed nor deleted).
 */
import type { DataSource, EntityManager } from 'typeorm';
import { entityNames, type EntityNames } from '../../database/entity-names';
import { runStatement, statement, type Statement } from '../../database/sql';
import type { Barrier } from '../../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../../kernel/barrier/sealed-column';
import { KV_V2_VALUE } from '../../kernel/barrier/sealed-columns';
import { KvMountConfigEntity, SecretEntity, SecretVersionEntity } from './kv.entity';

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

interface Names {
  secrets: EntityNames<SecretEntity>;
  versions: EntityNames<SecretVersionEntity>;
  config: EntityNames<KvMountConfigEntity>;
}

const kvV2Names = (db: DataSource): Names => ({
  secrets: entityNames(db, SecretEntity),
  versions: entityNames(db, SecretVersionEntity),
  config: entityNames(db, KvMountConfigEntity),
});

/** The statements of the read and write paths are named (prepared once per connection); the others are plain text. */
interface KvV2Sql {
  readVersion: Statement;
  lockKey: Statement;
  createKey: Statement;
  versions: Statement;
  liveValue: Statement;
  insertVersion: Statement;
  saveKey: Statement;
  pruneBelow: Statement;
  config: Statement;
  readKey: string;
  markDeleted: string;
  undelete: string;
  destroy: string;
  deleteKey: string;
  setConfig: string;
}

/** Rows read as KeyRow, ConfigRow and KvVersion carry these aliases whatever the column names. */
function kvV2Sql({ secrets, versions, config }: Names): KvV2Sql {
  const [sec, ver, cfg] = [secrets.col, versions.col, config.col];
  const keyColumns = (a: string) =>
    `${a}${sec.id} AS id, ${a}${sec.version} AS version, ${a}${sec.metadata} AS metadata, ${a}${sec.createdAt} AS created_at,
     ${a}${sec.updatedAt} AS updated_at`;
  const configColumns = (a: string) =>
    `${a}${cfg.maxVersions} AS max_versions, ${a}${cfg.casRequired} AS cas_required, ${a}${cfg.deleteVersionAfterSeconds} AS delete_version_after_seconds`;
  const versionColumns = `${ver.version} AS version, ${ver.createdAt} AS "createdAt", ${ver.deletionTime} AS "deletionTime", ${ver.destroyed} AS destroyed`;
  return {
    readVersion: statement(
      'kv2-read-version',
      `SELECT ${keyColumns('s.')},
            v.${ver.version} AS v_version, v.${ver.encryptedData} AS ciphertext, v.${ver.createdAt} AS v_created_at,
            v.${ver.deletionTime} AS deletion_time, v.${ver.destroyed} AS destroyed
       FROM ${secrets.table} s
       LEFT JOIN ${versions.table} v ON v.${ver.secretId} = s.${sec.id} AND v.${ver.version} = CASE WHEN $3::int > 0 THEN $3::int ELSE s.${sec.version} END
      WHERE s.${sec.mountUuid} = $1 AND s.${sec.secretPath} = $2 AND s.${sec.secretType} = 'kv-v2'`,
    ),
    // The key's row lock, with the mount's settings read in the same round trip.
    lockKey: statement(
      'kv2-lock-key',
      `SELECT ${keyColumns('s.')}, ${configColumns('c.')}
       FROM ${secrets.table} s LEFT JOIN ${config.table} c ON c.${cfg.mountUuid} = s.${sec.mountUuid}
      WHERE s.${sec.mountUuid} = $1 AND s.${sec.secretPath} = $2 AND s.${sec.secretType} = 'kv-v2' FOR UPDATE OF s`,
    ),
    createKey: statement(
      'kv2-create-key',
      `INSERT INTO ${secrets.table} (${sec.mountUuid}, ${sec.secretPath}, ${sec.secretType}, ${sec.metadata}) VALUES ($1, $2, 'kv-v2', $3::jsonb)
       ON CONFLICT (${sec.mountUuid}, ${sec.secretPath}) DO NOTHING`,
    ),
    versions: statement('kv2-versions', `SELECT ${versionColumns} FROM ${versions.table} WHERE ${ver.secretId} = $1 ORDER BY ${ver.version}`),
    liveValue: statement(
      'kv2-live-value',
      `SELECT ${versionColumns}, ${ver.encryptedData} AS "ciphertext" FROM ${versions.table} WHERE ${ver.secretId} = $1 AND ${ver.version} = $2`,
    ),
    insertVersion: statement(
      'kv2-insert-version',
      `INSERT INTO ${versions.table} (${ver.secretId}, ${ver.version}, ${ver.encryptedData}, ${ver.deletionTime}) VALUES ($1, $2, $3, $4)
       RETURNING ${ver.createdAt} AS created_at`,
    ),
    saveKey: statement(
      'kv2-save-key',
      `UPDATE ${secrets.table} SET ${sec.version} = $2, ${sec.metadata} = $3::jsonb, ${sec.updatedAt} = now() WHERE ${sec.id} = $1`,
    ),
    pruneBelow: statement('kv2-prune-below', `DELETE FROM ${versions.table} WHERE ${ver.secretId} = $1 AND ${ver.version} < $2`),
    config: statement('kv2-config', `SELECT ${configColumns('')} FROM ${config.table} WHERE ${cfg.mountUuid} = $1`),
    readKey: `SELECT ${keyColumns('')} FROM ${secrets.table} WHERE ${sec.mountUuid} = $1 AND ${sec.secretPath} = $2 AND ${sec.secretType} = 'kv-v2'`,
    markDeleted: `UPDATE ${versions.table} SET ${ver.deletionTime} = $3 WHERE ${ver.secretId} = $1 AND ${ver.version} = ANY($2) AND NOT ${ver.destroyed}
       AND (${ver.deletionTime} IS NULL OR ${ver.deletionTime} > $3)`,
    undelete: `UPDATE ${versions.table} SET ${ver.deletionTime} = NULL WHERE ${ver.secretId} = $1 AND ${ver.version} = ANY($2) AND NOT ${ver.destroyed}`,
    destroy: `UPDATE ${versions.table} SET ${ver.encryptedData} = NULL, ${ver.destroyed} = true WHERE ${ver.secretId} = $1 AND ${ver.version} = ANY($2)`,
    deleteKey: `DELETE FROM ${secrets.table} WHERE ${sec.id} = $1`,
    setConfig: `INSERT INTO ${config.table} (${cfg.mountUuid}, ${cfg.maxVersions}, ${cfg.casRequired}, ${cfg.deleteVersionAfterSeconds}) VALUES ($1, $2, $3, $4)
       ON CONFLICT (${cfg.mountUuid}) DO UPDATE SET ${cfg.maxVersions} = EXCLUDED.${cfg.maxVersions}, ${cfg.casRequired} = EXCLUDED.${cfg.casRequired},
         ${cfg.deleteVersionAfterSeconds} = EXCLUDED.${cfg.deleteVersionAfterSeconds}`,
  };
}

/** The value of a version row, opened when the version is live at `now`. */
async function liveValue(
  values: ValueColumn,
  mountUuid: string,
  path: string,
  v: KvVersion,
  ciphertext: Ciphertext | null,
  now = Date.now(),
): Promise<KvValue | undefined> {
  if (!isLive(v, now) || ciphertext === null) return undefined;
  return values.openJson<KvValue>({ mountUuid, path, version: v.version }, ciphertext);
}

/** One key's rows inside its locked transaction. */
export class KvKeyTransaction {
  constructor(
    private readonly m: EntityManager,
    private readonly sql: KvV2Sql,
    private readonly values: ValueColumn,
    private readonly mountUuid: string,
    private readonly path: string,
    readonly key: KvKey,
    /** The mount's settings, read with the lock. */
    readonly config: KvMountConfig,
  ) {}

  async versions(): Promise<KvVersion[]> {
    return runStatement<KvVersion>(this.m, this.sql.versions, [this.key.id]);
  }

  /** The value of `version`, opened; undefined when there is no such version or it is not live. */
  async liveValue(version: number): Promise<KvValue | undefined> {
    const row = (await runStatement<KvVersion & { ciphertext: Ciphertext | null }>(this.m, this.sql.liveValue, [this.key.id, version]))[0];
    return row && liveValue(this.values, this.mountUuid, this.path, row, row.ciphertext);
  }

  /** Stores `value` as `version`, sealed; gives its creation time. */
  async insertVersion(version: number, value: KvValue, deletionTime: Date | null): Promise<Date> {
    const ciphertext = await this.values.sealJson({ mountUuid: this.mountUuid, path: this.path, version }, value);
    const rows = await runStatement<{ created_at: Date }>(this.m, this.sql.insertVersion, [this.key.id, version, ciphertext, deletionTime]);
    return rows[0].created_at;
  }

  async saveKey(currentVersion: number, metadata: KvKeyMetadata): Promise<void> {
    await runStatement(this.m, this.sql.saveKey, [this.key.id, currentVersion, JSON.stringify(metadata)]);
  }

  /** Soft-deletes the named versions that are neither deleted nor destroyed. */
  async markDeleted(versions: number[], at: Date): Promise<void> {
    await this.m.query(this.sql.markDeleted, [this.key.id, versions, at]);
  }

  async undelete(versions: number[]): Promise<void> {
    await this.m.query(this.sql.undelete, [this.key.id, versions]);
  }

  async destroy(versions: number[]): Promise<void> {
    await this.m.query(this.sql.destroy, [this.key.id, versions]);
  }

  /** Removes every version below `oldestKept` (max_versions pruning). */
  async pruneBelow(oldestKept: number): Promise<void> {
    await runStatement(this.m, this.sql.pruneBelow, [this.key.id, oldestKept]);
  }

  async deleteKey(): Promise<void> {
    await this.m.query(this.sql.deleteKey, [this.key.id]);
  }
}

/** The read path's query in `dataSource`'s names, for the benchmark's EXPLAIN (bench/scenarios.ts). */
export function kvReadVersionSql(dataSource: DataSource): string {
  return kvV2Sql(kvV2Names(dataSource)).readVersion.text;
}

export class KvV2Repository {
  private readonly values: ValueColumn;
  private sql?: KvV2Sql;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.values = new SealedColumn(KV_V2_VALUE, barrier);
  }

  private get statements(): KvV2Sql {
    return (this.sql ??= kvV2Sql(kvV2Names(this.dataSource)));
  }

  async config(mountUuid: string): Promise<KvMountConfig> {
    return toConfig((await runStatement<ConfigRow>(this.dataSource, this.statements.config, [mountUuid]))[0]);
  }

  async setConfig(mountUuid: string, c: KvMountConfig): Promise<void> {
    await this.dataSource.query(this.statements.setConfig, [mountUuid, c.maxVersions, c.casRequired, c.deleteVersionAfterSeconds]);
  }

  /** The key and its versions, without locks (reads). */
  async read(mountUuid: string, path: string): Promise<{ key: KvKey; versions: KvVersion[] } | undefined> {
    const rows: KeyRow[] = await this.dataSource.query(this.statements.readKey, [mountUuid, path]);
    if (!rows[0]) return undefined;
    const versions: KvVersion[] = await this.dataSource.query(this.statements.versions.text, [rows[0].id]);
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
    const r = (await runStatement<Row>(this.dataSource, this.statements.readVersion, [mountUuid, path, version]))[0];
    if (!r) return undefined;
    if (r.v_version === null) return { key: toKey(r) };
    const found: KvVersion = { version: r.v_version, createdAt: r.v_created_at, deletionTime: r.deletion_time, destroyed: r.destroyed };
    return { key: toKey(r), version: found, value: open ? await liveValue(this.values, mountUuid, path, found, r.ciphertext, now) : undefined };
  }

  /**
   * Runs `work` on the key with its row locked. `create`: make the key row when missing (a write);
   * otherwise `work` is not run for a missing key and the result is undefined.
   */
  async withKey<T>(mountUuid: string, path: string, create: boolean, work: (tx: KvKeyTransaction) => Promise<T>): Promise<T | undefined> {
    const sql = this.statements;
    return this.dataSource.transaction(async (m) => {
      const lock = async () => (await runStatement<KeyRow & ConfigRow>(m, sql.lockKey, [mountUuid, path]))[0];
      // A new version of an existing key (the common write) takes one statement to lock; a new key three.
      let row = await lock();
      if (!row && create) {
        await runStatement(m, sql.createKey, [mountUuid, path, JSON.stringify(EMPTY_KEY_METADATA)]);
        row = await lock();
      }
      if (!row) return undefined;
      return work(new KvKeyTransaction(m, sql, this.values, mountUuid, path, toKey(row), toConfig(row)));
    });
  }
}
