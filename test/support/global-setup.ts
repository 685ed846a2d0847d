/**
 * One PostgreSQL for the whole jest run: the server named by DATABASE_URL, else an embedded one in
 * a temporary directory. Each test file then creates its own database (see database.ts). The
 * machine's other services are probed once (services.ts).
 *
 * Every project that needs the database names this module, so it may run more than once in a run:
 * the second call finds the first's mark and does nothing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { probeServices } from './services';

export default async function globalSetup(): Promise<void> {
  const store = globalThis as Record<string, unknown>;
  if (store.__secrethubTestSetUp) return;
  store.__secrethubTestSetUp = true;
  await probeServices();
  if (process.env.DATABASE_URL) {
    process.env.SECRETHUB_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-test-pg-'));
  const handle = await startEmbeddedPostgres(dir, () => undefined);
  process.env.SECRETHUB_TEST_ADMIN_URL = handle.url;
  store.__secrethubTestPostgres = { handle, dir };
}
