/**
 * The reseal job (issue 25 item 2): values stored under the legacy location grammars are rewritten
 * under `table/column/row key` after unseal. kill -9 in the middle of the job leaves rows in both
 * grammars; after a restart every value reads (with the job held off by its advisory lock, so the
 * legacy rows are read as legacy), the next run finishes the rest, and every row ends in the new
 * grammar with its column marked done.
 */
import { Client } from 'pg';
import { openDatabase } from '../../src/database/data-source';
import { ALL_ENTITIES } from '../../src/entities';
import { RESEAL_MARKER_PREFIX } from '../../src/kernel/barrier/reseal-job';
import { ResealRepository } from '../../src/kernel/barrier/reseal.repository';
import type { Ciphertext, SealedColumnDeclaration } from '../../src/kernel/barrier/sealed-column';
import { visitSealedColumns } from '../../src/kernel/barrier/sealed-columns';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(240_000);

const KV_SECRETS = 1200;
const KV_V1_SECRETS = 30;

async function withKernel<T>(url: string, keys: string[], work: (k: TestKernel) => Promise<T>): Promise<T> {
  const { dataSource } = await openDatabase(url, { poolSize: 2, entities: ALL_ENTITIES });
  const k = await openTestKernel({ dataSource, url });
  try {
    for (const key of keys) await k.seal.submitUnsealKey(key, false);
    expect(k.seal.isSealed).toBe(false);
    return await work(k);
  } finally {
    await k.close();
  }
}

/** Rewrites every row of every legacy column under its legacy location (what a server before this change stored). */
async function downgrade(k: TestKernel): Promise<Record<string, number>> {
  const rows = new ResealRepository(k.dataSource);
  const counts: Record<string, number> = {};
  for (const work of visitSealedColumns((column) => () => visit(k, rows, column, true)))
    for (const [name, count] of Object.entries(await work())) counts[name] = count.current;
  await k.dataSource.query('DELETE FROM kernel_secrets WHERE starts_with(name, $1)', [RESEAL_MARKER_PREFIX]);
  return counts;
}

/** Strictly (no fallback): per column, the rows that open under the current location, and those that open under the legacy one. */
async function census(k: TestKernel): Promise<Record<string, { current: number; legacy: number }>> {
  const rows = new ResealRepository(k.dataSource);
  const counts: Record<string, { current: number; legacy: number }> = {};
  for (const work of visitSealedColumns((column) => () => visit(k, rows, column, false))) Object.assign(counts, await work());
  return counts;
}

/** Every row of a legacy column: counted by the location it opens under; with `downgrade`, rewritten under the legacy one. */
async function visit<K>(
  k: TestKernel,
  rows: ResealRepository,
  column: SealedColumnDeclaration<K>,
  downgrade: boolean,
): Promise<Record<string, { current: number; legacy: number }>> {
  const legacy = column.legacy;
  if (!legacy) return {};
  const count = { current: 0, legacy: 0 };
  let after: unknown[] | undefined;
  for (;;) {
    const page = await rows.page(column, legacy.scan, after, 100);
    for (const row of page) {
      let plaintext: Buffer;
      try {
        plaintext = k.barrier.decrypt(column.location(row.key), row.value);
        count.current++;
      } catch {
        plaintext = k.barrier.decrypt(legacy.location(row.key), row.value);
        count.legacy++;
      }
      if (downgrade)
        expect(await rows.replace(column, legacy.scan, row, (await k.barrier.encrypt(legacy.location(row.key), plaintext)) as Ciphertext)).toBe(true);
    }
    if (page.length < 100) return { [`${column.table}.${column.column}`]: count };
    after = page[page.length - 1].primaryKey;
  }
}

/** Holds the reseal job's advisory lock (on a connection of its own), so no job runs until released. */
async function holdResealLock(url: string): Promise<() => Promise<void>> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query("SELECT pg_advisory_lock(hashtext('secrethub.reseal'))");
  return async () => {
    await client.query("SELECT pg_advisory_unlock(hashtext('secrethub.reseal'))");
    await client.end();
  };
}

async function unseal(address: string, keys: string[]): Promise<void> {
  for (const key of keys) await call(address, 'PUT', 'sys/unseal', { body: { key } });
  expect((await call(address, 'GET', 'sys/seal-status')).body.sealed).toBe(false);
}

async function waitFor(server: ServerProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pattern.test(server.output())) {
    if (Date.now() > until) throw new Error(`no ${pattern} in the server's output:\n${server.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('reseal job (e2e, kill -9)', () => {
  let server: ServerProcess | undefined;
  afterEach(async () => server?.stop());

  it('kill -9 mid-job: rows in both grammars read; the next run finishes the rest; every row ends in table/column/row key', async () => {
    const url = await createTestDatabase();
    server = await startServerProcess({ databaseUrl: url });
    const init = (await call(server.address, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })).body;
    const keys = init.keys as string[];
    const token = init.root_token as string;
    await unseal(server.address, keys);
    const a = () => (server as ServerProcess).address;
    const ok = async (method: string, path: string, body?: unknown, as = token) => {
      const res = await call(a(), method, path, { token: as, body });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };

    await ok('POST', 'sys/mounts/kv', { type: 'kv', options: { version: '2' } });
    await ok('POST', 'sys/mounts/old', { type: 'kv', options: { version: '1' } });
    await ok('POST', 'sys/auth/userpass', { type: 'userpass' });
    await ok('POST', 'sys/mounts/pki', { type: 'pki' });
    for (let start = 0; start < KV_SECRETS; start += 16)
      await Promise.all(Array.from({ length: 16 }, (_, i) => ok('PUT', `kv/data/app/s${start + i}`, { data: { value: `v-${start + i}` } })));
    for (let i = 0; i < KV_V1_SECRETS; i++) await ok('PUT', `old/s${i}`, { value: `old-${i}` });
    await ok('PUT', 'auth/userpass/users/alice', { password: 'correct horse', token_policies: ['default'] });
    await ok('PUT', 'cubbyhole/note', { text: 'in the cubbyhole' });
    await ok('PUT', 'pki/root/generate/internal', { common_name: 'Reseal Root', ttl: '8760h', key_type: 'ec', key_bits: 256 });
    await ok('PUT', 'pki/roles/web', { allowed_domains: ['example.com'], allow_subdomains: true, key_type: 'ec', key_bits: 256 });
    await server.stop();
    server = undefined;

    // No job may run while the rows are rewritten (the kernel opened here would start one).
    const releaseForDowngrade = await holdResealLock(url);
    const written = await withKernel(url, keys, downgrade);
    await releaseForDowngrade();
    expect(written).toMatchObject({
      'secret_versions.encrypted_data': KV_SECRETS,
      'secrets.encrypted_data': KV_V1_SECRETS,
      'userpass_users.password_ciphertext': 1,
    });
    expect(written['engine_objects.value_ciphertext']).toBeGreaterThan(0);
    expect(written['pki_keys.private_key_encrypted']).toBe(1);
    expect(written['cubbyhole_entries.value_ciphertext']).toBe(1);

    // The job starts at unseal: killed once it has re-sealed its first page of KV v2 versions.
    server = await startServerProcess({ databaseUrl: url });
    await unseal(server.address, keys);
    await waitFor(server, /reseal: secret_versions\.encrypted_data: \d+ rows re-sealed so far/);
    await server.kill9();
    expect(server.output()).not.toMatch(/reseal: secret_versions\.encrypted_data: \d+ rows re-sealed\n/);

    // With the job held off: the kill left some KV v2 versions re-sealed and some not, and every value reads.
    const release = await holdResealLock(url);
    const midway = await withKernel(url, keys, census);
    expect(midway['secret_versions.encrypted_data'].current).toBeGreaterThan(0);
    expect(midway['secret_versions.encrypted_data'].legacy).toBeGreaterThan(0);
    expect(midway['secret_versions.encrypted_data'].current + midway['secret_versions.encrypted_data'].legacy).toBe(KV_SECRETS);
    expect(midway['pki_keys.private_key_encrypted']).toEqual({ current: 0, legacy: 1 });

    server = await startServerProcess({ databaseUrl: url });
    await unseal(server.address, keys);
    const readEverything = async () => {
      for (let start = 0; start < KV_SECRETS; start += 50) {
        const reads = await Promise.all(Array.from({ length: 50 }, (_, i) => ok('GET', `kv/data/app/s${start + i}`)));
        reads.forEach((r, i) => expect(r.data.data).toEqual({ value: `v-${start + i}` }));
      }
      for (let i = 0; i < KV_V1_SECRETS; i++) expect((await ok('GET', `old/s${i}`)).data).toEqual({ value: `old-${i}` });
      expect((await ok('PUT', 'auth/userpass/login/alice', { password: 'correct horse' }, '')).auth.client_token).toBeTruthy();
      expect((await ok('GET', 'cubbyhole/note')).data).toEqual({ text: 'in the cubbyhole' });
      expect((await ok('PUT', 'pki/issue/web', { common_name: 'a.example.com', ttl: '1h' })).data.certificate).toContain('BEGIN CERTIFICATE');
    };
    await readEverything();
    // A write meanwhile is in the new grammar at once.
    await ok('PUT', 'kv/data/app/s0', { data: { value: 'v-0' } });

    // Released: the next unseal runs the job again; it finishes the rows the kill left.
    await release();
    await ok('PUT', 'sys/seal');
    await unseal(server.address, keys);
    await waitFor(server, /reseal: pki_keys\.private_key_encrypted: 1 rows re-sealed\n/);
    await readEverything();
    await server.stop();
    server = undefined;

    await withKernel(url, keys, async (k) => {
      const markers: { name: string }[] = await k.dataSource.query('SELECT name FROM kernel_secrets WHERE starts_with(name, $1) ORDER BY name', [
        RESEAL_MARKER_PREFIX,
      ]);
      expect(markers.map((m) => m.name.slice(RESEAL_MARKER_PREFIX.length))).toEqual(
        visitSealedColumns((c) => (c.legacy ? `${c.table}.${c.column}` : undefined))
          .filter((n): n is string => n !== undefined)
          .sort(),
      );
      const after = await census(k);
      for (const [column, count] of Object.entries(written))
        expect([column, after[column]]).toEqual([column, { current: count + (column === 'secret_versions.encrypted_data' ? 1 : 0), legacy: 0 }]);
    });
  });
});
