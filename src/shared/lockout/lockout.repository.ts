/**
 * Lockout counters in PostgreSQL, so every node sees the same counts. Each transition of
 * lockout.ts is one statement (atomic under concurrent logins on any node); the SQL mirrors
 * `beginAttempt` and `recordFailure` exactly.
 */
import type { DataSource } from 'typeorm';
import { affectedRows, returningRows } from '../../database/sql';
import type { LockoutConfig } from './lockout';

/** $1 accessor, $2 name, $3 now, $4 threshold, $5 lockout duration (s), $6 counter reset (s). */
const LOCKED = 'l.locked_until IS NOT NULL AND $3::timestamptz < l.locked_until';
/** The counter starts from zero: its lock expired, or no attempt for the counter reset period. */
const stale = (now: string, resetSeconds: string) =>
  `((l.locked_until IS NOT NULL AND ${now}::timestamptz >= l.locked_until) OR (l.locked_until IS NULL AND ${now}::timestamptz - l.last_attempt_at >= make_interval(secs => ${resetSeconds}::float8)))`;
const STALE = stale('$3', '$6');
const LOCK_END = '$3::timestamptz + make_interval(secs => $5::float8)';

const BEGIN_ATTEMPT = `
  INSERT INTO login_lockouts AS l (mount_accessor, login_name, attempts, first_attempt_at, last_attempt_at, locked_until)
  VALUES ($1, $2, 1, $3::timestamptz, $3::timestamptz, CASE WHEN 1 > $4::int THEN ${LOCK_END} END)
  ON CONFLICT (mount_accessor, login_name) DO UPDATE SET
    attempts = CASE WHEN ${LOCKED} THEN l.attempts WHEN ${STALE} THEN 1 ELSE l.attempts + 1 END,
    first_attempt_at = CASE WHEN ${LOCKED} THEN l.first_attempt_at WHEN ${STALE} THEN $3::timestamptz ELSE l.first_attempt_at END,
    last_attempt_at = CASE WHEN ${LOCKED} THEN l.last_attempt_at ELSE $3::timestamptz END,
    locked_until = CASE
      WHEN ${LOCKED} THEN l.locked_until
      WHEN (CASE WHEN ${STALE} THEN 1 ELSE l.attempts + 1 END) > $4::int THEN ${LOCK_END}
      ELSE NULL END
  RETURNING locked_until`;

const RECORD_FAILURE = `
  UPDATE login_lockouts SET locked_until = $3::timestamptz + make_interval(secs => $5::float8)
  WHERE mount_accessor = $1 AND login_name = $2 AND locked_until IS NULL AND attempts >= $4::int`;

const PURGE_STALE = `DELETE FROM login_lockouts l WHERE l.mount_accessor = $1 AND ${stale('$2', '$3')}`;

export interface LockedName {
  mountAccessor: string;
  name: string;
}

export class LockoutRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Counts an attempt; true when it may go on (the name is not locked). */
  async beginAttempt(accessor: string, name: string, now: Date, config: LockoutConfig): Promise<boolean> {
    const rows: { locked_until: Date | null }[] = await this.dataSource.query(BEGIN_ATTEMPT, [
      accessor,
      name,
      now,
      config.threshold,
      config.durationSeconds,
      config.counterResetSeconds,
    ]);
    const lockedUntil = rows[0]?.locked_until;
    return !lockedUntil || lockedUntil.getTime() <= now.getTime();
  }

  /** True while the name is locked (reads only). */
  async isLocked(accessor: string, name: string, now: Date): Promise<boolean> {
    const rows: { locked_until: Date | null }[] = await this.dataSource.query(
      'SELECT locked_until FROM login_lockouts WHERE mount_accessor = $1 AND login_name = $2',
      [accessor, name],
    );
    const lockedUntil = rows[0]?.locked_until;
    return !!lockedUntil && lockedUntil.getTime() > now.getTime();
  }

  /**
   * Counts one failed login (failures-only counting): the same transition as an attempt, with the
   * lock falling on the failure that reaches the threshold rather than on the attempt after it.
   */
  async countFailure(accessor: string, name: string, now: Date, config: LockoutConfig): Promise<void> {
    await this.dataSource.query(BEGIN_ATTEMPT, [accessor, name, now, config.threshold - 1, config.durationSeconds, config.counterResetSeconds]);
  }

  async recordFailure(accessor: string, name: string, now: Date, config: LockoutConfig): Promise<void> {
    await affectedRows(this.dataSource, RECORD_FAILURE, [accessor, name, now, config.threshold, config.durationSeconds]);
  }

  /** A success, or an operator's unlock: the counter goes. True when there was one. */
  async reset(accessor: string, name: string): Promise<boolean> {
    return (await affectedRows(this.dataSource, 'DELETE FROM login_lockouts WHERE mount_accessor = $1 AND login_name = $2', [accessor, name])) > 0;
  }

  /** Counters of one mount that would start from zero anyway (bounds the table to recent names). */
  async purgeStale(accessor: string, now: Date, counterResetSeconds: number): Promise<number> {
    return affectedRows(this.dataSource, PURGE_STALE, [accessor, now, counterResetSeconds]);
  }

  async locked(now: Date, accessor?: string): Promise<LockedName[]> {
    const rows: { mount_accessor: string; login_name: string }[] = await returningRows(
      this.dataSource,
      `SELECT mount_accessor, login_name FROM login_lockouts
       WHERE locked_until > $1::timestamptz AND ($2::text IS NULL OR mount_accessor = $2)
       ORDER BY mount_accessor, login_name`,
      [now, accessor ?? null],
    );
    return rows.map((r) => ({ mountAccessor: r.mount_accessor, name: r.login_name }));
  }
}
