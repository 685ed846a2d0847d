/**
 * Engines' configuration objects (database connections and roles, rabbitmq connection and roles,
 * pki roles and settings, cert auth entries), each stored whole as barrier ciphertext bound to
 * mount, kind and name (the mount uuid keeps engines and mounts apart; the kind is the engine's own
 * word).
 *
 * Reads are cached as plaintext JSON (parsed afresh for each caller, so no caller can change what
 * another reads), as the token and policy caches are: every write drops its entry on every node
 * through the invalidation bus after it commits; the cache serves only while the bus is live, a
 * read that raced an invalidation is not cached, and clear() (at seal) forgets every plaintext.
 */
import type { DataSource } from 'typeorm';
import type { Barrier } from '../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../kernel/barrier/sealed-column';
import { ENGINE_OBJECT_VALUE } from '../kernel/barrier/sealed-columns';
import type { InvalidationBus } from '../kernel/cluster/invalidation-bus';

const cacheKey = (mountUuid: string, kind: string, name: string) => JSON.stringify([mountUuid, kind, name]);

export class EngineObjectRepository {
  /** Plaintext JSON by cacheKey; null: known absent. */
  private readonly cache = new Map<string, string | null>();
  private readonly values: SealedColumn<{ mountUuid: string; kind: string; name: string }>;

  /** Without a bus (single process, tests) the cache always serves. */
  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
    private readonly bus?: InvalidationBus,
  ) {
    this.values = new SealedColumn(ENGINE_OBJECT_VALUE, barrier);
    bus?.subscribe((i) => {
      if (i.topic === 'engine-objects' && i.key !== undefined) this.cache.delete(i.key);
      else if (i.topic === undefined || i.topic === 'engine-objects' || i.topic === 'mounts') this.cache.clear();
    });
  }

  /** Forgets every cached plaintext (at seal). */
  clear(): void {
    this.cache.clear();
  }

  async get<T>(mountUuid: string, kind: string, name: string): Promise<T | undefined> {
    const key = cacheKey(mountUuid, kind, name);
    const serves = !this.bus || this.bus.live;
    const cached = serves ? this.cache.get(key) : undefined;
    if (cached !== undefined) return cached === null ? undefined : (JSON.parse(cached) as T);
    const generation = this.bus?.generation;
    const rows: { value_ciphertext: Ciphertext }[] = await this.dataSource.query(
      'SELECT value_ciphertext FROM engine_objects WHERE mount_uuid = $1 AND kind = $2 AND name = $3',
      [mountUuid, kind, name],
    );
    const json = rows[0] ? this.values.open({ mountUuid, kind, name }, rows[0].value_ciphertext).toString('utf8') : null;
    if (serves && this.bus?.generation === generation) this.cache.set(key, json);
    return json === null ? undefined : (JSON.parse(json) as T);
  }

  /** After a committed change: drops the entry here and on every node. */
  private async changed(mountUuid: string, kind: string, name: string): Promise<void> {
    const key = cacheKey(mountUuid, kind, name);
    if (this.bus) await this.bus.publish('engine-objects', key);
    else this.cache.delete(key);
  }

  async put(mountUuid: string, kind: string, name: string, value: unknown): Promise<void> {
    const ciphertext = await this.values.sealJson({ mountUuid, kind, name }, value);
    await this.dataSource.query(
      `INSERT INTO engine_objects (mount_uuid, kind, name, value_ciphertext) VALUES ($1, $2, $3, $4)
       ON CONFLICT (mount_uuid, kind, name) DO UPDATE SET value_ciphertext = EXCLUDED.value_ciphertext, updated_at = now()`,
      [mountUuid, kind, name, ciphertext],
    );
    await this.changed(mountUuid, kind, name);
  }

  /**
   * Reads, changes and writes one object in a transaction holding its row lock, so concurrent
   * changes (two rotations) are serialised. `change` returns the new value, or undefined to leave
   * the object as it is; gives what is stored afterwards.
   */
  async modify<T>(mountUuid: string, kind: string, name: string, change: (current: T) => T | undefined): Promise<T | undefined> {
    const where = { mountUuid, kind, name };
    const stored = await this.dataSource.transaction(async (m) => {
      const rows: { value_ciphertext: Ciphertext }[] = await m.query(
        'SELECT value_ciphertext FROM engine_objects WHERE mount_uuid = $1 AND kind = $2 AND name = $3 FOR UPDATE',
        [mountUuid, kind, name],
      );
      if (!rows[0]) return undefined;
      const current = this.values.openJson<T>(where, rows[0].value_ciphertext);
      const next = change(current);
      if (next === undefined) return current;
      const ciphertext = await this.values.sealJson(where, next);
      await m.query('UPDATE engine_objects SET value_ciphertext = $4, updated_at = now() WHERE mount_uuid = $1 AND kind = $2 AND name = $3', [
        mountUuid,
        kind,
        name,
        ciphertext,
      ]);
      return next;
    });
    await this.changed(mountUuid, kind, name);
    return stored;
  }

  async delete(mountUuid: string, kind: string, name: string): Promise<void> {
    await this.dataSource.query('DELETE FROM engine_objects WHERE mount_uuid = $1 AND kind = $2 AND name = $3', [mountUuid, kind, name]);
    await this.changed(mountUuid, kind, name);
  }

  async names(mountUuid: string, kind: string): Promise<string[]> {
    const rows: { name: string }[] = await this.dataSource.query('SELECT name FROM engine_objects WHERE mount_uuid = $1 AND kind = $2 ORDER BY name', [
      mountUuid,
      kind,
    ]);
    return rows.map((r) => r.name);
  }
}
