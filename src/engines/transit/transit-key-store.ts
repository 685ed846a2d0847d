/**
 * The one way the transit paths reach keys: policies and opened versions by (mount, name), and
 * every change to them. Reads are served from a cache per mount (Vault's lock manager cache): a
 * key's policy and the versions opened so far, least recently used first out once the mount's
 * `cache-config` size is exceeded (0: unbounded, as Vault), plus the mount's own settings.
 *
 * Invariants:
 * - every change goes through here and drops what it touched after it commits, on this node at once
 *   and on the others through the invalidation bus ('transit' topic, key `[mount uuid, name]`; a
 *   change of the mount's settings, `[mount uuid]`, drops all the mount holds, so a new size applies
 *   at once), so a change is visible to the next read on this node once its promise resolves, and on
 *   the others once the notification arrives;
 * - the cache serves only while the bus is live (without a bus, always); a lost connection, a mount
 *   table change ('mounts') and seal drop everything;
 * - a read that raced an invalidation (the epoch moved while it read) is returned but not cached;
 * - cached policies are frozen, and key material handed out is never written by the store nor, by
 *   convention, by its callers.
 */
import type { LeaderFence } from '../../framework/backend';
import type { KeyVersionMaterial } from '../../crypto/transit/key-types';
import type { InvalidationBus } from '../../kernel/cluster/invalidation-bus';
import type {
  NewTransitKey,
  NewTransitVersion,
  TransitHistoryEntry,
  TransitHistoryRow,
  TransitKeyPolicy,
  TransitMountConfig,
  TransitRepository,
  TransitUpdate,
} from './transit.repository';

interface CachedKey {
  /** undefined: not read yet; null: known absent. */
  policy?: TransitKeyPolicy | null;
  versions: Map<number, KeyVersionMaterial>;
}

interface MountCache {
  config?: TransitMountConfig;
  /** By name, least recently used first. */
  keys: Map<string, CachedKey>;
}

const keyTopicKey = (mountUuid: string, name?: string) => JSON.stringify(name === undefined ? [mountUuid] : [mountUuid, name]);

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export class TransitKeyStore {
  private readonly mounts = new Map<string, MountCache>();
  /** Bumped on every drop made here; with the bus's generation, tells a read it raced one. */
  private drops = 0;

  /** Without a bus (single process, tests) the cache always serves. */
  constructor(
    readonly repository: TransitRepository,
    private readonly bus?: InvalidationBus,
  ) {
    bus?.subscribe((i) => {
      if (i.topic === undefined || i.topic === 'mounts') this.clear();
      else if (i.topic === 'transit') this.dropKey(i.key);
    });
  }

  /** Forgets every cached policy and key (at seal, or when notifications may have been missed). */
  clear(): void {
    this.drops++;
    this.mounts.clear();
  }

  private get serves(): boolean {
    return !this.bus || this.bus.live;
  }

  private epoch(): number {
    return this.drops + (this.bus?.generation ?? 0);
  }

  private mayCache(epoch: number): boolean {
    return this.serves && this.epoch() === epoch;
  }

  private dropKey(key: string | undefined): void {
    let parsed: unknown;
    try {
      parsed = key === undefined ? undefined : JSON.parse(key);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'string') return this.clear();
    this.drops++;
    if (parsed.length === 1) this.mounts.delete(parsed[0]);
    else this.mounts.get(parsed[0])?.keys.delete(String(parsed[1]));
  }

  /** After a committed change: drops it here and on every node. */
  private async changed(mountUuid: string, name?: string): Promise<void> {
    const key = keyTopicKey(mountUuid, name);
    if (this.bus) await this.bus.publish('transit', key);
    else this.dropKey(key);
  }

  private mountCache(mountUuid: string): MountCache {
    let m = this.mounts.get(mountUuid);
    if (!m) this.mounts.set(mountUuid, (m = { keys: new Map() }));
    return m;
  }

  /** The key's cache entry when cached (made most recently used), else undefined. */
  private cachedKey(mountUuid: string, name: string): CachedKey | undefined {
    const keys = this.mounts.get(mountUuid)?.keys;
    const entry = keys?.get(name);
    if (entry && keys) {
      keys.delete(name);
      keys.set(name, entry);
    }
    return entry;
  }

  /** The key's entry, created if missing; the mount's least recently used keys leave beyond its size. */
  private async keyEntry(mountUuid: string, name: string): Promise<CachedKey> {
    const existing = this.cachedKey(mountUuid, name);
    if (existing) return existing;
    const { cacheSize } = await this.mountConfig(mountUuid);
    const keys = this.mountCache(mountUuid).keys;
    const entry: CachedKey = keys.get(name) ?? { versions: new Map() };
    keys.set(name, entry);
    if (cacheSize > 0)
      for (const oldest of keys.keys()) {
        if (keys.size <= cacheSize) break;
        keys.delete(oldest);
      }
    return entry;
  }

  names(mountUuid: string): Promise<string[]> {
    return this.repository.names(mountUuid);
  }

  async policy(mountUuid: string, name: string): Promise<TransitKeyPolicy | undefined> {
    if (this.serves) {
      const cached = this.cachedKey(mountUuid, name)?.policy;
      if (cached !== undefined) return cached ?? undefined;
    }
    const epoch = this.epoch();
    const policy = await this.repository.policy(mountUuid, name);
    if (this.mayCache(epoch)) {
      const entry = await this.keyEntry(mountUuid, name);
      if (this.mayCache(epoch)) entry.policy = policy ? deepFreeze(policy) : null;
    }
    return policy;
  }

  async material(mountUuid: string, name: string, version: number): Promise<KeyVersionMaterial | undefined> {
    if (this.serves) {
      const cached = this.cachedKey(mountUuid, name)?.versions.get(version);
      if (cached) return cached;
    }
    const epoch = this.epoch();
    const material = await this.repository.keyMaterial(mountUuid, name, version);
    if (material && this.mayCache(epoch)) {
      const entry = await this.keyEntry(mountUuid, name);
      if (this.mayCache(epoch)) entry.versions.set(version, material);
    }
    return material;
  }

  async create(mountUuid: string, name: string, key: NewTransitKey, versions: NewTransitVersion[], history?: TransitHistoryEntry): Promise<boolean> {
    const created = await this.repository.create(mountUuid, name, key, versions, history);
    // Absence may have been cached, here or elsewhere.
    await this.changed(mountUuid, name);
    return created;
  }

  async update(
    mountUuid: string,
    name: string,
    decide: (current: TransitKeyPolicy) => TransitUpdate,
    fence?: LeaderFence,
  ): Promise<TransitKeyPolicy | undefined> {
    const updated = await this.repository.update(mountUuid, name, decide, fence);
    if (updated) await this.changed(mountUuid, name);
    return updated;
  }

  async trim(
    mountUuid: string,
    name: string,
    decide: (current: TransitKeyPolicy) => number,
    history?: TransitHistoryEntry,
  ): Promise<TransitKeyPolicy | undefined> {
    const trimmed = await this.repository.trim(mountUuid, name, decide, history);
    if (trimmed) await this.changed(mountUuid, name);
    return trimmed;
  }

  async delete(mountUuid: string, name: string): Promise<void> {
    await this.repository.delete(mountUuid, name);
    await this.changed(mountUuid, name);
  }

  async restore(
    mountUuid: string,
    name: string,
    key: NewTransitKey,
    versions: (NewTransitVersion & { version: number })[],
    force: boolean,
    history?: TransitHistoryEntry,
  ): Promise<boolean> {
    const restored = await this.repository.restore(mountUuid, name, key, versions, force, history);
    if (restored) await this.changed(mountUuid, name);
    return restored;
  }

  async replaceVersion(
    mountUuid: string,
    name: string,
    version: number,
    decide: (current: TransitKeyPolicy) => NewTransitVersion,
  ): Promise<TransitKeyPolicy | undefined> {
    const replaced = await this.repository.replaceVersion(mountUuid, name, version, decide);
    if (replaced) await this.changed(mountUuid, name);
    return replaced;
  }

  async mountConfig(mountUuid: string): Promise<TransitMountConfig> {
    if (this.serves) {
      const cached = this.mounts.get(mountUuid)?.config;
      if (cached) return cached;
    }
    const epoch = this.epoch();
    const config = await this.repository.mountConfig(mountUuid);
    if (this.mayCache(epoch)) this.mountCache(mountUuid).config = Object.freeze(config);
    return config;
  }

  async setMountConfig(mountUuid: string, change: Partial<TransitMountConfig>): Promise<TransitMountConfig> {
    const config = await this.repository.setMountConfig(mountUuid, change);
    await this.changed(mountUuid);
    return config;
  }

  /**
   * Adds counted operations to a version (transit-usage.ts). Not a change of the key: caches keep
   * their policy, whose `operations` is then only a lower bound the usage counter improves on.
   */
  addUsage(mountUuid: string, name: string, version: number, delta: number): Promise<number> {
    return this.repository.addUsage(mountUuid, name, version, delta);
  }

  history(mountUuid: string, name: string, events?: TransitHistoryEntry['event'][]): Promise<TransitHistoryRow[]> {
    return this.repository.history(mountUuid, name, events);
  }

  async recordFailure(mountUuid: string, name: string, entry: TransitHistoryEntry): Promise<void> {
    await this.repository.recordFailure(mountUuid, name, entry);
    await this.changed(mountUuid, name);
  }
}
