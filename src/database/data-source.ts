/**
 * The TypeORM DataSource over `pg`. Schema changes happen only through the migrations in
 * `migrations/` (never `synchronize`, no extensions installed by TypeORM). Data access itself lives
 * in `*.repository.ts` files; entities live beside their domains and are listed in src/entities.ts.
 */
import { DataSource, type DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';

export interface OpenDatabaseOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** The entities the DataSource knows: src/entities.ts `ALL_ENTITIES` for a server; default none (migrations alone need none). */
  entities?: DataSourceOptions['entities'];
}

export function createDataSource(url: string, options: OpenDatabaseOptions = {}): DataSource {
  return new DataSource({
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
}

/** Opens the DataSource and applies pending migrations; returns the names applied. */
export async function openDatabase(url: string, options?: OpenDatabaseOptions): Promise<{ dataSource: DataSource; applied: string[] }> {
  const dataSource = createDataSource(url, options);
  await dataSource.initialize();
  try {
    // One migrator at a time even when several nodes start together.
    await dataSource.query('SELECT pg_advisory_lock(727272)');
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    await dataSource.query('SELECT pg_advisory_unlock(727272)');
    return { dataSource, applied: applied.map((m) => m.name) };
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
}
