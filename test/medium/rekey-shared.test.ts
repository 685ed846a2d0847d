/**
 * Rekey progress shared through the database by two kernels (two nodes) on one database: shares
 * sent to either count toward one operation; concurrent submissions count once each and exactly
 * one completes the rekey; nothing secret is stored in clear; cancel on one ends it for both.
 */
import { openDatabase } from '../../src/database/data-source';
import { ALL_ENTITIES } from '../../src/entities';
import { openTestKernel, type TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

describe('rekey shared by two nodes (medium)', () => {
  const opened: TestKernel[] = [];
  afterAll(async () => {
    for (const k of opened.reverse()) await k.close();
  });

  async function twoNodes(): Promise<{ a: TestKernel; b: TestKernel; keys: string[] }> {
    const a = await openTestKernel();
    opened.push(a);
    const init = await a.seal.initialize({ secretShares: 3, secretThreshold: 2 });
    const keys = init.keys.map((k) => k.toString('hex'));
    const { dataSource } = await openDatabase(a.url, { poolSize: 4, entities: ALL_ENTITIES });
    const b = await openTestKernel({ dataSource, url: a.url });
    opened.push(b);
    for (const k of [a, b]) for (const key of keys.slice(0, 2)) await k.seal.submitUnsealKey(key, false);
    expect(a.seal.isSealed || b.seal.isSealed).toBe(false);
    return { a, b, keys };
  }

  it('two shares submitted at once to two nodes count once each; exactly one answer completes the rekey', async () => {
    const { a, b, keys } = await twoNodes();
    const started = await a.rekey.start({ secretShares: 2, secretThreshold: 2, requireVerification: false });
    expect(await b.rekey.status()).toMatchObject({ nonce: started.nonce, started: true, progress: 0, required: 2 });

    const answers = await Promise.all([a.rekey.update(keys[0], started.nonce), b.rekey.update(keys[1], started.nonce)]);
    const complete = answers.filter((r) => 'complete' in r);
    expect(complete).toHaveLength(1);
    expect(answers.filter((r) => !('complete' in r))).toEqual([expect.objectContaining({ progress: 1 })]);
    expect((await a.rekey.status()).started).toBe(false);
    const newKeys = (complete[0] as { keys: string[] }).keys;

    // The new shares unseal; the old ones no longer do.
    await b.seal.seal();
    await expect(b.seal.submitUnsealKey(keys[0], false).then(() => b.seal.submitUnsealKey(keys[1], false))).rejects.toMatchObject({ status: 400 });
    for (const key of newKeys) await b.seal.submitUnsealKey(key, false);
    expect(b.seal.isSealed).toBe(false);
  });

  it('the same share sent to both nodes at once counts once; progress and the new key are sealed at rest; cancel on one ends it for both', async () => {
    const { a, b, keys } = await twoNodes();
    const started = await b.rekey.start({ secretShares: 3, secretThreshold: 2, requireVerification: true });
    const same = await Promise.allSettled([a.rekey.update(keys[2], started.nonce), b.rekey.update(keys[2], started.nonce)]);
    expect(same.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(same.find((o) => o.status === 'rejected')).toMatchObject({ reason: { status: 400 } });
    expect(await a.rekey.status()).toMatchObject({ progress: 1 });

    const [row] = await a.dataSource.query('SELECT progress, progress_ciphertext FROM rekey_operations');
    expect(row.progress).toBe(1);
    expect(row.progress_ciphertext[0]).toBe(1);
    expect(row.progress_ciphertext.includes(Buffer.from(keys[2], 'hex').subarray(0, 16))).toBe(false);

    const done = await a.rekey.update(keys[0], started.nonce);
    if (!('verification_nonce' in done) || !done.verification_nonce) throw new Error('expected a verification nonce');
    expect(await b.rekey.verifyStatus()).toEqual({ nonce: done.verification_nonce, started: true, t: 2, n: 3, progress: 0 });
    await b.rekey.verify((done as { keys: string[] }).keys[0], done.verification_nonce);
    expect(await a.rekey.verifyStatus()).toMatchObject({ progress: 1 });

    await expect(b.rekey.cancel('not-the-nonce')).rejects.toMatchObject({ status: 400 });
    await b.rekey.cancel(started.nonce);
    expect((await a.rekey.status()).started).toBe(false);
    expect(await a.dataSource.query('SELECT * FROM rekey_operations')).toEqual([]);
  });
});
