/**
 * Connections and roles of `database` and `rabbitmq` mounts, each stored whole as barrier ciphertext
 * bound to mount, kind and name (the mount uuid keeps engines and mounts apart).
 */
import type { DataSource } from 'typeorm';
import type { Barrier } from '../../kernel/barrier/barrier';

export type DatabaseObjectKind = 'connection' | 'role' | 'static-role';

const location = (mountUuid: string, kind: DatabaseObjectKind, name: string) => `secrets/${mountUuid}/database/${kind}/${name}`;

export class DatabaseObjectRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly barrier: Barrier,
  ) {}

  async get<T>(mountUuid: string, kind: DatabaseObjectKind, name: string): Promise<T | undefined> {
    const rows: { value_ciphertext: Buffer }[] = await this.dataSource.query('SELECT value_ciphertext FROM database_objects WHERE mount_uuid = $1 AND kind = $2 AND name = $3', [mountUuid, kind, name]);
    return rows[0] ? (JSON.parse(this.barrier.decrypt(location(mountUuid, kind, name), rows[0].value_ciphertext).toString('utf8')) as T) : undefined;
  }

  async put(mountUuid: string, kind: DatabaseObjectKind, name: string, value: unknown): Promise<void> {
    const ciphertext = await this.barrier.encrypt(location(mountUuid, kind, name), Buffer.from(JSON.stringify(value), 'utf8'));
    await this.dataSource.query(
      `INSERT INTO database_objects (mount_uuid, kind, name, value_ciphertext) VALUES ($1, $2, $3, $4)
       ON CONFLICT (mount_uuid, kind, name) DO UPDATE SET value_ciphertext = EXCLUDED.value_ciphertext, updated_at = now()`,
      [mountUuid, kind, name, ciphertext],
    );
  }

  /**
   * Reads, changes and writes one object in a transaction holding its row lock, so concurrent
   * changes (two rotations) are serialised. `change` returns the new value, or undefined to leave
   * the object as it is; gives what is stored afterwards.
   */
  async modify<T>(mountUuid: string, kind: DatabaseObjectKind, name: string, change: (current: T) => T | undefined): Promise<T | undefined> {
    const where = location(mountUuid, kind, name);
    return this.dataSource.transaction(async (m) => {
      const rows: { value_ciphertext: Buffer }[] = await m.query('SELECT value_ciphertext FROM database_objects WHERE mount_uuid = $1 AND kind = $2 AND name = $3 FOR UPDATE', [mountUuid, kind, name]);
      if (!rows[0]) return undefined;
      const current = JSON.parse(this.barrier.decrypt(where, rows[0].value_ciphertext).toString('utf8')) as T;
      const next = change(current);
      if (next === undefined) return current;
      const ciphertext = await this.barrier.encrypt(where, Buffer.from(JSON.stringify(next), 'utf8'));
      await m.query('UPDATE database_objects SET value_ciphertext = $4, updated_at = now() WHERE mount_uuid = $1 AND kind = $2 AND name = $3', [mountUuid, kind, name, ciphertext]);
      return next;
    });
  }

  async delete(mountUuid: string, kind: DatabaseObjectKind, name: string): Promise<void> {
    await this.dataSource.query('DELETE FROM database_objects WHERE mount_uuid = $1 AND kind = $2 AND name = $3', [mountUuid, kind, name]);
  }

  async names(mountUuid: string, kind: DatabaseObjectKind): Promise<string[]> {
    const rows: { name: string }[] = await this.dataSource.query('SELECT name FROM database_objects WHERE mount_uuid = $1 AND kind = $2 ORDER BY name', [mountUuid, kind]);
    return rows.map((r) => r.name);
  }
}
