/**
 * Lockout counters in PostgreSQL, so every node sees the same counts. Each transition of
 * lockout.ts is one statement (atomic under concurrent logins on any node); the SQL mirrors
 * `beginAttempt` and `recordFailure` exactly. The attempt upsert and the purge stay SQL (CASE
 * expressions over the row and EXCLUDED, which the entity API cannot express), with the names
 * taken from the entity.
 */
import { MoreThan, type DataSource, type FindOptionsWhere, type Repository } from 'typeorm';
import { entityNames, type EntityNames } from '../../database/entity-names';
import { affectedRows } from '../../database/sql';
import type { LockoutConfig } from './lockout';
import { LoginLockoutEntity } from './lockout.entity';

type Names = EntityNames<LoginLockoutEntity>;

/** The row `l` is locked at `now`. */
const locked = ({ col }: Names, now: string) => `l.${col.lockedUntil} IS NOT NULL AND ${now}::timestamptz < l.${col.lockedUntil}`;
/** The counter of row `l` starts from zero: its lock expired, or no attempt for the counter reset period. */
const stale = ({ col }: Names, now: string, resetSeconds: string) =>
  `((l.${col.lockedUntil} IS NOT NULL AND ${now}::timestamptz >= l.${col.lockedUntil}) OR (l.${col.lockedUntil} IS NULL AND ${now}::timestamptz - l.${col.lastAttemptAt} >= make_interval(secs => ${resetSeconds}::float8)))`;
const LOCK_END = '$3::timestamptz + make_interval(secs => $5::float8)';

/** $1 accessor, $2 name, $3 now, $4 threshold, $5 lockout duration (s), $6 counter reset (s). */
function beginAttemptSql(n: Names): string {
  const { table, col } = n;
  const LOCKED = locked(n, '$3');
  const STALE = stale(n, '$3', '$6');
  return `
  INSERT INTO ${table} AS l (${col.mountAccessor}, ${col.loginName}, ${col.attempts}, ${col.firstAttemptAt}, ${col.lastAttemptAt}, ${col.lockedUntil})
  VALUES ($1, $2, 1, $3::timestamptz, $3::timestamptz, CASE WHEN 1 > $4::int THEN ${LOCK_END} END)
  ON CONFLICT (${col.mountAccessor}, ${col.loginName}) DO UPDATE SET
    ${col.attempts} = CASE WHEN ${LOCKED} THEN l.${col.attempts} WHEN ${STALE} THEN 1 ELSE l.${col.attempts} + 1 END,
    ${col.firstAttemptAt} = CASE WHEN ${LOCKED} THEN l.${col.firstAttemptAt} WHEN ${STALE} THEN $3::timestamptz ELSE l.${col.firstAttemptAt} END,
    ${col.lastAttemptAt} = CASE WHEN ${LOCKED} THEN l.${col.lastAttemptAt} ELSE $3::timestamptz END,
    ${col.lockedUntil} = CASE
      WHEN ${LOCKED} THEN l.${col.lockedUntil}
      WHEN (CASE WHEN ${STALE} THEN 1 ELSE l.${col.attempts} + 1 END) > $4::int THEN ${LOCK_END}
      ELSE NULL END
  RETURNING ${col.lockedUntil} AS locked_until`;
}

/** $1 accessor, $2 now, $3 counter reset (s). */
function purgeStaleSql(n: Names): string {
  return `DELETE FROM ${n.table} l WHERE l.${n.col.mountAccessor} = $1 AND ${stale(n, '$2', '$3')}`;
}

export interface LockedName {
  mountAccessor: string;
  name: string;
}

export class LockoutRepository {
  private sql?: { beginAttempt: string; purgeStale: string };

  constructor(private readonly dataSource: DataSource) {}

  private get lockouts(): Repository<LoginLockoutEntity> {
    return this.dataSource.getRepository(LoginLockoutEntity);
  }

  private get statements(): { beginAttempt: string; purgeStale: string } {
    if (!this.sql) {
      const names = entityNames(this.dataSource, LoginLockoutEntity);
      this.sql = { beginAttempt: beginAttemptSql(names), purgeStale: purgeStaleSql(names) };
    }
    return this.sql;
  }

  /** Counts an attempt; true when it may go on (the name is not locked). */
  async beginAttempt(accessor: string, name: string, now: Date, config: LockoutConfig): Promise<boolean> {
    const rows: { locked_until: Date | null }[] = await this.dataSource.query(this.statements.beginAttempt, [
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
    const row = await this.lockouts.findOne({ select: { lockedUntil: true }, where: { mountAccessor: accessor, loginName: name } });
    const lockedUntil = row?.lockedUntil;
    return !!lockedUntil && lockedUntil.getTime() > now.getTime();
  }

  /**
   * Counts one failed login (failures-only counting): the same transition as an attempt, with the
   * lock falling on the failure that reaches the threshold rather than on the attempt after it.
   */
  async countFailure(accessor: string, name: string, now: Date, config: LockoutConfig): Promise<void> {
    await this.dataSource.query(this.statements.beginAttempt, [accessor, name, now, config.threshold - 1, config.durationSeconds, config.counterResetSeconds]);
  }

  async recordFailure(accessor: string, name: string, now: Date, config: LockoutConfig): Promise<void> {
    await this.lockouts
      .createQueryBuilder()
      .update()
      .set({ lockedUntil: () => 'CAST(:now AS timestamptz) + make_interval(secs => CAST(:duration AS float8))' })
      .where('mountAccessor = :accessor AND loginName = :name AND lockedUntil IS NULL AND attempts >= CAST(:threshold AS int)')
      .setParameters({ accessor, name, now, threshold: config.threshold, duration: config.durationSeconds })
      .execute();
  }

  /** A success, or an operator's unlock: the counter goes. True when there was one. */
  async reset(accessor: string, name: string): Promise<boolean> {
    return ((await this.lockouts.delete({ mountAccessor: accessor, loginName: name })).affected ?? 0) > 0;
  }

  /** Counters of one mount that would start from zero anyway (bounds the table to recent names). */
  async purgeStale(accessor: string, now: Date, counterResetSeconds: number): Promise<number> {
    return affectedRows(this.dataSource, this.statements.purgeStale, [accessor, now, counterResetSeconds]);
  }

  async locked(now: Date, accessor?: string): Promise<LockedName[]> {
    const where: FindOptionsWhere<LoginLockoutEntity> = { lockedUntil: MoreThan(now) };
    if (accessor != null) where.mountAccessor = accessor;
    const rows = await this.lockouts.find({ select: { mountAccessor: true, loginName: true }, where, order: { mountAccessor: 'ASC', loginName: 'ASC' } });
    return rows.map((r) => ({ mountAccessor: r.mountAccessor, name: r.loginName }));
  }
}
