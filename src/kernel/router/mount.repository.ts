/** Mount table rows. Changes run under a table lock so that concurrent enables on any node cannot nest or collide. */
import type { DataSource, EntityManager, Repository } from 'typeorm';
import { entityNames } from '../../database/entity-names';
import { defaultMountConfig, type MountClass, type MountConfig, type MountEntry } from '../../framework/backend';
import { MountEntity } from './mount.entity';

function toEntry(row: MountEntity): MountEntry {
  return {
    uuid: row.uuid,
    path: row.path,
    class: row.class as MountClass,
    type: row.type,
    description: row.description,
    accessor: row.accessor,
    config: { ...defaultMountConfig(), ...(row.config as Partial<MountConfig>) },
    options: row.options as Record<string, string>,
    local: row.local,
    sealWrap: row.sealWrap,
    externalEntropyAccess: row.externalEntropyAccess,
  };
}

/** Every column but the timestamps: what a mount entry holds. */
const ENTRY_COLUMNS = {
  uuid: true,
  path: true,
  class: true,
  type: true,
  description: true,
  accessor: true,
  config: true,
  options: true,
  local: true,
  sealWrap: true,
  externalEntropyAccess: true,
} as const;

export class MountRepository {
  constructor(private readonly dataSource: DataSource) {}

  private mounts(m: EntityManager | DataSource): Repository<MountEntity> {
    return m.getRepository(MountEntity);
  }

  /** Every mount; inside `m`'s transaction when given. */
  async all(m: EntityManager | DataSource = this.dataSource): Promise<MountEntry[]> {
    return (await this.mounts(m).find({ select: ENTRY_COLUMNS, order: { path: 'ASC' } })).map(toEntry);
  }

  async find(m: EntityManager, path: string): Promise<MountEntry | undefined> {
    const row = await this.mounts(m).findOne({ select: ENTRY_COLUMNS, where: { path } });
    return row ? toEntry(row) : undefined;
  }

  /** Runs `work` in a transaction holding the mount table's write lock (readers are not blocked). */
  async locked<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (m) => {
      // A table lock: the entity API locks rows only.
      await m.query(`LOCK TABLE ${entityNames(m, MountEntity).table} IN SHARE ROW EXCLUSIVE MODE`);
      return work(m);
    });
  }

  async insert(m: EntityManager, e: MountEntry): Promise<void> {
    await this.mounts(m)
      .createQueryBuilder()
      .insert()
      .values({
        uuid: e.uuid,
        path: e.path,
        class: e.class,
        type: e.type,
        description: e.description,
        accessor: e.accessor,
        config: e.config as object,
        options: e.options,
        local: e.local,
        sealWrap: e.sealWrap,
        externalEntropyAccess: e.externalEntropyAccess,
      })
      .updateEntity(false)
      .execute();
  }

  async update(m: EntityManager, e: MountEntry): Promise<void> {
    await this.mounts(m).update({ uuid: e.uuid }, { description: e.description, config: e.config as object, options: e.options, updatedAt: () => 'now()' });
  }

  /** Moves the mount to another path (sys/remount); engine rows reference its uuid and stay. */
  async updatePath(m: EntityManager, uuid: string, path: string): Promise<void> {
    await this.mounts(m).update({ uuid }, { path, updatedAt: () => 'now()' });
  }

  /** Deletes the mount; engine rows referencing it go with it (ON DELETE CASCADE). */
  async delete(m: EntityManager, uuid: string): Promise<boolean> {
    return ((await this.mounts(m).delete({ uuid })).affected ?? 0) > 0;
  }
}
