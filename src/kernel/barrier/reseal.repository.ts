/**
 * SQL of the reseal job: a legacy column's rows in primary-key order (keyset pages), and the
 * compare-and-set that replaces one row's value.
 *
 * Invariant: a value is replaced only if the row still holds the ciphertext that was read, so a
 * write that raced the job (always in the current grammar) is never overwritten.
 *
 * A declaration names its table, column and primary key by their database names (the table and
 * column are part of each value's location); they are resolved here against the entity metadata,
 * so a name no entity has throws, and statements take the quoted names from it. The page stays SQL:
 * its FROM, WHERE and key columns are the declaration's fragments, and the keyset compares row
 * values. The compare-and-set is a QueryBuilder UPDATE.
 */
import type { DataSource, EntityMetadata, ObjectLiteral } from 'typeorm';
import { entityNames } from '../../database/entity-names';
import type { Ciphertext, ResealScan, SealedColumnDeclaration } from './sealed-column';

export interface ResealRow<K> {
  /** The row's primary key values, in `scan.primaryKey` order. */
  primaryKey: unknown[];
  key: K;
  value: Ciphertext;
  /** The value as stored (bytea, or base64 text), for the compare-and-set. */
  stored: Buffer | string;
}

/** A declared column resolved against the entities: property names, and the page statements. */
interface Resolved {
  metadata: EntityMetadata;
  /** The sealed column's property. */
  value: string;
  /** The primary key's properties, in `scan.primaryKey` order. */
  primaryKey: string[];
  /** The first page ($1 limit) and the next ones (primary key values, then the limit). */
  firstPage: string;
  nextPage: string;
}

function resolve(dataSource: DataSource, column: SealedColumnDeclaration<unknown>, scan: ResealScan<unknown>): Resolved {
  const metadata = dataSource.entityMetadatas.find((m) => m.tableName === column.table);
  if (!metadata) throw new Error(`reseal: no entity has the table ${column.table}`);
  const property = (name: string) => {
    const found = metadata.findColumnWithDatabaseName(name);
    if (!found) throw new Error(`reseal: ${metadata.name} has no column ${name}`);
    return found.propertyPath;
  };
  const { col } = entityNames<ObjectLiteral>(dataSource, metadata.target);
  const value = property(column.column);
  const primaryKey = scan.primaryKey.map(property);
  const pk = primaryKey.map((p) => `t.${col[p]}`);
  const page = (after: boolean) => {
    const conditions = [`t.${col[value]} IS NOT NULL`];
    if (scan.where) conditions.push(`(${scan.where})`);
    if (after) conditions.push(`(${pk.join(', ')}) > (${pk.map((_, i) => `$${i + 1}`).join(', ')})`);
    return `SELECT ${pk.map((c, i) => `${c} AS pk_${i}`).join(', ')}, ${scan.keyColumns}, t.${col[value]} AS sealed_value
      FROM ${scan.from} WHERE ${conditions.join(' AND ')} ORDER BY ${pk.join(', ')} LIMIT $${after ? pk.length + 1 : 1}`;
  };
  return { metadata, value, primaryKey, firstPage: page(false), nextPage: page(true) };
}

export class ResealRepository {
  /** By scan (each belongs to one declaration). */
  private readonly resolved = new Map<ResealScan<unknown>, Resolved>();

  constructor(private readonly dataSource: DataSource) {}

  private resolve<K>(column: SealedColumnDeclaration<K>, scan: ResealScan<K>): Resolved {
    const key = scan as ResealScan<unknown>;
    let resolved = this.resolved.get(key);
    if (!resolved) this.resolved.set(key, (resolved = resolve(this.dataSource, column as SealedColumnDeclaration<unknown>, key)));
    return resolved;
  }

  /** Up to `limit` rows holding a value, after the row `after` (primary key values; undefined: from the start). */
  async page<K>(column: SealedColumnDeclaration<K>, scan: ResealScan<K>, after: unknown[] | undefined, limit: number): Promise<ResealRow<K>[]> {
    const { firstPage, nextPage } = this.resolve(column, scan);
    const rows: Record<string, unknown>[] = await this.dataSource.query(after ? nextPage : firstPage, [...(after ?? []), limit]);
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
    const { metadata, value, primaryKey } = this.resolve(column, scan);
    const where: ObjectLiteral = { [value]: row.stored };
    primaryKey.forEach((p, i) => (where[p] = row.primaryKey[i]));
    const result = await this.dataSource
      .createQueryBuilder()
      .update(metadata.target)
      .set({ [value]: scan.encoding === 'base64' ? resealed.toString('base64') : resealed })
      .where(where)
      .updateEntity(false)
      .execute();
    return (result.affected ?? 0) > 0;
  }
}
