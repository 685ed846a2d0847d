/**
 * Rows of `audit_devices`: one per enabled device. The salt is sealed in AUDIT_DEVICE_SALT, bound
 * to the device's uuid: it goes in and comes out of this class in the clear only.
 */
import type { DataSource } from 'typeorm';
import type { Barrier } from '../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../kernel/barrier/sealed-column';
import { AUDIT_DEVICE_SALT } from '../kernel/barrier/sealed-columns';

interface AuditDeviceFields {
  path: string;
  uuid: string;
  type: string;
  description: string;
  options: Record<string, string>;
  local: boolean;
}

export interface AuditDeviceRow extends AuditDeviceFields {
  /** Sealed: openSalt opens it. */
  saltCiphertext: Ciphertext;
}

export class AuditDeviceRepository {
  private readonly salts: SealedColumn<string>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.salts = new SealedColumn(AUDIT_DEVICE_SALT, barrier);
  }

  /** The device's salt, opened (a fresh Buffer). */
  openSalt(row: Pick<AuditDeviceRow, 'uuid' | 'saltCiphertext'>): Buffer {
    return this.salts.open(row.uuid, row.saltCiphertext);
  }

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
      saltCiphertext: r.salt_ciphertext as Ciphertext,
    }));
  }

  /** Stores the device with its salt sealed; gives the row, or undefined when a device already uses the path. */
  async insert(device: AuditDeviceFields & { salt: Buffer }): Promise<AuditDeviceRow | undefined> {
    const { salt, ...fields } = device;
    const row: AuditDeviceRow = { ...fields, saltCiphertext: await this.salts.seal(device.uuid, salt) };
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO audit_devices (path, uuid, type, description, options, local, salt_ciphertext) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (path) DO NOTHING RETURNING path`,
      [row.path, row.uuid, row.type, row.description, JSON.stringify(row.options), row.local, row.saltCiphertext],
    );
    return rows.length === 1 ? row : undefined;
  }

  async delete(path: string): Promise<boolean> {
    const result: unknown = await this.dataSource.query('DELETE FROM audit_devices WHERE path = $1 RETURNING path', [path]);
    const rows = Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as unknown[]) : (result as unknown[]);
    return rows.length > 0;
  }
}
