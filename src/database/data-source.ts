/**
 * The TypeORM DataSource over `pg`. Schema changes happen only through the migrations in
 * `migrations/` (never `synchronize`, no extensions installed by TypeORM). Data access itself lives
 * in `*.repository.ts` files; entities live beside their domains and are listed in src/entities.ts.
 */
import { DataSource, type DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { openSessionConnection, setConnectionSettings, type ConnectionSettings } from './session-connection';

export interface OpenDatabaseOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** The entities the DataSource knows: src/entities.ts `ALL_ENTITIES` for a server; default none (migrations alone need none). */
  entities?: DataSourceOptions['entities'];
  /** Where session state goes and whether statements may be named (session-connection.ts); default: the pool's URL, named. */
  connections?: ConnectionSettings;
}

/** The advisory lock one migrator at a time holds while it migrates. */
export const MIGRATION_LOCK = 727272;

export function createDataSource(url: string, options: OpenDatabaseOptions = {}): DataSource {
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    entities: options.entities ?? [],
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    installExtensions: false,
    // Generated uuids are gen_random_uuid() (built in since PostgreSQL 13), as the migrations write them.
    uuidExtension: 'pgcrypto',
    logging: false,
    extra: { max: options.poolSize ?? 10, application_name: 'secrethub' },
  });
  setConnectionSettings(dataSource, options.connections ?? {});
  return dataSource;
}

/**
 * Opens the DataSource and applies pending migrations; returns the names applied. One migrator at a
 * time even when several nodes start together: the migration lock is taken and released on one
 * connection of its own (the session URL), held while the pool runs the migrations.
 */
export async function openDatabase(url: string, options?: OpenDatabaseOptions): Promise<{ dataSource: DataSource; applied: string[] }> {
  const dataSource = createDataSource(url, options);
  await dataSource.initialize();
  try {
    const applied = await withMigrationLock(options?.connections?.sessionUrl ?? url, () => dataSource.runMigrations({ transaction: 'each' }));
    return { dataSource, applied: applied.map((m) => m.name) };
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
}

/** Runs `fn` holding the migration lock on a connection to `url` that lives exactly as long. */
export async function withMigrationLock<T>(url: string, fn: () => Promise<T>): Promise<T> {
  const lock = await openSessionConnection(url, 'secrethub-migrator');
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const result = await fn();
    const [{ released }] = (await lock.query<{ released: boolean }>('SELECT pg_advisory_unlock($1) AS released', [MIGRATION_LOCK])).rows;
    if (!released) throw new Error('the migration lock was lost before the migrations ended');
    return result;
  } finally {
    await lock.end();
  }
}
