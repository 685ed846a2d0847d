/** A real kernel (barrier, seal, tokens, every backend) on a fresh migrated database, for medium tests: the server's own module graph without its listener. */
import type { SealConfiguration } from '../../src/kernel/seal/seal-settings';
import type { KmsLibrary } from '../../src/kernel/managed-keys/kms-library';
import { Test } from '@nestjs/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { AUDIT_STDOUT } from '../../src/audit/audit.module';
import { PASSWORD_HASHER } from '../../src/auth/userpass/userpass.module';
import type { PasswordHasher } from '../../src/auth/userpass/password-hasher';
import { buildConfig, type AuditConfig } from '../../src/config/config';
import { CoreModule, kernelOf, type Kernel } from '../../src/core.module';
import { createLogger, type Logger } from '../../src/logger';
import { openTestDatabase } from './database';

export interface TestKernel extends Kernel {
  url: string;
  auditConfig: AuditConfig;
  close(): Promise<void>;
}

/**
 * `auditStdout`: where `file_path=stdout` audit devices write (default process.stdout, whose write
 * never calls back when jest runs in band: its reporter replaces it, so such tests pass their own).
 * `passwordHasher`: userpass's (default argon2id). With `dataSource` and `url`, the kernel shares
 * that database (a second node); close() closes it either way.
 */
export async function openTestKernel(
  options: {
    maxEncryptionsPerTerm?: number;
    /** The seal stanzas (default: Shamir). */
    seal?: SealConfiguration;
    /** The `kms_library` stanzas (default: none). */
    kmsLibraries?: KmsLibrary[];
    dataSource?: DataSource;
    url?: string;
    audit?: Partial<AuditConfig>;
    auditStdout?: Writable;
    log?: Logger;
    backends?: { passwordHasher?: PasswordHasher };
  } = {},
): Promise<TestKernel> {
  const db = options.dataSource && options.url ? { dataSource: options.dataSource, url: options.url } : await openTestDatabase();
  const auditDir = mkdtempSync(join(tmpdir(), 'secrethub-audit-'));
  const defaults = buildConfig({}, {}, { dataDir: auditDir });
  const audit: AuditConfig = { ...defaults.audit, ...options.audit };
  const config = {
    ...defaults,
    audit,
    maxEncryptionsPerTerm: options.maxEncryptionsPerTerm ?? 3_865_470_566,
    seal: options.seal ?? defaults.seal,
    kmsLibraries: options.kmsLibraries ?? defaults.kmsLibraries,
    listener: { ...defaults.listener, disableUnauthedRekeyEndpoints: true },
  };
  const database = { dataSource: db.dataSource, close: () => (db.dataSource.isInitialized ? db.dataSource.destroy() : Promise.resolve()) };
  let builder = Test.createTestingModule({ imports: [CoreModule.forRoot(config, options.log ?? createLogger('error'), database)] });
  if (options.auditStdout) builder = builder.overrideProvider(AUDIT_STDOUT).useValue(options.auditStdout);
  if (options.backends?.passwordHasher) builder = builder.overrideProvider(PASSWORD_HASHER).useValue(options.backends.passwordHasher);
  const app = await builder.compile();
  await app.init();
  return {
    ...kernelOf(app),
    url: db.url,
    auditConfig: audit,
    close: () => app.close(),
  };
}
