/**
 * Table and column names of an entity, for the statements that stay SQL (upserts with expressions,
 * unnest joins, correlated subqueries): written from the entity metadata, never as literals, so that
 * SQL and entity cannot drift apart. Names come quoted by the driver; the table is schema-qualified
 * when the entity has a schema. A property that is not a column throws rather than yielding
 * `undefined` in the SQL text. Computed once per DataSource and entity.
 */
import type { DataSource, EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';

export interface EntityNames<T> {
  /** The table, quoted. */
  readonly table: string;
  /** Each column by its property name, quoted (e.g. `col.lockedUntil` → `"locked_until"`). */
  readonly col: Readonly<Record<keyof T & string, string>>;
}

const cache = new WeakMap<DataSource, Map<EntityTarget<ObjectLiteral>, EntityNames<ObjectLiteral>>>();

/** The names of `entity`'s table and columns in `db`'s DataSource (its metadata must be built: an initialised DataSource). */
export function entityNames<T extends ObjectLiteral>(db: DataSource | EntityManager, entity: EntityTarget<T>): EntityNames<T> {
  const dataSource = 'driver' in db ? db : db.dataSource;
  let byEntity = cache.get(dataSource);
  if (!byEntity) cache.set(dataSource, (byEntity = new Map()));
  let names = byEntity.get(entity);
  if (!names) {
    const metadata = dataSource.getMetadata(entity);
    const q = (name: string) => dataSource.driver.escape(name);
    const columns: Record<string, string> = {};
    for (const c of metadata.columns) columns[c.propertyPath] = q(c.databaseName);
    const col = new Proxy(columns, {
      get(target, property) {
        if (typeof property !== 'string' || !Object.hasOwn(target, property)) throw new Error(`${metadata.name} has no column property ${String(property)}`);
        return target[property];
      },
    });
    names = {
      table: [metadata.schema, metadata.tableName]
        .filter((p) => p)
        .map((p) => q(p as string))
        .join('.'),
      col,
    };
    byEntity.set(entity, names);
  }
  return names as EntityNames<T>;
}

/**
 * The unquoted database names of `entity`'s columns `properties`, for the QueryBuilder calls that
 * take database names (an `orUpdate` conflict target); a property that is not a column throws.
 */
export function columnNames<T extends ObjectLiteral>(
  db: DataSource | EntityManager,
  entity: EntityTarget<T>,
  properties: readonly (keyof T & string)[],
): string[] {
  const metadata = ('driver' in db ? db : db.dataSource).getMetadata(entity);
  return properties.map((property) => {
    const column = metadata.findColumnWithPropertyPathStrict(property);
    if (!column) throw new Error(`${metadata.name} has no column property ${property}`);
    return column.databaseName;
  });
}
