/**
 * Rows of the `secrets` table (KV v1 values live on the row; KV v2 versions in `secret_versions`).
 * KV v1 values go in and come out in the clear only: they are sealed in KV_V1_VALUE, bound to mount and path.
 */
import type { DataSource } from 'typeorm';
import { affectedRows } from '../../database/sql';
import type { Barrier } from '../../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../../kernel/barrier/sealed-column';
import { KV_V1_VALUE } from '../../kernel/barrier/sealed-columns';

export type SecretType = 'kv-v1' | 'kv-v2';

/** The range of keys under a folder prefix (`a/` → [`a/`, `a0`)); prefixes always end in `/` or are empty. */
function folderRange(prefix: string): { from: string; to: string | null } {
  return prefix === '' ? { from: '', to: null } : { from: prefix, to: `${prefix.slice(0, -1)}0` };
}

export class KvRepository {
  private readonly values: SealedColumn<{ mountUuid: string; path: string }>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.values = new SealedColumn(KV_V1_VALUE, barrier);
  }

  private async storedV1(mountUuid: string, path: string): Promise<Ciphertext | undefined> {
    const rows: { encrypted_data: Ciphertext }[] = await this.dataSource.query(
      `SELECT encrypted_data FROM secrets WHERE mount_uuid = $1 AND secret_path = $2 AND secret_type = 'kv-v1'`,
      [mountUuid, path],
    );
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
    await this.dataSource.query(
      `INSERT INTO secrets (mount_uuid, secret_path, secret_type, encrypted_data) VALUES ($1, $2, 'kv-v1', $3)
       ON CONFLICT (mount_uuid, secret_path) DO UPDATE SET encrypted_data = EXCLUDED.encrypted_data, updated_at = now()`,
      [mountUuid, path, ciphertext],
    );
  }

  async delete(mountUuid: string, path: string): Promise<boolean> {
    return (await affectedRows(this.dataSource, 'DELETE FROM secrets WHERE mount_uuid = $1 AND secret_path = $2', [mountUuid, path])) > 0;
  }

  /** The next path segment of every key under `prefix`: `"name"` for keys, `"name/"` for folders, sorted bytewise. */
  async listKeys(mountUuid: string, prefix: string): Promise<string[]> {
    const { from, to } = folderRange(prefix);
    const rows: { key: string }[] = await this.dataSource.query(
      `SELECT DISTINCT CASE WHEN strpos(rest, '/') > 0 THEN left(rest, strpos(rest, '/')) ELSE rest END COLLATE "C" AS key
         FROM (SELECT substr(secret_path, $4) AS rest FROM secrets
                WHERE mount_uuid = $1 AND secret_path >= $2 AND ($3::text IS NULL OR secret_path < $3)) s
        ORDER BY key`,
      [mountUuid, from, to, [...prefix].length + 1],
    );
    return rows.map((r) => r.key);
  }
}
