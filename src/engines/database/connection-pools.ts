/**
 * Pools of connections to target databases, one per target identity (driver, address, root user
 * and password), as Vault keeps one per connection (`max_open_connections`, default 4): a burst of
 * creds requests queues for the pool's connections instead of exhausting the target's
 * max_connections, and each operation skips the login.
 *
 * Invariants: a pool is keyed by a hash of everything it logs in with, so a rotated root password
 * gets a fresh pool and never reuses a stale identity; a pool idle for IDLE_MS is closed; `closeAll`
 * (at seal) drops every pool, and with them the root credentials they hold in memory.
 */
import { createHash } from 'node:crypto';

/** Vault's default for max_open_connections. */
export const DEFAULT_MAX_OPEN_CONNECTIONS = 4;
const IDLE_MS = 60_000;

interface Entry<P> {
  pool: P;
  lastUsed: number;
}

export class PoolCache<P> {
  private readonly pools = new Map<string, Entry<P>>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly close: (pool: P) => Promise<void>) {}

  /** The pool for this identity (the parts are hashed, never kept as a key). */
  get(identity: unknown[], create: () => P): P {
    const key = createHash('sha256').update(JSON.stringify(identity)).digest('hex');
    let entry = this.pools.get(key);
    if (!entry) {
      entry = { pool: create(), lastUsed: Date.now() };
      this.pools.set(key, entry);
      this.sweeper ??= setInterval(() => this.sweep(), IDLE_MS).unref();
    }
    entry.lastUsed = Date.now();
    return entry.pool;
  }

  private sweep(now = Date.now()): void {
    for (const [key, entry] of this.pools) {
      if (now - entry.lastUsed < IDLE_MS) continue;
      this.pools.delete(key);
      void this.close(entry.pool).catch(() => undefined);
    }
    if (this.pools.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await Promise.all(all.map((e) => this.close(e.pool).catch(() => undefined)));
  }
}
