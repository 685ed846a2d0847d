/**
 * Rows of `audit_devices`: one per enabled device. The salt is sealed in AUDIT_DEVICE_SALT, bound
 * to the device's uuid: it goes in and comes out of this class in the clear only.
 */
import type { DataSource, Repository } from 'typeorm';
import { columnNames } from '../database/entity-names';
import type { Barrier } from '../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../kernel/barrier/sealed-column';
import { AUDIT_DEVICE_SALT } from '../kernel/barrier/sealed-columns';
import { AuditDeviceEntity } from './audit.entity';

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

  private get devices(): Repository<AuditDeviceEntity> {
    return this.dataSource.getRepository(AuditDeviceEntity);
  }

  /** The device's salt, opened (a fresh Buffer). */
  openSalt(row: Pick<AuditDeviceRow, 'uuid' | 'saltCiphertext'>): Promise<Buffer> {
    return this.salts.open(row.uuid, row.saltCiphertext);
  }

  async all(): Promise<AuditDeviceRow[]> {
    const rows = await this.devices.find({
      select: { path: true, uuid: true, type: true, description: true, options: true, local: true, saltCiphertext: true },
      order: { path: 'ASC' },
    });
    return rows.map((r) => ({
      path: r.path,
      uuid: r.uuid,
      type: r.type,
      description: r.description,
      options: r.options,
      local: r.local,
      saltCiphertext: r.saltCiphertext as Ciphertext,
    }));
  }

  /** Stores the device with its salt sealed; gives the row, or undefined when a device already uses the path. */
  async insert(device: AuditDeviceFields & { salt: Buffer }): Promise<AuditDeviceRow | undefined> {
    const { salt, ...fields } = device;
    const row: AuditDeviceRow = { ...fields, saltCiphertext: await this.salts.seal(device.uuid, salt) };
    // ON CONFLICT (path) DO NOTHING: a clash on the uuid (the other key) still raises.
    const result = await this.devices
      .createQueryBuilder()
      .insert()
      .values({ ...row })
      .orUpdate([], columnNames(this.dataSource, AuditDeviceEntity, ['path']))
      .returning(['path'])
      .updateEntity(false)
      .execute();
    return (result.raw as unknown[]).length === 1 ? row : undefined;
  }

  async delete(path: string): Promise<boolean> {
    return ((await this.devices.delete({ path })).affected ?? 0) > 0;
  }
}
