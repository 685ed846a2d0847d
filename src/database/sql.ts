/** Small helpers over TypeORM's raw `query()`. */
import type { DataSource, EntityManager } from 'typeorm';

type Queryable = DataSource | EntityManager;

/**
 * Runs an UPDATE or DELETE with RETURNING and gives its rows. TypeORM's postgres driver returns
 * `[rows, affectedCount]` for UPDATE/DELETE but plain rows for SELECT/INSERT; this hides that.
 */
export async function returningRows<T>(db: Queryable, sql: string, params: unknown[]): Promise<T[]> {
  const result: unknown = await db.query(sql, params);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

/** Runs an UPDATE or DELETE and gives the number of rows it affected. */
export async function affectedRows(db: Queryable, sql: string, params: unknown[]): Promise<number> {
  const result: unknown = await db.query(sql, params);
  if (Array.isArray(result) && result.length === 2 && typeof result[1] === 'number') return result[1];
  return 0;
}
