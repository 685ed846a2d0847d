/**
 * The mount table: which backend serves which path prefix.
 *
 * Invariants:
 * - mounts never nest: no mount path is a prefix of another (checked under the table lock, against
 *   the database rather than this node's cache, so concurrent enables on several nodes cannot race);
 * - `sys/` and `auth/token/` are always mounted (routable even while sealed) and cannot be disabled;
 * - disabling a mount deletes its row and, through ON DELETE CASCADE, every engine row of it, and
 *   runs the disable hooks (token revocation for auth mounts) in the same transaction;
 * - routing is longest prefix over whole segments, so `kv/` never serves `kvx/...`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { defaultMountConfig, type BackendDefinition, type MountClass, type MountConfig, type MountEntry } from '../../framework/backend';
import type { RouteDefinition } from '../../framework/route';
import { ApiError, badRequest } from '../errors';
import type { InvalidationBus } from '../cluster/invalidation-bus';
import type { MountRepository } from './mount.repository';
import { canonicalPath } from './canonical-path';

/** Secret mount paths nobody may enable (Vault's protectedMounts). */
const PROTECTED_PREFIXES = ['audit/', 'auth/', 'sys/', 'cubbyhole/', 'identity/'];

export interface EnableMount {
  class: MountClass;
  /** As given: `kv`, `kv/`, `team/kv` (for auth mounts without the `auth/` prefix). */
  path: string;
  type: string;
  description?: string;
  config?: Partial<MountConfig>;
  options?: Record<string, string>;
  local?: boolean;
  sealWrap?: boolean;
  externalEntropyAccess?: boolean;
}

/** Runs inside the disable transaction; may return work to run after it commits (cache invalidation). */
export type MountDisableHook = (m: EntityManager, entry: MountEntry) => Promise<(() => Promise<void>) | void>;

/** `kv` → `kv/`; auth mounts are routed under `auth/`. */
export function routingPath(cls: MountClass, path: string): string {
  let p = path.trim().replace(/^\/+/, '');
  if (!p.endsWith('/')) p += '/';
  return cls === 'auth' ? `auth/${p}` : p;
}

/** The path as `sys/mounts` and `sys/auth` show it (auth mounts without `auth/`). */
export function displayPath(entry: MountEntry): string {
  return entry.class === 'auth' ? entry.path.slice('auth/'.length) : entry.path;
}

function newAccessor(cls: MountClass, type: string): string {
  return `${cls === 'auth' ? 'auth_' : ''}${type}_${randomBytes(4).toString('hex')}`;
}

/** A new mount entry: fresh UUID and accessor, Vault's defaults for everything not given. */
function newEntry(e: Pick<MountEntry, 'path' | 'class' | 'type'> & Partial<Omit<MountEntry, 'config'>> & { config?: Partial<MountConfig> }): MountEntry {
  return {
    uuid: randomUUID(),
    accessor: newAccessor(e.class, e.type),
    description: '',
    options: {},
    local: false,
    sealWrap: false,
    externalEntropyAccess: false,
    ...e,
    config: { ...defaultMountConfig(), ...e.config },
  };
}

/** Paths no secrets engine may take or give up. */
function isProtected(cls: MountClass, path: string): boolean {
  return cls === 'secret' && PROTECTED_PREFIXES.some((p) => path.startsWith(p));
}

/** Vault's protectedAuths: auth mounts nobody may move or move onto. */
const PROTECTED_AUTHS = ['auth/token/'];

/** Vault's sanitizeMountPath: no leading slash, one trailing slash. */
function mountPathOf(given: string): string {
  const p = given.startsWith('/') ? given.slice(1) : given;
  return p.endsWith('/') ? p : `${p}/`;
}

/** Backends of unknown type (a row left by a removed engine) serve nothing. */
const NO_ROUTES: RouteDefinition[] = [];

export class MountTable {
  private readonly backends = new Map<string, BackendDefinition>();
  private readonly builtins = new Map<string, MountEntry>();
  private entries = new Map<string, MountEntry>();
  private readonly disableHooks: MountDisableHook[] = [];

  private loaded = false;
  private reloading: Promise<void> = Promise.resolve();
  private refreshing: Promise<boolean> | undefined;

  constructor(
    private readonly repository: MountRepository,
    private readonly bus?: InvalidationBus,
  ) {
    // Another node changed the table, or notifications may have been missed: read it again.
    bus?.subscribe((i) => {
      if (this.loaded && (i.topic === undefined || i.topic === 'mounts')) this.queueReload().catch(() => undefined);
    });
  }

  /** A read of the table after every read already queued: reads never overlap, so an older one never replaces a newer one. */
  private queueReload(): Promise<void> {
    const read = this.reloading.then(() => this.reload());
    this.reloading = read.catch(() => undefined);
    return read;
  }

  private async reload(): Promise<void> {
    if (!this.loaded) return;
    const entries = new Map<string, MountEntry>();
    for (const e of await this.repository.all()) entries.set(e.path, e);
    if (this.loaded) this.entries = entries;
  }

  /**
   * Reads the table again (a path matched no mount: one enabled elsewhere may not have reached this
   * process yet). Concurrent callers share one read. True when the table changed.
   */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      if (!this.loaded) return false;
      const before = this.entries;
      await this.queueReload();
      return [...this.entries.keys()].some((path) => !before.has(path));
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async changed(): Promise<void> {
    await this.bus?.publish('mounts');
  }

  register(backend: BackendDefinition): void {
    if (this.backends.has(backend.type)) throw new Error(`backend type ${backend.type} registered twice`);
    this.backends.set(backend.type, backend);
    if (backend.builtinPath) {
      // Routable from the start (sys/unseal works while sealed); uuid and accessor come from the row at load.
      const placeholder = newEntry({
        path: backend.builtinPath,
        class: backend.class,
        type: backend.type,
        uuid: '',
        accessor: '',
        description: backend.description ?? '',
      });
      this.builtins.set(backend.builtinPath, placeholder);
      this.entries.set(backend.builtinPath, placeholder);
    }
  }

  backendOf(type: string): BackendDefinition | undefined {
    return this.backends.get(type);
  }

  byUuid(uuid: string): MountEntry | undefined {
    for (const e of this.entries.values()) if (e.uuid === uuid) return e;
    return undefined;
  }

  /** The routes serving a mount (relative to its path). */
  routesOf(entry: MountEntry): RouteDefinition[] {
    return this.backends.get(entry.type)?.routes(entry) ?? NO_ROUTES;
  }

  onDisable(hook: MountDisableHook): void {
    this.disableHooks.push(hook);
  }

  /** After unseal: makes sure the built-in mounts have rows, then loads the whole table. */
  async load(): Promise<void> {
    await this.repository.locked(async (m) => {
      for (const b of this.builtins.values()) {
        if (!(await this.repository.find(m, b.path)))
          await this.repository.insert(m, newEntry({ path: b.path, class: b.class, type: b.type, description: b.description }));
      }
    });
    this.loaded = true;
    await this.reload();
  }

  /** On seal: only the built-in mounts stay routable. */
  clear(): void {
    this.loaded = false;
    this.entries = new Map(this.builtins);
  }

  /** Longest-prefix match over whole path segments; `kv` (no slash) addresses the mount `kv/`. */
  match(path: string): MountEntry | undefined {
    if (!path.endsWith('/')) {
      const whole = this.entries.get(`${path}/`);
      if (whole) return whole;
    }
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
      const entry = this.entries.get(path.slice(0, i + 1));
      if (entry) return entry;
    }
    return undefined;
  }

  get(cls: MountClass, path: string): MountEntry | undefined {
    const entry = this.entries.get(routingPath(cls, path));
    return entry?.class === cls ? entry : undefined;
  }

  list(cls: MountClass): MountEntry[] {
    return [...this.entries.values()].filter((e) => e.class === cls).sort((a, b) => a.path.localeCompare(b.path));
  }

  async enable(spec: EnableMount): Promise<MountEntry> {
    const path = routingPath(spec.class, spec.path);
    if (path === '/' || path === 'auth//' || path.includes('//')) throw badRequest('path is required');
    if (isProtected(spec.class, path)) throw new ApiError(403, [`cannot mount "${path}"`]);
    const backend = this.backends.get(spec.type);
    if (!backend || backend.class !== spec.class) throw badRequest(`plugin not found in the catalog: ${spec.type}`);
    if (backend.builtinPath) {
      throw spec.class === 'auth'
        ? badRequest(`${spec.type} credential backend cannot be instantiated`)
        : new ApiError(403, [`mount type of "${spec.type}" is not mountable`]);
    }
    const options = backend.normaliseOptions ? backend.normaliseOptions(spec.options ?? {}) : (spec.options ?? {});
    const entry = newEntry({
      path,
      class: spec.class,
      type: spec.type,
      description: spec.description ?? '',
      config: spec.config,
      options,
      local: spec.local ?? false,
      sealWrap: spec.sealWrap ?? false,
      externalEntropyAccess: spec.externalEntropyAccess ?? false,
    });
    await this.repository.locked(async (m) => {
      for (const other of await this.repository.all(m)) {
        if (other.path.startsWith(path) || path.startsWith(other.path)) {
          throw new ApiError(409, [`path is already in use at ${spec.class === 'auth' && other.class === 'auth' ? displayPath(other) : other.path}`]);
        }
      }
      await this.repository.insert(m, entry);
    });
    this.entries.set(path, entry);
    await this.changed();
    return entry;
  }

  /** Disables a mount and removes its data. False when nothing was mounted there (Vault answers 204 either way). */
  async disable(cls: MountClass, givenPath: string): Promise<boolean> {
    const path = routingPath(cls, givenPath);
    if (this.builtins.has(path) || isProtected(cls, path)) {
      throw badRequest(cls === 'auth' ? 'token credential backend cannot be disabled' : `cannot unmount "${path}"`);
    }
    const afterCommit: (() => Promise<void>)[] = [];
    const removed = await this.repository.locked(async (m) => {
      const entry = await this.repository.find(m, path);
      if (entry?.class !== cls) return undefined;
      for (const hook of this.disableHooks) {
        const after = await hook(m, entry);
        if (after) afterCommit.push(after);
      }
      await this.repository.delete(m, entry.uuid);
      return entry;
    });
    for (const after of afterCommit) await after();
    this.entries.delete(path);
    if (removed) await this.changed();
    return removed !== undefined;
  }

  /**
   * Moves a mount (Vault's sys/remount; `auth/...` paths move auth methods). Checked as Vault
   * does (protected paths, auth stays auth, the target free and not nested), then, in one
   * transaction under the table lock, what the mount issued is revoked (the disable hooks: its
   * leases, an auth method's tokens) and its row takes the new path. Its data, keyed by the mount's
   * UUID, goes with it. Messages name server paths, never the requested ones.
   */
  async remount(fromGiven: string, toGiven: string): Promise<{ from: string; to: string }> {
    if (fromGiven === '' || toGiven === '') throw badRequest("both 'from' and 'to' path must be specified as a string");
    if (fromGiven.trim() !== fromGiven) throw badRequest("'from' path cannot contain trailing whitespace");
    if (toGiven.trim() !== toGiven) throw badRequest("'to' path cannot contain trailing whitespace");
    const from = mountPathOf(fromGiven);
    const to = mountPathOf(toGiven);
    try {
      if (canonicalPath(to) !== to || to === '/') throw badRequest('path is not canonical');
    } catch (e) {
      throw badRequest(`invalid destination mount: ${e instanceof ApiError ? e.errors.join(', ') : 'path is not canonical'}`);
    }
    if (from.startsWith('auth/')) {
      if (!to.startsWith('auth/') || to === 'auth/') throw badRequest('cannot remount auth mount to non-auth mount');
      const protectedFrom = PROTECTED_AUTHS.find((p) => from.startsWith(p));
      if (protectedFrom) throw badRequest(`cannot remount "${protectedFrom}"`);
      const protectedTo = PROTECTED_AUTHS.find((p) => to.startsWith(p));
      if (protectedTo) throw badRequest(`cannot remount to destination "${protectedTo}"`);
    } else {
      const protectedFrom = PROTECTED_PREFIXES.find((p) => from.startsWith(p));
      if (protectedFrom) throw badRequest(`cannot remount "${protectedFrom}"`);
      const protectedTo = PROTECTED_PREFIXES.find((p) => to.startsWith(p));
      if (protectedTo) throw badRequest(`cannot remount to destination ${protectedTo}`);
    }
    const afterCommit: (() => Promise<void>)[] = [];
    const moved = await this.repository.locked(async (m) => {
      const all = await this.repository.all(m);
      const entry = all.find((e) => e.path === from);
      if (!entry || this.builtins.has(entry.path)) throw badRequest("no matching mount at the 'from' path");
      const conflict = all.find((other) => other.path.startsWith(to) || to.startsWith(other.path));
      if (conflict) throw badRequest(`path already in use at "${conflict.path}"`);
      for (const hook of this.disableHooks) {
        const after = await hook(m, entry);
        if (after) afterCommit.push(after);
      }
      await this.repository.updatePath(m, entry.uuid, to);
      return entry;
    });
    for (const after of afterCommit) await after();
    this.entries.delete(from);
    this.entries.set(to, { ...moved, path: to });
    await this.changed();
    return { from, to };
  }

  /** Applies a tune to the stored entry and returns it. */
  async tune(cls: MountClass, givenPath: string, change: (entry: MountEntry, backend: BackendDefinition | undefined) => MountEntry): Promise<MountEntry> {
    const path = routingPath(cls, givenPath);
    const updated = await this.repository.locked(async (m) => {
      const entry = await this.repository.find(m, path);
      if (entry?.class !== cls) throw badRequest(`cannot tune "${path}": no mount at this path`);
      const next = change(entry, this.backends.get(entry.type));
      await this.repository.update(m, next);
      return next;
    });
    this.entries.set(path, updated);
    await this.changed();
    return updated;
  }
}
