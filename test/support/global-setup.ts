/**
 * One PostgreSQL for the whole jest run: the server named by DATABASE_URL, else an embedded one in
 * a temporary directory. Each test file then creates its own database (see database.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.SECRETHUB_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-test-pg-'));
  const handle = await startEmbeddedPostgres(dir, () => undefined);
  process.env.SECRETHUB_TEST_ADMIN_URL = handle.url;
  (globalThis as Record<string, unknown>).__secrethubTestPostgres = { handle, dir };
}
