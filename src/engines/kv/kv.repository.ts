/**
 * Rows of the `secrets` table (KV v1 values live on the row; KV v2 versions in `secret_versions`).
 * KV v1 values go in and come out in the clear only: they are sealed in KV_V1_VALUE, bound to mount and path.
 */
import type { DataSource } from 'typeorm';
import { entityNames, type EntityNames } from '../../database/entity-names';
import { affectedRows } from '../../database/sql';
import type { Barrier } from '../../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../../kernel/barrier/sealed-column';
import { KV_V1_VALUE } from '../../kernel/barrier/sealed-columns';
import { SecretEntity } from './kv.entity';

export type SecretType = 'kv-v1' | 'kv-v2';

/** The range of keys under a folder prefix (`a/` → [`a/`, `a0`)); prefixes always end in `/` or are empty. */
function folderRange(prefix: string): { from: string; to: string | null } {
  return prefix === '' ? { from: '', to: null } : { from: prefix, to: `${prefix.slice(0, -1)}0` };
}

type KvV1Sql = ReturnType<typeof kvV1Sql>;

function kvV1Sql({ table, col }: EntityNames<SecretEntity>) {
  return {
    /** $1 mount, $2 path. */
    stored: `SELECT ${col.encryptedData} AS encrypted_data FROM ${table}
       WHERE ${col.mountUuid} = $1 AND ${col.secretPath} = $2 AND ${col.secretType} = 'kv-v1'`,
    /** $1 mount, $2 path, $3 ciphertext. */
    put: `INSERT INTO ${table} (${col.mountUuid}, ${col.secretPath}, ${col.secretType}, ${col.encryptedData}) VALUES ($1, $2, 'kv-v1', $3)
       ON CONFLICT (${col.mountUuid}, ${col.secretPath}) DO UPDATE SET ${col.encryptedData} = EXCLUDED.${col.encryptedData}, ${col.updatedAt} = now()`,
    /** $1 mount, $2 path. */
    delete: `DELETE FROM ${table} WHERE ${col.mountUuid} = $1 AND ${col.secretPath} = $2`,
    /** $1 mount, $2 range start, $3 range end (null: none), $4 first character after the prefix. */
    listKeys: `SELECT DISTINCT CASE WHEN strpos(rest, '/') > 0 THEN left(rest, strpos(rest, '/')) ELSE rest END COLLATE "C" AS key
         FROM (SELECT substr(${col.secretPath}, $4) AS rest FROM ${table}
                WHERE ${col.mountUuid} = $1 AND ${col.secretPath} >= $2 AND ($3::text IS NULL OR ${col.secretPath} < $3)) s
        ORDER BY key`,
  };
}

export class KvRepository {
  private readonly values: SealedColumn<{ mountUuid: string; path: string }>;
  private sql?: KvV1Sql;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.values = new SealedColumn(KV_V1_VALUE, barrier);
  }

  private get statements(): KvV1Sql {
    return (this.sql ??= kvV1Sql(entityNames(this.dataSource, SecretEntity)));
  }

  private async storedV1(mountUuid: string, path: string): Promise<Ciphertext | undefined> {
    const rows: { encrypted_data: Ciphertext }[] = await this.dataSource.query(this.statements.stored, [mountUuid, path]);
    return rows[0]?.encrypted_data;
  }

  async existsV1(mountUuid: string, path: string): Promise<boolean> {
    return (await this.storedV1(mountUuid, path)) !== undefined;
  }

  /** The value at `path`, opened. */
  async getV1(mountUuid: string, path: string): Promise<Record<string, unknown> | undefined> {
    const stored = await this.storedV1(mountUuid, path);
    return stored && this.values.openJson<Record<string, unknown>>({ mountUuid, path }, stored);
  }

  async putV1(mountUuid: string, path: string, value: Record<string, unknown>): Promise<void> {
    const ciphertext = await this.values.sealJson({ mountUuid, path }, value);
    await this.dataSource.query(this.statements.put, [mountUuid, path, ciphertext]);
  }

  async delete(mountUuid: string, path: string): Promise<boolean> {
    return (await affectedRows(this.dataSource, this.statements.delete, [mountUuid, path])) > 0;
  }

  /** The next path segment of every key under `prefix`: `"name"` for keys, `"name/"` for folders, sorted bytewise. */
  async listKeys(mountUuid: string, prefix: string): Promise<string[]> {
    const { from, to } = folderRange(prefix);
    const rows: { key: string }[] = await this.dataSource.query(this.statements.listKeys, [mountUuid, from, to, [...prefix].length + 1]);
    return rows.map((r) => r.key);
  }
}
