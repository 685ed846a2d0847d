/** Token, policy and engine-object caches with the LISTEN/NOTIFY bus: served while the listener is up, flushed and bypassed when it drops. */
import { EngineObjectRepository } from '../../src/shared/engine-objects.repository';
import { openTestKernel, type TestKernel } from '../support/kernel';

describe('cache invalidation bus (medium)', () => {
  let k: TestKernel;
  afterEach(async () => k?.close());

  async function waitFor(check: () => boolean | Promise<boolean>): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('condition not reached');
  }

  async function unsealedWithLiveBus(): Promise<void> {
    k = await openTestKernel();
    const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await k.seal.submitUnsealKey(init.keys[0].toString('hex'), false);
    await waitFor(() => k.bus.live);
  }

  const newToken = (numUses?: number) =>
    k.tokenStore.create({
      policies: ['default'],
      orphan: true,
      displayName: 't',
      creationPath: 'auth/token/create',
      meta: {},
      renewable: true,
      ttlSeconds: 600,
      numUses,
    });

  it('a cached token survives a change made behind its back only while the listener is connected', async () => {
    await unsealedWithLiveBus();
    const t = await newToken();
    expect(await k.tokenStore.lookup(t.token)).toBeDefined();

    // Deleted without a notification (as a lost message would be): the cache still answers...
    await k.dataSource.query('DELETE FROM tokens WHERE token_hmac = $1', [t.info.tokenHmac]);
    expect(await k.tokenStore.lookup(t.token)).toBeDefined();
    // ...until the listener connection drops: then every cache is flushed and bypassed.
    await k.dataSource.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'secrethub-listener' AND datname = current_database()",
    );
    await waitFor(() => !k.bus.live);
    expect(await k.tokenStore.lookup(t.token)).toBeUndefined();
    // It reconnects by itself and caching resumes.
    await waitFor(() => k.bus.live);
  });

  it('a notification from another node drops the entry; a limited-use token is never cached', async () => {
    await unsealedWithLiveBus();
    const t = await newToken();
    expect(await k.tokenStore.lookup(t.token)).toBeDefined();
    await k.dataSource.query('DELETE FROM tokens WHERE token_hmac = $1', [t.info.tokenHmac]);
    await k.dataSource.query(`SELECT pg_notify('secrethub_invalidate', $1)`, [JSON.stringify({ topic: 'token', key: t.info.tokenHmac.toString('hex') })]);
    await waitFor(async () => (await k.tokenStore.lookup(t.token)) === undefined);

    const limited = await newToken(5);
    expect(await k.tokenStore.lookup(limited.token)).toBeDefined();
    await k.dataSource.query('DELETE FROM tokens WHERE token_hmac = $1', [limited.info.tokenHmac]);
    expect(await k.tokenStore.lookup(limited.token)).toBeUndefined();
  });

  it('policies changed in the database and announced are re-read', async () => {
    await unsealedWithLiveBus();
    await k.policies.put('p', 'path "a/*" { capabilities = ["read"] }');
    expect((await k.policies.aclFor(['p'])).capabilities('a/x')).toEqual(['read']);
    await k.dataSource.query(`UPDATE policies SET document = '[]'::jsonb WHERE name = 'p'`);
    expect((await k.policies.aclFor(['p'])).capabilities('a/x')).toEqual(['read']);
    await k.dataSource.query(`SELECT pg_notify('secrethub_invalidate', '{"topic":"policy","key":"p"}')`);
    await waitFor(async () => (await k.policies.aclFor(['p'])).capabilities('a/x')[0] === 'deny');
  });

  it('engine objects: cached as copies, re-read when another node announces a change, forgotten by clear()', async () => {
    await unsealedWithLiveBus();
    const objects = new EngineObjectRepository(k.dataSource, k.barrier, k.bus);
    // A writer that announces nothing (a lost notification).
    const silent = new EngineObjectRepository(k.dataSource, k.barrier);
    const mount = k.mounts.match('cubbyhole/')!.uuid;
    await objects.put(mount, 'kind', 'a', { v: 1 });
    const first = await objects.get<{ v: number }>(mount, 'kind', 'a');
    first!.v = 99;
    expect(await objects.get(mount, 'kind', 'a')).toEqual({ v: 1 });
    await silent.put(mount, 'kind', 'a', { v: 2 });
    expect(await objects.get(mount, 'kind', 'a')).toEqual({ v: 1 });
    await k.dataSource.query(`SELECT pg_notify('secrethub_invalidate', $1)`, [
      JSON.stringify({ topic: 'engine-objects', key: JSON.stringify([mount, 'kind', 'a']) }),
    ]);
    await waitFor(async () => (await objects.get<{ v: number }>(mount, 'kind', 'a'))?.v === 2);
    // Absence is cached too, and a write through a bus-connected repository is seen at once.
    expect(await objects.get(mount, 'kind', 'b')).toBeUndefined();
    await new EngineObjectRepository(k.dataSource, k.barrier, k.bus).put(mount, 'kind', 'b', { v: 3 });
    expect(await objects.get(mount, 'kind', 'b')).toEqual({ v: 3 });
    await silent.delete(mount, 'kind', 'b');
    objects.clear();
    expect(await objects.get(mount, 'kind', 'b')).toBeUndefined();
  });
});
