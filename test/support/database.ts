/** Per-test-file databases on the run's PostgreSQL: fresh, migrated, never shared between workers. */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../src/database/data-source';
import { ALL_ENTITIES } from '../../src/entities';

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
  const { dataSource } = await openDatabase(url, { poolSize: 4, entities: ALL_ENTITIES });
  return { url, dataSource };
}

/** `targetUrl` with other credentials (URL-encoded). */
export function withCredentials(targetUrl: string, username: string, password: string): string {
  const u = new URL(targetUrl);
  u.username = encodeURIComponent(username);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** Whether `username`/`password` log in to the PostgreSQL database at `targetUrl` (password authentication). */
export async function canLogInToPostgres(targetUrl: string, username: string, password: string): Promise<boolean> {
  const c = new Client({ connectionString: withCredentials(targetUrl, username, password), connectionTimeoutMillis: 10_000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}
