/**
 * Engines' configuration objects (database connections and roles, rabbitmq connection and roles,
 * pki roles and settings), each stored whole as barrier ciphertext bound to mount, kind and name
 * (the mount uuid keeps engines and mounts apart; the kind is the engine's own word).
 */
import type { DataSource } from 'typeorm';
import type { Barrier } from '../kernel/barrier/barrier';

// The AAD keeps its first form (`…/database/…`) from before the table was generalised: stored ciphertexts stay readable.
const location = (mountUuid: string, kind: string, name: string) => `secrets/${mountUuid}/database/${kind}/${name}`;

export class EngineObjectRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly barrier: Barrier,
  ) {}

  async get<T>(mountUuid: string, kind: string, name: string): Promise<T | undefined> {
    const rows: { value_ciphertext: Buffer }[] = await this.dataSource.query('SELECT value_ciphertext FROM engine_objects WHERE mount_uuid = $1 AND kind = $2 AND name = $3', [mountUuid, kind, name]);
    return rows[0] ? (JSON.parse(this.barrier.decrypt(location(mountUuid, kind, name), rows[0].value_ciphertext).toString('utf8')) as T) : undefined;
  }

  async put(mountUuid: string, kind: string, name: string, value: unknown): Promise<void> {
    const ciphertext = await this.barrier.encrypt(location(mountUuid, kind, name), Buffer.from(JSON.stringify(value), 'utf8'));
    await this.dataSource.query(
      `INSERT INTO engine_objects (mount_uuid, kind, name, value_ciphertext) VALUES ($1, $2, $3, $4)
       ON CONFLICT (mount_uuid, kind, name) DO UPDATE SET value_ciphertext = EXCLUDED.value_ciphertext, updated_at = now()`,
      [mountUuid, kind, name, ciphertext],
    );
  }

  /**
   * Reads, changes and writes one object in a transaction holding its row lock, so concurrent
   * changes (two rotations) are serialised. `change` returns the new value, or undefined to leave
   * the object as it is; gives what is stored afterwards.
   */
  async modify<T>(mountUuid: string, kind: string, name: string, change: (current: T) => T | undefined): Promise<T | undefined> {
    const where = location(mountUuid, kind, name);
    return this.dataSource.transaction(async (m) => {
      const rows: { value_ciphertext: Buffer }[] = await m.query('SELECT value_ciphertext FROM engine_objects WHERE mount_uuid = $1 AND kind = $2 AND name = $3 FOR UPDATE', [mountUuid, kind, name]);
      if (!rows[0]) return undefined;
      const current = JSON.parse(this.barrier.decrypt(where, rows[0].value_ciphertext).toString('utf8')) as T;
      const next = change(current);
      if (next === undefined) return current;
      const ciphertext = await this.barrier.encrypt(where, Buffer.from(JSON.stringify(next), 'utf8'));
      await m.query('UPDATE engine_objects SET value_ciphertext = $4, updated_at = now() WHERE mount_uuid = $1 AND kind = $2 AND name = $3', [mountUuid, kind, name, ciphertext]);
      return next;
    });
  }

  async delete(mountUuid: string, kind: string, name: string): Promise<void> {
    await this.dataSource.query('DELETE FROM engine_objects WHERE mount_uuid = $1 AND kind = $2 AND name = $3', [mountUuid, kind, name]);
  }

  async names(mountUuid: string, kind: string): Promise<string[]> {
    const rows: { name: string }[] = await this.dataSource.query('SELECT name FROM engine_objects WHERE mount_uuid = $1 AND kind = $2 ORDER BY name', [mountUuid, kind]);
    return rows.map((r) => r.name);
  }
}
