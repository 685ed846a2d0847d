/**
 * The `database` engine's Redis plugin against the machine's Redis (127.0.0.1:6379): ACL users
 * log in with their password and not after revocation or expiry. Without a reachable Redis the
 * tests skip with a reason, except under CI=true, where they fail.
 */
import Redis from 'ioredis';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';
import { until } from '../support/wait';

jest.setTimeout(120_000);

const HOST = '127.0.0.1';
const PORT = 6379;

async function canLogIn(username: string, password: string): Promise<boolean> {
  const r = new Redis({ host: HOST, port: PORT, username, password, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.get('any-key');
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function redisReachable(): Promise<boolean> {
  const r = new Redis({ host: HOST, port: PORT, lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function userExists(name: string): Promise<boolean> {
  const r = new Redis({ host: HOST, port: PORT });
  try {
    return ((await r.call('ACL', 'USERS')) as string[]).includes(name);
  } finally {
    r.disconnect();
  }
}

describe('database engine, Redis (medium)', () => {
  let k: TestKernel | undefined;
  let call: Call;
  let reachable = false;
  beforeAll(async () => {
    reachable = await redisReachable();
    if (!reachable) {
      if (process.env.CI === 'true') throw new Error(`Redis is not reachable at ${HOST}:${PORT} (required when CI=true)`);
      console.warn(`skipping the Redis plugin tests: nothing answers at ${HOST}:${PORT}`);
      return;
    }
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    expect((await call('PUT', 'sys/mounts/redis', { type: 'database' })).status).toBe(204);
    expect((await call('PUT', 'redis/config/cache', { plugin_name: 'redis-database-plugin', host: HOST, port: PORT, username: 'default', password: '', allowed_roles: ['*'] })).status).toBe(204);
    expect((await call('PUT', 'redis/roles/reader', { db_name: 'cache', creation_statements: ['["~*", "+@read"]'], default_ttl: '1h' })).status).toBe(204);
    expect((await call('PUT', 'redis/roles/short', { db_name: 'cache', creation_statements: ['["~*", "+@read"]'], default_ttl: '1s', max_ttl: '1s' })).status).toBe(204);
  });
  afterAll(async () => k?.close());

  it('creds log in; after revoke the ACL user is gone', async () => {
    if (!reachable) return;
    const creds = await call('GET', 'redis/creds/reader');
    expect(creds.status).toBe(200);
    const { username, password } = creds.json.data as { username: string; password: string };
    expect(await canLogIn(username, password)).toBe(true);
    expect(await canLogIn(username, 'wrong-password-123')).toBe(false);
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: creds.json.lease_id })).status).toBe(204);
    expect(await canLogIn(username, password)).toBe(false);
    expect(await userExists(username)).toBe(false);
  });

  it('an expired lease deletes the user', async () => {
    if (!reachable) return;
    const { username } = (await call('GET', 'redis/creds/short')).json.data as { username: string };
    expect(await userExists(username)).toBe(true);
    await until(async () => !(await userExists(username)));
  });

  it('rules that would touch the password or the user state are refused at role write', async () => {
    if (!reachable) return;
    for (const rules of ['["nopass"]', '[">other-password"]', '["resetpass", "+@all"]', '["off"]', '{"not":"a list"}']) {
      const res = await call('PUT', 'redis/roles/bad', { db_name: 'cache', creation_statements: [rules] });
      expect(res.status).toBe(400);
      expect(res.body).not.toContain('other-password');
    }
  });
});
