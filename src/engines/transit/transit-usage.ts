/**
 * Operations counted per key version (encryptions and signatures) without a database write per
 * operation: counts are kept per process and added to the version's stored count in batches, as
 * the barrier's term counter is (COUNTER_FLUSH_EVERY in barrier.ts).
 *
 * Bounds (per process, per key version):
 * - a crash (kill -9) loses at most USAGE_FLUSH_EVERY - 1 counts: a batch is written once it holds
 *   USAGE_FLUSH_EVERY; within USAGE_FLUSH_EVERY of the version's rotation threshold (as this
 *   process knows the count) every operation is written, and the caller awaits that write and the
 *   rotation it starts before answering, so nothing acknowledged there can be lost;
 * - with P processes a threshold is seen at most (P - 1) × USAGE_FLUSH_EVERY operations late (the
 *   others' unwritten batches).
 * AEAD keys rotate at AEAD_ROTATE_AT = 2^32 − 2^30 even without a usage policy: NIST SP 800-38D's
 * limit for random 96-bit nonces is 2^32 encryptions per key, and the 2^30 margin covers the loss
 * bound of 2^20 processes.
 *
 * Invariants: the stored count never exceeds the operations performed (counts are added, never
 * estimated upwards); `onThreshold` is called after the write that made a version's stored count
 * reach its threshold, and again by each later write while it stays there (the rotation it starts
 * re-checks under the key's lock, so repeats are harmless); its failure is logged, never thrown at
 * the operation that was counted.
 */

export const USAGE_FLUSH_EVERY = 1024;
export const AEAD_NONCE_LIMIT = 2 ** 32;
export const AEAD_ROTATE_AT = AEAD_NONCE_LIMIT - 2 ** 30;

export interface UsageKey {
  mountUuid: string;
  name: string;
  version: number;
}

/** Adds `delta` to the version's stored count; resolves to the new stored count. */
export type UsageWriter = (key: UsageKey, delta: number) => Promise<number>;

interface Counter {
  key: UsageKey;
  /** The stored count as this process last saw it. */
  known: number;
  /** Counted here, not yet written. */
  pending: number;
  threshold: number;
  writing?: Promise<void>;
  lastWriteFailed?: boolean;
}

export class TransitUsage {
  /** One per key version used by this process (kept: `known` must not fall back to a cached policy's older count). */
  private readonly counters = new Map<string, Counter>();

  constructor(
    private readonly write: UsageWriter,
    private readonly onThreshold: (key: UsageKey, stored: number) => Promise<void>,
    private readonly log: (message: string) => void = () => undefined,
    private readonly flushEvery = USAGE_FLUSH_EVERY,
  ) {}

  /**
   * Counts one operation with `key`. `stored` is the version's stored count from the policy the
   * caller read (it may be older than what this process knows); `threshold` the count at which the
   * version must rotate (Infinity: never). Resolves at once for a batched count; near the
   * threshold, once the count is written (and the rotation it made due has run).
   */
  async count(key: UsageKey, stored: number, threshold: number): Promise<void> {
    const id = `${key.mountUuid}\u0000${key.name}\u0000${key.version}`;
    let c = this.counters.get(id);
    if (!c) {
      c = { key, known: stored, pending: 0, threshold };
      this.counters.set(id, c);
    }
    c.known = Math.max(c.known, stored);
    c.threshold = threshold;
    c.pending++;
    if (c.known + c.pending >= c.threshold - this.flushEvery) {
      // Near the threshold: this operation's count is written before the caller answers.
      while (c.pending > 0) {
        await (c.writing ?? this.flush(c));
        if (c.lastWriteFailed) return;
      }
      return;
    }
    if (c.pending >= this.flushEvery) void this.flush(c);
  }

  /** Writes every pending count (seal, shutdown). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.counters.values()].map((c) => this.flush(c)));
    await Promise.all([...this.counters.values()].map((c) => c.writing));
  }

  /** Pending counts of a version not yet written (tests, health). */
  pendingFor(key: UsageKey): number {
    return this.counters.get(`${key.mountUuid}\u0000${key.name}\u0000${key.version}`)?.pending ?? 0;
  }

  private due(c: Counter): boolean {
    return c.pending >= this.flushEvery || c.known + c.pending >= c.threshold - this.flushEvery;
  }

  private flush(c: Counter): Promise<void> {
    if (c.writing) return c.writing;
    if (c.pending === 0) return Promise.resolve();
    const delta = c.pending;
    c.pending = 0;
    c.writing = (async () => {
      let written = false;
      try {
        const stored = await this.write(c.key, delta);
        written = true;
        c.lastWriteFailed = false;
        c.known = Math.max(c.known, stored);
        if (stored >= c.threshold) await this.onThreshold(c.key, stored).catch((err: Error) => this.log(`transit: usage rotation failed: ${err.message}`));
      } catch (err) {
        // Not lost: written with the next batch (a failing database is not retried in a loop).
        c.pending += delta;
        c.lastWriteFailed = true;
        this.log(`transit: could not record key usage: ${(err as Error).message}`);
      } finally {
        c.writing = undefined;
      }
      if (written && c.pending > 0 && this.due(c)) await this.flush(c);
    })();
    return c.writing;
  }
}
