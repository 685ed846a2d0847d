/** Init, unseal and rekey on a real database and barrier: the Shamir rules of security.md. */
import { randomBytes } from 'node:crypto';
import { ApiError } from '../../src/kernel/errors';
import { openTestKernel, type TestKernel } from '../support/kernel';

async function expectApiError(p: Promise<unknown>, status: number, message?: string | RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).status).toBe(status);
  if (message) expect((err as ApiError).errors.join(' ')).toMatch(message);
}

describe('seal (medium)', () => {
  let k: TestKernel;
  afterEach(async () => k?.close());

  it('refuses invalid init parameters and a second init', async () => {
    k = await openTestKernel();
    await expectApiError(k.seal.initialize({ secretShares: 5, secretThreshold: 1 }), 400, 'threshold must be greater than one');
    await expectApiError(k.seal.initialize({ secretShares: 3, secretThreshold: 4 }), 400, 'threshold cannot be larger than shares');
    await expectApiError(k.seal.initialize({ secretShares: 256, secretThreshold: 3 }), 400, 'shares must be less than 256');
    expect(await k.seal.isInitialized()).toBe(false);
    await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await expectApiError(k.seal.initialize({ secretShares: 1, secretThreshold: 1 }), 400, 'Vault is already initialized');
  });

  it('two nodes initialising at once: exactly one wins', async () => {
    k = await openTestKernel();
    // A second kernel on the SAME database, as a second server node would be:
    const same = await openTestKernel({ dataSource: k.dataSource, url: k.url });
    try {
      const results = await Promise.allSettled([
        k.seal.initialize({ secretShares: 1, secretThreshold: 1 }),
        same.seal.initialize({ secretShares: 1, secretThreshold: 1 }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((failed.reason as ApiError).errors).toEqual(['Vault is already initialized']);
    } finally {
      // Its invalidation listener is a connection of its own (the data source is k's, closed with k).
      await same.bus.stop();
    }
  });

  it('a repeated share does not advance progress; malformed shares are 400 and do not count', async () => {
    k = await openTestKernel();
    const { keys } = await k.seal.initialize({ secretShares: 5, secretThreshold: 3 });
    let s = await k.seal.submitUnsealKey(keys[0].toString('hex'), false);
    expect(s.progress).toBe(1);
    s = await k.seal.submitUnsealKey(keys[0].toString('base64'), false);
    expect(s.progress).toBe(1);
    const zeroX = Buffer.from(keys[1]);
    zeroX[32] = 0;
    await expectApiError(k.seal.submitUnsealKey(zeroX.toString('hex'), false), 400, /x coordinate 0/);
    await expectApiError(k.seal.submitUnsealKey(keys[1].subarray(0, 20).toString('hex'), false), 400, /length/);
    await expectApiError(k.seal.submitUnsealKey('', false), 400, /'key' must be specified/);
    await expectApiError(k.seal.submitUnsealKey('***', false), 400, /valid hex or base64/);
    expect((await k.seal.status()).progress).toBe(1);
    await k.seal.submitUnsealKey(keys[3].toString('hex'), false);
    s = await k.seal.submitUnsealKey(keys[4].toString('hex'), false);
    expect(s.sealed).toBe(false);
    expect(s.progress).toBe(0);
  });

  it('threshold-1 good shares plus one garbage share: "unseal failed, invalid key" and progress reset', async () => {
    k = await openTestKernel();
    const { keys } = await k.seal.initialize({ secretShares: 5, secretThreshold: 3 });
    await k.seal.submitUnsealKey(keys[0].toString('hex'), false);
    await k.seal.submitUnsealKey(keys[1].toString('hex'), false);
    const garbage = randomBytes(33);
    garbage[32] = keys[2][32];
    await expectApiError(k.seal.submitUnsealKey(garbage.toString('hex'), false), 400, 'unseal failed, invalid key');
    const s = await k.seal.status();
    expect(s.sealed).toBe(true);
    expect(s.progress).toBe(0);
    expect(s.nonce).toBe('');
    // The good shares still work afterwards.
    for (const key of keys.slice(2)) await k.seal.submitUnsealKey(key.toString('hex'), false);
    expect(k.seal.isSealed).toBe(false);
  });

  it('reset discards progress; seal zeroes and requires the shares again', async () => {
    k = await openTestKernel();
    const { keys, rootToken } = await k.seal.initialize({ secretShares: 3, secretThreshold: 2 });
    await k.seal.submitUnsealKey(keys[0].toString('hex'), false);
    expect((await k.seal.submitUnsealKey(undefined, true)).progress).toBe(0);
    await k.seal.submitUnsealKey(keys[0].toString('hex'), false);
    await k.seal.submitUnsealKey(keys[1].toString('hex'), false);
    expect(await k.tokenStore.lookup(rootToken)).toBeDefined();
    await k.seal.seal();
    expect(k.seal.isSealed).toBe(true);
    expect(await k.tokenStore.lookup(rootToken)).toBeUndefined();
    expect(() => k.barrier.keyStatus()).toThrow('Vault is sealed');
  });

  it('rekey without verification: new shares work at once, old ones do not', async () => {
    k = await openTestKernel();
    const { keys } = await k.seal.initialize({ secretShares: 3, secretThreshold: 2 });
    for (const key of keys.slice(0, 2)) await k.seal.submitUnsealKey(key.toString('hex'), false);
    const started = await k.rekey.start({ secretShares: 4, secretThreshold: 3, requireVerification: false });
    await expectApiError(k.rekey.update(keys[0].toString('hex'), 'wrong-nonce'), 400, /incorrect nonce/);
    await k.rekey.update(keys[0].toString('hex'), started.nonce);
    await expectApiError(k.rekey.update(keys[0].toString('hex'), started.nonce), 400, /already been provided/);
    const done = await k.rekey.update(keys[2].toString('hex'), started.nonce);
    expect(done).toMatchObject({ complete: true, verification_required: false });
    const newKeys = (done as { keys: string[] }).keys;
    expect(newKeys).toHaveLength(4);
    expect((await k.seal.status()).n).toBe(4);

    await k.seal.seal();
    await k.seal.submitUnsealKey(keys[0].toString('hex'), false);
    await k.seal.submitUnsealKey(keys[1].toString('hex'), false);
    await expectApiError(k.seal.submitUnsealKey(keys[2].toString('hex'), false), 400, 'unseal failed, invalid key');
    for (const key of newKeys.slice(1)) await k.seal.submitUnsealKey(key, false);
    expect(k.seal.isSealed).toBe(false);
  });

  it('rekey with verification: old shares stay valid until the new ones are verified', async () => {
    k = await openTestKernel();
    const { keys } = await k.seal.initialize({ secretShares: 3, secretThreshold: 2 });
    const unseal = async (ks: string[]) => {
      for (const key of ks) await k.seal.submitUnsealKey(key, false);
    };
    await unseal(keys.slice(0, 2).map((x) => x.toString('hex')));
    const started = await k.rekey.start({ secretShares: 3, secretThreshold: 2, requireVerification: true });
    await k.rekey.update(keys[1].toString('hex'), started.nonce);
    const result = (await k.rekey.update(keys[2].toString('hex'), started.nonce)) as {
      keys: string[];
      verification_nonce: string;
      verification_required: boolean;
    };
    expect(result.verification_required).toBe(true);
    // Not verified yet: the old shares still unseal.
    await k.seal.seal();
    await unseal(keys.slice(1, 3).map((x) => x.toString('hex')));
    expect(k.seal.isSealed).toBe(false);
    // The rekey is in the database: sealing (or restarting) a process keeps it for the others; cancelled here.
    expect((await k.rekey.verifyStatus()).nonce).toBe(result.verification_nonce);
    await k.rekey.cancel();
    await expectApiError(k.rekey.verify(result.keys[0], result.verification_nonce), 400, /no rekey verification/);

    const again = await k.rekey.start({ secretShares: 3, secretThreshold: 2, requireVerification: true });
    await k.rekey.update(keys[0].toString('hex'), again.nonce);
    const second = (await k.rekey.update(keys[1].toString('hex'), again.nonce)) as { keys: string[]; verification_nonce: string };
    // Wrong new shares: verification fails and progress resets.
    await k.rekey.verify(second.keys[0], second.verification_nonce);
    await expectApiError(k.rekey.verify(keys[0].toString('hex'), second.verification_nonce), 400, /verification failed/);
    expect((await k.rekey.verifyStatus()).progress).toBe(0);
    await k.rekey.verify(second.keys[2], second.verification_nonce);
    expect(await k.rekey.verify(second.keys[1], second.verification_nonce)).toMatchObject({ complete: true });

    await k.seal.seal();
    await k.seal.submitUnsealKey(keys[0].toString('hex'), false);
    await expectApiError(k.seal.submitUnsealKey(keys[1].toString('hex'), false), 400, 'unseal failed, invalid key');
    await unseal([second.keys[0], second.keys[1]]);
    expect(k.seal.isSealed).toBe(false);
  });
});
