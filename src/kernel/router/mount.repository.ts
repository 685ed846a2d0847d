/** Mount table rows. Changes run under a table lock so that concurrent enables on any node cannot nest or collide. */
import type { DataSource, EntityManager } from 'typeorm';
import { defaultMountConfig, type MountClass, type MountConfig, type MountEntry } from '../../framework/backend';
import { affectedRows } from '../../database/sql';

interface MountRow {
  uuid: string;
  path: string;
  class: MountClass;
  type: string;
  description: string;
  accessor: string;
  config: Partial<MountConfig>;
  options: Record<string, string>;
  local: boolean;
  seal_wrap: boolean;
  external_entropy_access: boolean;
}

function toEntry(row: MountRow): MountEntry {
  return {
    uuid: row.uuid,
    path: row.path,
    class: row.class,
    type: row.type,
    description: row.description,
    accessor: row.accessor,
    config: { ...defaultMountConfig(), ...row.config },
    options: row.options,
    local: row.local,
    sealWrap: row.seal_wrap,
    externalEntropyAccess: row.external_entropy_access,
  };
}

export class MountRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Every mount; inside `m`'s transaction when given. */
  async all(m: EntityManager | DataSource = this.dataSource): Promise<MountEntry[]> {
    const rows: MountRow[] = await m.query('SELECT * FROM mounts ORDER BY path');
    return rows.map(toEntry);
  }

  async find(m: EntityManager, path: string): Promise<MountEntry | undefined> {
    const rows: MountRow[] = await m.query('SELECT * FROM mounts WHERE path = $1', [path]);
    return rows[0] ? toEntry(rows[0]) : undefined;
  }

  /** Runs `work` in a transaction holding the mount table's write lock (readers are not blocked). */
  async locked<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (m) => {
      await m.query('LOCK TABLE mounts IN SHARE ROW EXCLUSIVE MODE');
      return work(m);
    });
  }

  async insert(m: EntityManager, e: MountEntry): Promise<void> {
    await m.query(
      `INSERT INTO mounts (uuid, path, class, type, description, accessor, config, options, local, seal_wrap, external_entropy_access)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11)`,
      [
        e.uuid,
        e.path,
        e.class,
        e.type,
        e.description,
        e.accessor,
        JSON.stringify(e.config),
        JSON.stringify(e.options),
        e.local,
        e.sealWrap,
        e.externalEntropyAccess,
      ],
    );
  }

  async update(m: EntityManager, e: MountEntry): Promise<void> {
    await m.query(`UPDATE mounts SET description = $2, config = $3::jsonb, options = $4::jsonb, updated_at = now() WHERE uuid = $1`, [
      e.uuid,
      e.description,
      JSON.stringify(e.config),
      JSON.stringify(e.options),
    ]);
  }

  /** Moves the mount to another path (sys/remount); engine rows reference its uuid and stay. */
  async updatePath(m: EntityManager, uuid: string, path: string): Promise<void> {
    await m.query('UPDATE mounts SET path = $2, updated_at = now() WHERE uuid = $1', [uuid, path]);
  }

  /** Deletes the mount; engine rows referencing it go with it (ON DELETE CASCADE). */
  async delete(m: EntityManager, uuid: string): Promise<boolean> {
    return (await affectedRows(m, 'DELETE FROM mounts WHERE uuid = $1', [uuid])) > 0;
  }
}
