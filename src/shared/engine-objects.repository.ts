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
import type { LeaderFence } from '../framework/backend';
import type { DataSource, Repository } from 'typeorm';
import type { Barrier } from '../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../kernel/barrier/sealed-column';
import { ENGINE_OBJECT_VALUE } from '../kernel/barrier/sealed-columns';
import type { InvalidationBus } from '../kernel/cluster/invalidation-bus';
import { EngineObjectEntity } from './engine-object.entity';

const KEY_COLUMNS = { mountUuid: true, kind: true, name: true } as const;
const VALUE_COLUMNS = { ...KEY_COLUMNS, valueCiphertext: true } as const;

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

  private get objects(): Repository<EngineObjectEntity> {
    return this.dataSource.getRepository(EngineObjectEntity);
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
    const row = await this.objects.findOne({ select: VALUE_COLUMNS, where: { mountUuid, kind, name } });
    const json = row ? (await this.values.open({ mountUuid, kind, name }, row.valueCiphertext as Ciphertext)).toString('utf8') : null;
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
    await this.objects.upsert({ mountUuid, kind, name, valueCiphertext: ciphertext, updatedAt: () => 'now()' }, ['mountUuid', 'kind', 'name']);
    await this.changed(mountUuid, kind, name);
  }

  /**
   * Reads, changes and writes one object in a transaction holding its row lock, so concurrent
   * changes (two rotations) are serialised. `change` returns the new value, or undefined to leave
   * the object as it is; gives what is stored afterwards.
   */
  async modify<T>(mountUuid: string, kind: string, name: string, change: (current: T) => T | undefined, fence?: LeaderFence): Promise<T | undefined> {
    const where = { mountUuid, kind, name };
    const stored = await this.dataSource.transaction(async (m) => {
      const objects = m.getRepository(EngineObjectEntity);
      const row = await objects.findOne({ select: VALUE_COLUMNS, where, lock: { mode: 'pessimistic_write' } });
      if (!row) return undefined;
      const current = await this.values.openJson<T>(where, row.valueCiphertext as Ciphertext);
      const next = change(current);
      if (next === undefined) return current;
      const ciphertext = await this.values.sealJson(where, next);
      await objects.update(where, { valueCiphertext: ciphertext, updatedAt: () => 'now()' });
      // Singleton work (a periodic rotation): the change commits only while this process holds the leader lease.
      if (fence) await fence.checkFence(m);
      return next;
    });
    await this.changed(mountUuid, kind, name);
    return stored;
  }

  async delete(mountUuid: string, kind: string, name: string): Promise<void> {
    await this.objects.delete({ mountUuid, kind, name });
    await this.changed(mountUuid, kind, name);
  }

  async names(mountUuid: string, kind: string): Promise<string[]> {
    const rows = await this.objects.find({ select: KEY_COLUMNS, where: { mountUuid, kind }, order: { name: 'ASC' } });
    return rows.map((r) => r.name);
  }
}
