/**
 * The entities mirror the migrated schema (issue 25): TypeORM finds nothing to change in a migrated
 * database, every table has an entity, and a database TypeORM builds from the entities has the same
 * catalog (types, nullability, defaults, collations, comments, keys, uniques, checks, foreign keys,
 * indexes with their predicates) as the migrated one, but for the known exceptions below. The catalog
 * comparison covers what TypeORM's own diff does not compare: index predicates, check expressions
 * and constraint names.
 */
import type { DataSource } from 'typeorm';
import { AuditLogRepository } from '../../src/audit/audit-log.repository';
import { createDataSource } from '../../src/database/data-source';
import { ALL_ENTITIES } from '../../src/entities';
import { createTestDatabase, openTestDatabase } from '../support/database';

/** Statements TypeORM's schema diff may propose against a migrated database. None today. */
const KNOWN_DIFF: { reason: string; query: string }[] = [];

/** TypeORM writes a number default as a quoted literal, which PostgreSQL keeps as a cast for bigint and smallint: the same value. */
function quotedDefault(column: string, type: string, value: number): { reason: string; migrated: string; declared: string } {
  return {
    reason: 'TypeORM quotes number defaults (same value, other expression)',
    migrated: `column ${column} ${type} not null default ${value}`,
    declared: `column ${column} ${type} not null default '${value}'::${type}`,
  };
}

/**
 * Catalog items that differ between the migrated database and one TypeORM builds from the entities:
 * `migrated` is only in the first, `declared` only in the second.
 */
const KNOWN_CATALOG_DIFFERENCES: { reason: string; migrated: string; declared: string }[] = [
  {
    reason: 'audit_logs is partitioned by range on "timestamp" (monthly partitions); TypeORM has no partitioned tables',
    migrated: 'table audit_logs partitioned',
    declared: 'table audit_logs',
  },
  {
    reason: 'an index on a partitioned table is defined ON ONLY the parent (partitions get their own)',
    migrated: 'index CREATE UNIQUE INDEX audit_logs_pkey ON ONLY public.audit_logs USING btree (sequence_number, "timestamp")',
    declared: 'index CREATE UNIQUE INDEX audit_logs_pkey ON public.audit_logs USING btree (sequence_number, "timestamp")',
  },
  {
    reason: 'an index on a partitioned table is defined ON ONLY the parent (partitions get their own)',
    migrated: 'index CREATE INDEX audit_logs_correlation ON ONLY public.audit_logs USING btree (correlation_id)',
    declared: 'index CREATE INDEX audit_logs_correlation ON public.audit_logs USING btree (correlation_id)',
  },
  {
    reason: 'TypeORM indices have no operator class (text_pattern_ops serves LIKE prefix scans of lease ids)',
    migrated: 'index CREATE INDEX leases_prefix ON public.leases USING btree (lease_id text_pattern_ops)',
    declared: 'index CREATE INDEX leases_prefix ON public.leases USING btree (lease_id)',
  },
  {
    reason: 'TypeORM indices have no column order (DESC)',
    migrated: 'index CREATE INDEX audit_anomalies_by_detection ON public.audit_anomalies USING btree (detected_at DESC)',
    declared: 'index CREATE INDEX audit_anomalies_by_detection ON public.audit_anomalies USING btree (detected_at)',
  },
  quotedDefault('audit_chain_head.pruned_through', 'bigint', 0),
  quotedDefault('barrier_keyring.id', 'smallint', 1),
  quotedDefault('barrier_term_usage.encryptions', 'bigint', 0),
  quotedDefault('ha_nodes.singleton_writes', 'bigint', 0),
  quotedDefault('seal_config.id', 'smallint', 1),
];
// Not in the catalog compared, so no exception needed: the append-only triggers on audit_logs,
// audit_checkpoints and each partition, the function audit_append_only(), the partitions themselves
// and their storage parameters (toast_tuple_target), and the rows the migrations insert.

/**
 * Tables, columns, constraints and indexes of the public schema, one line each (partitions and
 * schema_migrations left out). NOT NULL constraints (PostgreSQL 18 lists them) are left out too:
 * nullability is on the column's line, and their names come from the table's name at creation.
 */
async function catalog(ds: DataSource): Promise<string[]> {
  const tables = `c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'schema_migrations'`;
  const rows: { item: string }[] = await ds.query(`
    SELECT 'table ' || c.relname || CASE c.relkind WHEN 'p' THEN ' partitioned' ELSE '' END AS item FROM pg_class c WHERE ${tables}
    UNION ALL
    SELECT format('column %s.%s %s%s%s%s%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
        CASE WHEN a.attnotnull THEN ' not null' ELSE ' null' END,
        coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''),
        CASE WHEN a.attcollation <> t.typcollation THEN ' collate ' || co.collname ELSE '' END,
        coalesce(' comment ' || col_description(c.oid, a.attnum), ''))
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      LEFT JOIN pg_collation co ON co.oid = a.attcollation
      WHERE ${tables} AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('constraint %s.%s %s', c.relname, con.conname, pg_get_constraintdef(con.oid))
      FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid WHERE ${tables} AND con.contype <> 'n'
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE ${tables}`);
  return rows.map((r) => r.item).sort();
}

describe('entities (medium)', () => {
  let migrated: DataSource;
  let declared: DataSource | undefined;
  beforeAll(async () => {
    ({ dataSource: migrated } = await openTestDatabase());
    // A partition, as the audit log creates them, must not count as a table of its own.
    await new AuditLogRepository(migrated).ensurePartition('2025-01');
  });
  afterAll(async () => {
    await migrated?.destroy();
    await declared?.destroy();
  });

  it('TypeORM finds nothing to change in a migrated database', async () => {
    const sql = await migrated.driver.createSchemaBuilder().log();
    const known = new Set(KNOWN_DIFF.map((k) => k.query));
    expect(sql.upQueries.map((q) => q.query).filter((q) => !known.has(q))).toEqual([]);
  });

  it('every table the migrations create has an entity', async () => {
    const rows: { name: string }[] = await migrated.query(
      `SELECT c.relname AS name FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'schema_migrations' ORDER BY 1`,
    );
    const withEntity = new Set(migrated.entityMetadatas.map((m) => m.tableName));
    expect(rows.map((r) => r.name).filter((t) => !withEntity.has(t))).toEqual([]);
    expect(rows.length).toBe(ALL_ENTITIES.length);
    expect(rows.length).toBeGreaterThan(30);
  });

  it('a database built from the entities has the migrated catalog, but for the known exceptions', async () => {
    // A throw-away database that TypeORM builds from the entities alone (never done to a real one).
    declared = createDataSource(await createTestDatabase(), { poolSize: 2, entities: ALL_ENTITIES });
    await declared.initialize();
    await declared.synchronize();
    const fromMigrations = await catalog(migrated);
    const fromEntities = await catalog(declared);
    const onlyMigrated = fromMigrations.filter((item) => !fromEntities.includes(item));
    const onlyDeclared = fromEntities.filter((item) => !fromMigrations.includes(item));
    expect({ onlyMigrated, onlyDeclared }).toEqual({
      onlyMigrated: KNOWN_CATALOG_DIFFERENCES.map((k) => k.migrated).sort(),
      onlyDeclared: KNOWN_CATALOG_DIFFERENCES.map((k) => k.declared).sort(),
    });
    expect(fromMigrations.length).toBeGreaterThan(400);
  });
});
