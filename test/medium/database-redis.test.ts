/**
 * The `database` engine's Redis plugin against the machine's Redis (127.0.0.1:6379): ACL users
 * log in with their password and not after revocation or expiry. Without a reachable Redis the
 * tests are skipped with the reason, except under CI=true, where they fail (support/services.ts).
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { generateUsername, mountTag } from '../../src/engines/database/statement-template';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';
import { describeWithService, REDIS } from '../support/services';
import { until } from '../support/wait';

jest.setTimeout(120_000);

const { host: HOST, port: PORT } = REDIS;

async function canLogIn(username: string, password: string): Promise<boolean> {
  // disconnectTimeout: after a refused login the stream is already closed, and ioredis would hold a 2 s timer open for it.
  const r = new Redis({
    host: HOST,
    port: PORT,
    username,
    password,
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    disconnectTimeout: 50,
  });
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

async function acl(...args: string[]): Promise<void> {
  const r = new Redis({ host: HOST, port: PORT });
  try {
    await r.call('ACL', ...args);
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

describeWithService('redis', 'database engine, Redis (medium)', () => {
  let k: TestKernel | undefined;
  let call: Call;
  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    expect((await call('PUT', 'sys/mounts/redis', { type: 'database' })).status).toBe(204);
    expect(
      (
        await call('PUT', 'redis/config/cache', {
          plugin_name: 'redis-database-plugin',
          host: HOST,
          port: PORT,
          username: 'default',
          password: '',
          allowed_roles: ['*'],
        })
      ).status,
    ).toBe(204);
    expect((await call('PUT', 'redis/roles/reader', { db_name: 'cache', creation_statements: ['["~*", "+@read"]'], default_ttl: '1h' })).status).toBe(204);
    expect(
      (await call('PUT', 'redis/roles/short', { db_name: 'cache', creation_statements: ['["~*", "+@read"]'], default_ttl: '1s', max_ttl: '1s' })).status,
    ).toBe(204);
  });
  afterAll(async () => k?.close());

  it('creds log in; after revoke the ACL user is gone', async () => {
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
    const { username } = (await call('GET', 'redis/creds/short')).json.data as { username: string };
    expect(await userExists(username)).toBe(true);
    await until(async () => !(await userExists(username)));
  });

  it('rules that would touch the password or the user state are refused at role write', async () => {
    for (const rules of ['["nopass"]', '[">other-password"]', '["resetpass", "+@all"]', '["off"]', '{"not":"a list"}']) {
      const res = await call('PUT', 'redis/roles/bad', { db_name: 'cache', creation_statements: [rules] });
      expect(res.status).toBe(400);
      expect(res.body).not.toContain('other-password');
    }
  });

  it('rotate-root, static roles and the orphan reconciler with a root user of its own', async () => {
    const suffix = randomBytes(4).toString('hex');
    const admin = `sh_admin_${suffix}`;
    const service = `sh_static_${suffix}`;
    // Not the machine's default user: rotating its password would lock every other test out.
    await acl('SETUSER', admin, 'on', '>initial-admin-password-1', '~*', '&*', '+@all');
    await acl('SETUSER', service, 'on', '>initial-static-password-1', '~*', '+@read');
    try {
      expect((await call('PUT', 'sys/mounts/redis2', { type: 'database', options: { orphan_grace_period: '1s' } })).status).toBe(204);
      expect(
        (
          await call('PUT', 'redis2/config/cache', {
            plugin_name: 'redis-database-plugin',
            host: HOST,
            port: PORT,
            username: admin,
            password: 'initial-admin-password-1',
            allowed_roles: ['*'],
          })
        ).status,
      ).toBe(204);
      expect((await call('PUT', 'redis2/rotate-root/cache')).status).toBe(204);
      expect(await canLogIn(admin, 'initial-admin-password-1')).toBe(false);
      expect((await call('PUT', 'redis2/roles/reader', { db_name: 'cache', creation_statements: ['["~*", "+@read"]'] })).status).toBe(204);
      const creds = (await call('GET', 'redis2/creds/reader')).json;
      expect(await canLogIn(creds.data.username, creds.data.password)).toBe(true);

      expect((await call('PUT', 'redis2/static-roles/svc', { db_name: 'cache', username: service, rotation_period: '1h' })).status).toBe(204);
      expect(await canLogIn(service, 'initial-static-password-1')).toBe(false);
      const first = (await call('GET', 'redis2/static-creds/svc')).json.data;
      expect(await canLogIn(service, first.password)).toBe(true);
      expect((await call('PUT', 'redis2/rotate-role/svc')).status).toBe(204);
      expect(await canLogIn(service, first.password)).toBe(false);
      expect(await canLogIn(service, (await call('GET', 'redis2/static-creds/svc')).json.data.password)).toBe(true);

      const tag = mountTag(k!.mounts.get('secret', 'redis2/')?.uuid as string);
      const orphan = generateUsername('reader', 63, tag, Date.now() - 60_000);
      await acl('SETUSER', orphan, 'on', '>orphan-password-1');
      await k!.periodic.tick();
      expect(await userExists(orphan)).toBe(false);
      expect(await userExists(creds.data.username)).toBe(true);
      expect((await call('PUT', 'sys/leases/revoke-prefix/redis2/')).status).toBe(204);
      expect(await userExists(creds.data.username)).toBe(false);
    } finally {
      await acl('DELUSER', admin, service);
    }
  });
});
