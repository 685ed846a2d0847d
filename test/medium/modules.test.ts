/** The server's module graph (CoreModule): what it registers, the order seal hooks run in, and how it starts and stops. */
import { Client } from 'pg';
import { buildConfig } from '../../src/config/config';
import { createLogger } from '../../src/logger';
import { startServer } from '../../src/server';
import { createTestDatabase } from '../support/database';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { until } from '../support/wait';

async function connectionsTo(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const rows = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    return Number(rows.rows[0].n);
  } finally {
    await client.end();
  }
}

describe('module graph (medium)', () => {
  let k: TestKernel | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it('registers every backend type of BACKEND_MODULES on the mount table', async () => {
    k = await openTestKernel();
    for (const type of ['system', 'token', 'cubbyhole', 'userpass', 'approle', 'cert', 'database', 'pki', 'rabbitmq', 'kv', 'transit']) {
      expect(k.mounts.backendOf(type)?.type).toBe(type);
    }
    // Built-in mounts are routable before unseal.
    expect(k.mounts.match('sys/seal-status')?.type).toBe('system');
    expect(k.mounts.match('auth/token/lookup-self')?.type).toBe('token');
  });

  it('starts seal hooks by stage and stops them in reverse, whatever order they were added in', async () => {
    k = await openTestKernel();
    const calls: string[] = [];
    const hook = (name: string) => ({ afterUnseal: async () => void calls.push(`start ${name}`), beforeSeal: () => void calls.push(`stop ${name}`) });
    k.seal.addLifecycleHook('backends', hook('backends'));
    k.seal.addLifecycleHook('workers', hook('workers'));
    k.seal.addLifecycleHook('state', hook('state'));
    k.seal.addLifecycleHook('audit', hook('audit'));
    const { keys } = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await k.seal.submitUnsealKey(keys[0].toString('hex'), false);
    // The kernel's own state hooks ran before ours (same stage, added earlier): the mounts are loaded.
    expect(k.mounts.match('secret/x')).toBeUndefined();
    expect(calls).toEqual(['start state', 'start audit', 'start workers', 'start backends']);
    calls.length = 0;
    await k.seal.seal();
    expect(calls).toEqual(['stop backends', 'stop workers', 'stop audit', 'stop state']);
  });

  it('close seals, stops the cluster bus and closes the database', async () => {
    const kernel = await openTestKernel();
    const { keys } = await kernel.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await kernel.seal.submitUnsealKey(keys[0].toString('hex'), false);
    expect(kernel.bus.live).toBe(true);
    await kernel.close();
    expect(kernel.seal.isSealed).toBe(true);
    expect(kernel.bus.live).toBe(false);
    expect(kernel.dataSource.isInitialized).toBe(false);
    // A backend leaves pg_stat_activity a moment after its client has gone.
    await until(async () => (await connectionsTo(kernel.url)) === 0, 5_000);
  });

  it('a server whose start fails after the database opened leaves no connection behind', async () => {
    const url = await createTestDatabase();
    const occupied = await startServer({ ...buildConfig({}, {}, { listen: '127.0.0.1:0' }), databaseUrl: url }, createLogger('error'));
    try {
      const port = new URL(occupied.address).port;
      // The listener's port is taken: the module graph is built and started, then listen fails.
      const config = { ...buildConfig({}, {}, { listen: `127.0.0.1:${port}` }), databaseUrl: url };
      const before = await connectionsTo(url);
      await expect(startServer(config, createLogger('error'))).rejects.toThrow(/EADDRINUSE/);
      await until(async () => (await connectionsTo(url)) === before, 5_000);
    } finally {
      await occupied.stop();
    }
    await until(async () => (await connectionsTo(url)) === 0, 5_000);
  });
});
