/** The mount table on a real database: concurrent enables, cache reload on unseal, auth disable revokes its tokens. */
import type { MountTable } from '../../src/kernel/router/mount-table';
import { openTestKernel, type TestKernel } from '../support/kernel';

describe('mount table (medium)', () => {
  let k: TestKernel;
  afterEach(async () => k?.close());

  async function unsealed(): Promise<{ rootToken: string; unsealKey: string }> {
    k = await openTestKernel();
    const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    const unsealKey = init.keys[0].toString('hex');
    await k.seal.submitUnsealKey(unsealKey, false);
    return { rootToken: init.rootToken, unsealKey };
  }

  it('concurrent enables never leave nested or duplicate mounts', async () => {
    await unsealed();
    const paths = ['a', 'a/b', 'a/b/c', 'a/', 'a/b/', 'a', 'a/x', 'a/x/y', 'a/b', 'a/c', 'a', 'a/b/c/d'];
    const results = await Promise.allSettled(paths.map((path) => k.mounts.enable({ class: 'secret', path, type: 'kv' })));
    for (const r of results) if (r.status === 'rejected') expect((r.reason as { status: number }).status).toBe(409);
    const won = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ path: string }>).value.path);
    expect(won.length).toBeGreaterThanOrEqual(1);
    for (const p of won) for (const q of won) if (p !== q) expect(q.startsWith(p)).toBe(false);
    expect(
      k.mounts
        .list('secret')
        .map((e) => e.path)
        .filter((p) => p.startsWith('a'))
        .sort(),
    ).toEqual([...won].sort());

    const same = await Promise.allSettled(Array.from({ length: 10 }, () => k.mounts.enable({ class: 'secret', path: 'same', type: 'kv' })));
    expect(same.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('routes by longest whole-segment prefix and keeps the table across seal and unseal', async () => {
    const { unsealKey } = await unsealed();
    const kv = await k.mounts.enable({ class: 'secret', path: 'team/kv', type: 'kv', description: 'd' });
    const m: MountTable = k.mounts;
    expect(m.match('team/kv/app/x')?.uuid).toBe(kv.uuid);
    expect(m.match('team/kv')?.uuid).toBe(kv.uuid);
    expect(m.match('team/kvx/app')).toBeUndefined();
    expect(m.match('team/')).toBeUndefined();
    expect(m.match('sys/mounts')?.type).toBe('system');
    expect(m.match('auth/token/create')?.type).toBe('token');
    await k.seal.seal();
    expect(m.match('team/kv/app/x')).toBeUndefined();
    expect(m.match('sys/unseal')?.type).toBe('system');
    await k.seal.submitUnsealKey(unsealKey, false);
    expect(m.match('team/kv/app/x')).toMatchObject({ uuid: kv.uuid, accessor: kv.accessor, description: 'd' });
  });

  it('disabling an auth mount revokes the tokens it issued and their children, in its transaction', async () => {
    await unsealed();
    k.mounts.register({ type: 'test-auth', class: 'auth', routes: () => [] });
    await k.mounts.enable({ class: 'auth', path: 'people', type: 'test-auth' });
    const login = await k.tokenStore.create({
      policies: ['default'],
      orphan: true,
      displayName: 'people-alice',
      creationPath: 'auth/people/login',
      meta: {},
      renewable: true,
      ttlSeconds: 3600,
    });
    const child = await k.tokenStore.create({
      policies: ['default'],
      parent: login.info,
      orphan: false,
      displayName: 'child',
      creationPath: 'auth/token/create',
      meta: {},
      renewable: true,
      ttlSeconds: 600,
    });
    const other = await k.tokenStore.create({
      policies: ['default'],
      orphan: true,
      displayName: 'other',
      creationPath: 'auth/peoplex/login',
      meta: {},
      renewable: true,
      ttlSeconds: 600,
    });
    expect(await k.mounts.disable('auth', 'people')).toBe(true);
    expect(await k.tokenStore.lookup(login.token)).toBeUndefined();
    expect(await k.tokenStore.lookup(child.token)).toBeUndefined();
    expect(await k.tokenStore.lookup(other.token)).toBeDefined();
    expect(await k.mounts.disable('auth', 'people')).toBe(false);
  });
});
