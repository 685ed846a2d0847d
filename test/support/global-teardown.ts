import { rmSync } from 'node:fs';
import type { EmbeddedPostgresHandle } from '../../src/database/embedded-postgres';

/** Stops the run's embedded PostgreSQL once (every project that started it names this module). */
export default async function globalTeardown(): Promise<void> {
  const store = globalThis as Record<string, unknown>;
  const pg = store.__secrethubTestPostgres as { handle: EmbeddedPostgresHandle; dir: string } | undefined;
  if (!pg) return;
  delete store.__secrethubTestPostgres;
  await pg.handle.stop();
  pg.handle.removeData();
  rmSync(pg.dir, { recursive: true, force: true });
}
