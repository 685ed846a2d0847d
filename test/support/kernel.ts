/** A real kernel (barrier, seal, tokens) on a fresh migrated database, for medium tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { buildConfig, type AuditConfig } from '../../src/config/config';
import { createLogger, type Logger } from '../../src/logger';
import { registerBackends, type BackendOptions } from '../../src/backends';
import { buildKernel, type Kernel } from '../../src/server';
import { openTestDatabase } from './database';

export interface TestKernel extends Kernel {
  url: string;
  auditConfig: AuditConfig;
  close(): Promise<void>;
}

/**
 * `auditStdout`: where `file_path=stdout` audit devices write (default process.stdout, whose write
 * never calls back when jest runs in band: its reporter replaces it, so such tests pass their own).
 */
export async function openTestKernel(options: { maxEncryptionsPerTerm?: number; dataSource?: DataSource; url?: string; audit?: Partial<AuditConfig>; auditStdout?: Writable; log?: Logger; backends?: Omit<BackendOptions, 'disableUnauthedRekeyEndpoints'> } = {}): Promise<TestKernel> {
  const db = options.dataSource && options.url ? { dataSource: options.dataSource, url: options.url } : await openTestDatabase();
  const auditDir = mkdtempSync(join(tmpdir(), 'secrethub-audit-'));
  const audit: AuditConfig = { ...buildConfig({}, {}, { dataDir: auditDir }).audit, ...options.audit };
  const kernel = buildKernel(db.dataSource, { maxEncryptionsPerTerm: options.maxEncryptionsPerTerm ?? 3_865_470_566, audit }, options.log ?? createLogger('error'), options.auditStdout);
  registerBackends(kernel, { disableUnauthedRekeyEndpoints: true, ...options.backends }, options.log ?? createLogger('error'));
  await kernel.bus.start();
  return {
    ...kernel,
    url: db.url,
    auditConfig: audit,
    async close() {
      await kernel.seal.seal();
      await kernel.bus.stop();
      await db.dataSource.destroy();
    },
  };
}
