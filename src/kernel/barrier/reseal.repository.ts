/**
 * SQL of the reseal job: a legacy column's rows in primary-key order (keyset pages), and the
 * compare-and-set that replaces one row's value.
 *
 * Invariant: a value is replaced only if the row still holds the ciphertext that was read, so a
 * write that raced the job (always in the current grammar) is never overwritten.
 */
import type { DataSource } from 'typeorm';
import { affectedRows } from '../../database/sql';
import type { Ciphertext, ResealScan, SealedColumnDeclaration } from './sealed-column';

export interface ResealRow<K> {
  /** The row's primary key values, in `scan.primaryKey` order. */
  primaryKey: unknown[];
  key: K;
  value: Ciphertext;
  /** The value as stored (bytea, or base64 text), for the compare-and-set. */
  stored: Buffer | string;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export class ResealRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Up to `limit` rows holding a value, after the row `after` (primary key values; undefined: from the start). */
  async page<K>(column: SealedColumnDeclaration<K>, scan: ResealScan<K>, after: unknown[] | undefined, limit: number): Promise<ResealRow<K>[]> {
    const pk = scan.primaryKey.map((c) => `t.${ident(c)}`);
    const params: unknown[] = [...(after ?? []), limit];
    const conditions = [`t.${ident(column.column)} IS NOT NULL`];
    if (scan.where) conditions.push(`(${scan.where})`);
    if (after) conditions.push(`(${pk.join(', ')}) > (${after.map((_, i) => `$${i + 1}`).join(', ')})`);
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT ${pk.map((c, i) => `${c} AS pk_${i}`).join(', ')}, ${scan.keyColumns}, t.${ident(column.column)} AS sealed_value
         FROM ${scan.from} WHERE ${conditions.join(' AND ')} ORDER BY ${pk.join(', ')} LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => {
      const stored = r.sealed_value as Buffer | string;
      return {
        primaryKey: scan.primaryKey.map((_, i) => r[`pk_${i}`]),
        key: scan.keyOf(r),
        stored,
        value: (scan.encoding === 'base64' ? Buffer.from(stored as string, 'base64') : stored) as Ciphertext,
      };
    });
  }

  /** Replaces the row's value if it still holds `row.stored`; false when it changed or went meanwhile. */
  async replace<K>(column: SealedColumnDeclaration<K>, scan: ResealScan<K>, row: ResealRow<K>, resealed: Ciphertext): Promise<boolean> {
    const value = scan.encoding === 'base64' ? resealed.toString('base64') : resealed;
    const col = ident(column.column);
    const where = scan.primaryKey.map((c, i) => `${ident(c)} = $${i + 3}`).join(' AND ');
    const sql = `UPDATE ${ident(column.table)} SET ${col} = $1 WHERE ${col} = $2 AND ${where}`;
    return (await affectedRows(this.dataSource, sql, [value, row.stored, ...row.primaryKey])) > 0;
  }
}
