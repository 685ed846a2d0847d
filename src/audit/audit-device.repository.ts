/** Rows of `audit_devices`: one per enabled device; the salt is barrier ciphertext. */
import type { DataSource } from 'typeorm';

export interface AuditDeviceRow {
  path: string;
  uuid: string;
  type: string;
  description: string;
  options: Record<string, string>;
  local: boolean;
  saltCiphertext: Buffer;
}

export function saltLocation(uuid: string): string {
  return `audit_devices/salt_ciphertext/${uuid}`;
}

export class AuditDeviceRepository {
  constructor(private readonly dataSource: DataSource) {}

  async all(): Promise<AuditDeviceRow[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      'SELECT path, uuid, type, description, options, local, salt_ciphertext FROM audit_devices ORDER BY path',
    );
    return rows.map((r) => ({
      path: r.path as string,
      uuid: r.uuid as string,
      type: r.type as string,
      description: r.description as string,
      options: r.options as Record<string, string>,
      local: r.local as boolean,
      saltCiphertext: r.salt_ciphertext as Buffer,
    }));
  }

  /** False when a device already uses the path. */
  async insert(row: AuditDeviceRow): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO audit_devices (path, uuid, type, description, options, local, salt_ciphertext) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (path) DO NOTHING RETURNING path`,
      [row.path, row.uuid, row.type, row.description, JSON.stringify(row.options), row.local, row.saltCiphertext],
    );
    return rows.length === 1;
  }

  async delete(path: string): Promise<boolean> {
    const result: unknown = await this.dataSource.query('DELETE FROM audit_devices WHERE path = $1 RETURNING path', [path]);
    const rows = Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as unknown[]) : (result as unknown[]);
    return rows.length > 0;
  }
}
