/**
 * The database as a provider: the migrated TypeORM DataSource, opened before the module graph is
 * built (a failed start then leaves nothing running that no one can stop). Closed at application
 * shutdown, after every module that uses it has shut down (Nest shuts modules down dependents first).
 */
import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { Logger } from '../logger';
import { openDatabase } from './data-source';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres';

export interface DatabaseHandle {
  dataSource: DataSource;
  /** Closes the DataSource and stops the embedded PostgreSQL, if any; a second call does nothing. */
  close(): Promise<void>;
}

/**
 * Opens the server's database: `databaseUrl`, else an embedded PostgreSQL in `dataDir` (in dev
 * mode a throw-away directory, removed at close); migrations are applied. `haDatabaseUrl` and
 * `databasePreparedStatements`: see session-connection.ts. `entities`: every entity
 * (src/entities.ts, passed by the composition root so this layer imports no domain).
 */
export async function openServerDatabase(
  config: { databaseUrl?: string; haDatabaseUrl?: string; databasePreparedStatements: boolean; dataDir: string; dev: boolean },
  entities: DataSourceOptions['entities'],
  log: Logger,
): Promise<DatabaseHandle> {
  let embedded: EmbeddedPostgresHandle | undefined;
  let devDir: string | undefined;
  let dataSource: DataSource | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      if (dataSource?.isInitialized) await dataSource.destroy().catch((e: Error) => log.error(`stop: database: ${e.message}`));
      await embedded?.stop().catch((e: Error) => log.error(`stop: embedded PostgreSQL: ${e.message}`));
      if (devDir) {
        embedded?.removeData();
        rmSync(devDir, { recursive: true, force: true });
      }
    })());
  try {
    let url = config.databaseUrl;
    if (!url) {
      const dataDir = config.dev ? (devDir = mkdtempSync(join(tmpdir(), 'secrethub-dev-'))) : config.dataDir;
      embedded = await startEmbeddedPostgres(dataDir, (m) => log.info(m));
      url = embedded.url;
    }
    const connections = { sessionUrl: config.haDatabaseUrl, preparedStatements: config.databasePreparedStatements };
    const opened = await openDatabase(url, { entities, connections });
    dataSource = opened.dataSource;
    for (const name of opened.applied) log.info(`migration applied: ${name}`);
    return { dataSource, close };
  } catch (err) {
    await close();
    throw err;
  }
}

const DATABASE_HANDLE = Symbol('DatabaseHandle');

@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATABASE_HANDLE) private readonly handle: DatabaseHandle) {}

  /**
   * Registers the open DataSource with @nestjs/typeorm (`DataSource` and, for modules that import
   * `TypeOrmModule.forFeature`, entity repositories are injectable). Its own shutdown hook may
   * destroy the DataSource before ours stops the embedded PostgreSQL; either order is safe.
   */
  static forRoot(handle: DatabaseHandle): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [TypeOrmModule.forRootAsync({ useFactory: () => handle.dataSource.options, dataSourceFactory: async () => handle.dataSource })],
      providers: [{ provide: DATABASE_HANDLE, useValue: handle }],
      exports: [TypeOrmModule],
    };
  }

  onApplicationShutdown(): Promise<void> {
    return this.handle.close();
  }
}
