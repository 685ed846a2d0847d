/**
 * The leader lease: which one of the processes sharing the database does the singleton work
 * (periodic functions, timed audit checkpoints, audit retention, anomaly scans, the reseal job).
 *
 * Invariants:
 * - the lease is the row `ha_leader.name = 'leader'`: holder, epoch (the fencing token) and
 *   `valid_until` by the DATABASE clock; a process acquires it only when no row exists or the row
 *   has expired, and every acquisition draws a new epoch from a sequence (never reused, even after
 *   the row was deleted);
 * - renewal is only `UPDATE … WHERE holder = me AND epoch = mine AND still valid`: when it changes
 *   no row the lease is lost and the process steps down at once; it never re-creates the row;
 * - a holder counts itself leader only until its local deadline (TTL minus a margin, measured with
 *   the monotonic clock from the start of its last successful renewal), so a process that was
 *   stopped (SIGSTOP, a long GC, a slow network) past the TTL stops singleton work by itself before
 *   another can have acquired the lease;
 * - a singleton write calls `checkFence` inside its own transaction: it locks the lease row FOR
 *   SHARE and checks holder, epoch and validity (database clock at that moment), so no other
 *   process can take the lease over until that transaction has ended; a failed check throws
 *   FencedError and the process steps down;
 * - after losing or giving up the lease a process does not try to acquire it again for one TTL
 *   (sys/step-down: another node takes it); only unsealed processes take part (seal hooks).
 */
import type { DataSource, EntityManager } from 'typeorm';
import { affectedRows, returningRows } from '../../database/sql';
import type { LeaderFence } from '../../framework/backend';
import type { NodeIdentity } from './node-identity';

export const LEADER_LEASE_NAME = 'leader';

export class FencedError extends Error {
  constructor(reason: string) {
    super(`fenced: ${reason}`);
    this.name = 'FencedError';
  }
}

export interface LeaderLeaseOptions {
  identity: NodeIdentity;
  ttlMs: number;
  renewIntervalMs: number;
  log: { info(m: string): void; error(m: string): void };
  /** A monotonic clock in milliseconds (tests give their own). */
  clock?: () => number;
}

/** How long before the lease's TTL runs out (from the last renewal's start) the holder stops counting itself leader. */
export function safetyMarginMs(ttlMs: number): number {
  return Math.min(Math.floor(ttlMs / 5), 2000);
}

/** The local deadline of a renewal (or acquisition) that started at `startedAt`. */
export function localDeadline(startedAt: number, ttlMs: number): number {
  return startedAt + ttlMs - safetyMarginMs(ttlMs);
}

/** How a process is named in `ha_leader.holder` (and joined to its `ha_nodes` row). */
export function holderName(identity: NodeIdentity): string {
  return `${identity.nodeId}#${identity.workerId}`;
}

const ACQUIRE = `
  INSERT INTO ha_leader (name, holder, epoch, valid_until, acquired_at)
  VALUES ($1, $2, nextval('ha_leader_epoch_seq'), clock_timestamp() + $3 * interval '1 millisecond', clock_timestamp())
  ON CONFLICT (name) DO UPDATE
    SET holder = EXCLUDED.holder, epoch = EXCLUDED.epoch, valid_until = EXCLUDED.valid_until, acquired_at = EXCLUDED.acquired_at
    WHERE ha_leader.valid_until <= clock_timestamp()
  RETURNING epoch::text AS epoch, acquired_at`;
const RENEW = `
  UPDATE ha_leader SET valid_until = clock_timestamp() + $4 * interval '1 millisecond'
  WHERE name = $1 AND holder = $2 AND epoch = $3 AND valid_until > clock_timestamp()`;
const RELEASE = 'UPDATE ha_leader SET valid_until = clock_timestamp() WHERE name = $1 AND holder = $2 AND epoch = $3 AND valid_until > clock_timestamp()';
const EXPIRE = 'UPDATE ha_leader SET valid_until = clock_timestamp() WHERE name = $1 AND valid_until > clock_timestamp()';
const FENCE = 'SELECT 1 AS held FROM ha_leader WHERE name = $1 AND holder = $2 AND epoch = $3 AND valid_until > clock_timestamp() FOR SHARE';
const COUNT_WRITE = 'UPDATE ha_nodes SET singleton_writes = singleton_writes + 1 WHERE node_id = $1 AND worker_id = $2';

interface Held {
  epoch: string;
  acquiredAt: Date;
  deadline: number;
}

export class LeaderLease implements LeaderFence {
  readonly holder: string;
  private held: Held | undefined;
  private holdOffUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private stepping: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly listeners: ((leader: boolean) => void)[] = [];
  private readonly clock: () => number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: LeaderLeaseOptions,
  ) {
    this.holder = holderName(options.identity);
    this.clock = options.clock ?? (() => performance.now());
  }

  get isLeader(): boolean {
    if (this.held && this.clock() >= this.held.deadline) this.lose(this.held, 'its local deadline passed without a renewal');
    return this.held !== undefined;
  }

  /** The epoch this process holds the lease under, and since when (database clock). */
  get holding(): { epoch: string; acquiredAt: Date } | undefined {
    return this.isLeader && this.held ? { epoch: this.held.epoch, acquiredAt: this.held.acquiredAt } : undefined;
  }

  /** Called with true when this process becomes leader, false when it stops being one. */
  onChange(listener: (leader: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** After unseal: one attempt at once (a single process is leader before the workers start), then one step per renew interval. */
  async start(): Promise<void> {
    this.stopping = undefined;
    this.holdOffUntil = 0;
    await this.step();
    this.timer = setInterval(() => void this.step(), this.options.renewIntervalMs);
    this.timer.unref();
  }

  /** Before seal or at shutdown: no more steps; the lease is released for another process to take at once. Idempotent. */
  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stopping ??= (async () => {
      await this.stepping;
      await this.release(0).catch((e: Error) => this.options.log.error(`ha: could not release the leader lease: ${e.message}`));
    })();
    return this.stopping;
  }

  /** Renews when holding, otherwise tries to acquire (unless held off); never overlaps itself. */
  step(): Promise<void> {
    this.stepping ??= (this.isLeader ? this.renew() : this.clock() >= this.holdOffUntil ? this.tryAcquire() : Promise.resolve(false))
      .then(() => undefined)
      .catch((e: Error) => this.options.log.error(`ha: leader lease step failed: ${e.message}`))
      .finally(() => (this.stepping = undefined));
    return this.stepping;
  }

  /** Takes the lease when nobody holds it or it has expired. */
  async tryAcquire(): Promise<boolean> {
    if (this.held) return true;
    const startedAt = this.clock();
    const [row] = await returningRows<{ epoch: string; acquired_at: Date }>(this.dataSource, ACQUIRE, [LEADER_LEASE_NAME, this.holder, this.options.ttlMs]);
    if (!row) return false;
    this.held = { epoch: row.epoch, acquiredAt: row.acquired_at, deadline: localDeadline(startedAt, this.options.ttlMs) };
    this.options.log.info(`ha: this process (${this.holder}) is the leader (epoch ${row.epoch})`);
    this.emit(true);
    return true;
  }

  /** Extends the lease this process holds; when no row matches, the lease is lost and the process steps down. */
  async renew(): Promise<boolean> {
    const held = this.held;
    if (!held) return false;
    const startedAt = this.clock();
    const renewed = (await affectedRows(this.dataSource, RENEW, [LEADER_LEASE_NAME, this.holder, held.epoch, this.options.ttlMs])) === 1;
    if (this.held !== held) return false;
    if (renewed) held.deadline = localDeadline(startedAt, this.options.ttlMs);
    else this.lose(held, 'its renewal found the lease expired, gone or taken');
    return renewed;
  }

  /** Gives the lease up (it expires now if it is still this process's) and does not try again for `holdOffMs`. */
  async release(holdOffMs: number): Promise<void> {
    this.holdOffUntil = this.clock() + holdOffMs;
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    this.options.log.info(`ha: this process (${this.holder}) released the leader lease (epoch ${held.epoch})`);
    this.emit(false);
    await this.dataSource.query(RELEASE, [LEADER_LEASE_NAME, this.holder, held.epoch]);
  }

  /**
   * sys/step-down: the leader releases and stays out for one TTL; on another process the lease is
   * expired in the database, so the leader's next renewal or singleton write finds it lost.
   */
  async stepDown(): Promise<void> {
    if (this.isLeader) await this.release(this.options.ttlMs);
    else await this.dataSource.query(EXPIRE, [LEADER_LEASE_NAME]);
  }

  async checkFence(manager: EntityManager): Promise<void> {
    const held = this.held;
    if (!held || !this.isLeader) throw new FencedError(`this process (${this.holder}) does not hold the leader lease`);
    const rows: unknown[] = await manager.query(FENCE, [LEADER_LEASE_NAME, this.holder, held.epoch]);
    if (rows.length === 0) {
      this.lose(held, `a singleton write found the lease (epoch ${held.epoch}) expired, gone or taken`);
      throw new FencedError(`the leader lease (epoch ${held.epoch}) is no longer this process's`);
    }
    await manager.query(COUNT_WRITE, [this.options.identity.nodeId, this.options.identity.workerId]);
  }

  /** Runs `work` in a transaction whose last statement checks the fence: it commits only while this process leads. */
  fenced<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (m) => {
      const result = await work(m);
      await this.checkFence(m);
      return result;
    });
  }

  /** Runs `work` when this process is the leader, otherwise gives undefined at once. */
  async ifLeader<T>(work: () => Promise<T>): Promise<T | undefined> {
    return this.isLeader ? work() : undefined;
  }

  private lose(held: Held, reason: string): void {
    if (this.held !== held) return;
    this.held = undefined;
    this.holdOffUntil = this.clock() + this.options.ttlMs;
    this.options.log.error(`ha: this process (${this.holder}) stepped down from epoch ${held.epoch}: ${reason}`);
    this.emit(false);
  }

  private emit(leader: boolean): void {
    for (const listener of this.listeners) listener(leader);
  }
}
