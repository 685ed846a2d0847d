/**
 * The TypeORM DataSource over `pg`. Schema changes happen only through the migrations in
 * `migrations/` (never `synchronize`). Data access itself lives in `*.repository.ts` files.
 */
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { KERNEL_ENTITIES } from './entities';

export function createDataSource(url: string, poolSize = 10): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: KERNEL_ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    extra: { max: poolSize, application_name: 'secrethub' },
  });
}

/** Opens the DataSource and applies pending migrations; returns the names applied. */
export async function openDatabase(url: string, poolSize?: number): Promise<{ dataSource: DataSource; applied: string[] }> {
  const dataSource = createDataSource(url, poolSize);
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
