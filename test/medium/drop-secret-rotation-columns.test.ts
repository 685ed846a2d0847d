/**
 * Migration 1734020000000 drops the unused rotation columns of `secrets` on a database with data:
 * the rows and their other columns stay; `down` brings the columns back empty; both are repeatable.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { DropSecretRotationColumns1734020000000 } from '../../migrations/1734020000000-drop-secret-rotation-columns';
import { openTestDatabase } from '../support/database';

const ROTATION_COLUMNS = ['last_rotated_at', 'next_rotation_at', 'rotation_interval_seconds'];

describe('migration 1734020000000: secrets rotation columns (medium)', () => {
  let dataSource: DataSource;
  const columns = async (): Promise<string[]> =>
    (
      await dataSource.query<{ column_name: string }[]>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'secrets' ORDER BY column_name",
      )
    ).map((r) => r.column_name);

  beforeAll(async () => {
    ({ dataSource } = await openTestDatabase());
  });
  afterAll(async () => dataSource.destroy());

  it('drops the columns of a table with rows, keeping the rows', async () => {
    expect(await columns()).not.toEqual(expect.arrayContaining([expect.stringMatching(/rotat/)]));
    const migration = new DropSecretRotationColumns1734020000000();
    const runner = dataSource.createQueryRunner();
    try {
      await migration.down(runner);
      await migration.down(runner);
      expect(await columns()).toEqual(expect.arrayContaining(ROTATION_COLUMNS));
      const mount = randomUUID();
      await dataSource.query("INSERT INTO mounts (uuid, path, class, type, accessor) VALUES ($1, 'old/', 'secret', 'kv', 'kv_old')", [mount]);
      await dataSource.query(
        `INSERT INTO secrets (mount_uuid, secret_path, secret_type, encrypted_data, version, metadata, rotation_interval_seconds, last_rotated_at, next_rotation_at)
         VALUES ($1, 'a/b', 'kv-v1', '\\x0102', 0, '{"k":"v"}', 3600, now(), now() + interval '1 hour')`,
        [mount],
      );
      await migration.up(runner);
      await migration.up(runner);
    } finally {
      await runner.release();
    }
    const names = await columns();
    for (const c of ROTATION_COLUMNS) expect(names).not.toContain(c);
    expect(await dataSource.query('SELECT secret_path, secret_type, encrypted_data, metadata FROM secrets')).toEqual([
      { secret_path: 'a/b', secret_type: 'kv-v1', encrypted_data: Buffer.from([1, 2]), metadata: { k: 'v' } },
    ]);
  });
});
