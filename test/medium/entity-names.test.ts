/**
 * src/database/entity-names.ts: the names that statements kept as SQL take from the entity
 * metadata are the migrated schema's, quoted; a property that is not a column throws.
 */
import type { DataSource } from 'typeorm';
import { columnNames, entityNames } from '../../src/database/entity-names';
import { ALL_ENTITIES } from '../../src/entities';
import { AuditAnomalyActivityEntity } from '../../src/audit/anomaly.entity';
import { AuditLogEntity } from '../../src/audit/audit.entity';
import { LoginLockoutEntity } from '../../src/shared/lockout/lockout.entity';
import { openTestDatabase } from '../support/database';

describe('entityNames (medium)', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    ({ dataSource } = await openTestDatabase());
  });
  afterAll(async () => dataSource.destroy());

  it('gives the quoted table and column names of an entity', () => {
    const names = entityNames(dataSource, LoginLockoutEntity);
    expect(names.table).toBe('"login_lockouts"');
    expect(names.col.mountAccessor).toBe('"mount_accessor"');
    expect(names.col.lockedUntil).toBe('"locked_until"');
    expect(names.col.attempts).toBe('"attempts"');
    // A column named like a keyword is quoted.
    expect(entityNames(dataSource, AuditLogEntity).col.timestamp).toBe('"timestamp"');
  });

  it('throws for a property that is not a column (a relation, a typo)', () => {
    const names = entityNames(dataSource, LoginLockoutEntity);
    expect(() => names.col.mount).toThrow('LoginLockoutEntity has no column property mount');
    expect(() => (names.col as Record<string, string>).lockedUntill).toThrow('has no column property lockedUntill');
  });

  it('gives unquoted column names for the QueryBuilder calls that take them; a property that is not a column throws', () => {
    expect(columnNames(dataSource, LoginLockoutEntity, ['mountAccessor', 'loginName'])).toEqual(['mount_accessor', 'login_name']);
    expect(() => columnNames(dataSource, LoginLockoutEntity, ['mount'])).toThrow('LoginLockoutEntity has no column property mount');
  });

  it('is computed once per DataSource, and a transaction manager gives the same names', async () => {
    const names = entityNames(dataSource, AuditAnomalyActivityEntity);
    expect(entityNames(dataSource.manager, AuditAnomalyActivityEntity)).toBe(names);
    await dataSource.transaction(async (m) => expect(entityNames(m, AuditAnomalyActivityEntity)).toBe(names));
  });

  it('names every table and column of every entity as the migrated schema has them', async () => {
    const catalog: { table_name: string; column_name: string }[] = await dataSource.query(
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'",
    );
    const columns = new Set(catalog.map((c) => `"${c.table_name}"."${c.column_name}"`));
    let checked = 0;
    for (const entity of ALL_ENTITIES) {
      const { table, col } = entityNames(dataSource, entity);
      for (const property of dataSource.getMetadata(entity).columns.map((c) => c.propertyPath)) {
        expect(columns).toContain(`${table}.${(col as Record<string, string>)[property]}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('builds statements that run against the migrated schema', async () => {
    const { table, col } = entityNames(dataSource, LoginLockoutEntity);
    const rows: { n: number }[] = await dataSource.query(
      `SELECT count(*)::int AS n FROM ${table} l WHERE l.${col.lockedUntil} IS NOT NULL AND l.${col.attempts} > $1`,
      [0],
    );
    expect(rows).toEqual([{ n: 0 }]);
  });
});
