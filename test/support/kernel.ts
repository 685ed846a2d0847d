/** A real kernel (barrier, seal, tokens) on a fresh migrated database, for medium tests. */
import type { DataSource } from 'typeorm';
import { createLogger } from '../../src/logger';
import { registerBackends } from '../../src/backends';
import { buildKernel, type Kernel } from '../../src/server';
import { openTestDatabase } from './database';

export interface TestKernel extends Kernel {
  url: string;
  close(): Promise<void>;
}

export async function openTestKernel(options: { maxEncryptionsPerTerm?: number; dataSource?: DataSource; url?: string } = {}): Promise<TestKernel> {
  const db = options.dataSource && options.url ? { dataSource: options.dataSource, url: options.url } : await openTestDatabase();
  const kernel = buildKernel(db.dataSource, { maxEncryptionsPerTerm: options.maxEncryptionsPerTerm ?? 3_865_470_566 }, createLogger('error'));
  registerBackends(kernel, { disableUnauthedRekeyEndpoints: true }, createLogger('error'));
  await kernel.bus.start();
  return {
    ...kernel,
    url: db.url,
    async close() {
      await kernel.seal.seal();
      await kernel.bus.stop();
      await db.dataSource.destroy();
    },
  };
}
