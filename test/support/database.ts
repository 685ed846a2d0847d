/** Per-test-file databases on the run's PostgreSQL: fresh, migrated, never shared between workers. */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../src/database/data-source';

function adminUrl(): string {
  const url = process.env.SECRETHUB_TEST_ADMIN_URL;
  if (!url) throw new Error('SECRETHUB_TEST_ADMIN_URL is not set: run the tests through jest (global setup)');
  return url;
}

/** Creates an empty database and returns its URL. */
export async function createTestDatabase(): Promise<string> {
  const name = `sh_test_${randomBytes(6).toString('hex')}`;
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh database with every migration applied. */
export async function openTestDatabase(): Promise<{ url: string; dataSource: DataSource }> {
  const url = await createTestDatabase();
  const { dataSource } = await openDatabase(url, 4);
  return { url, dataSource };
}
