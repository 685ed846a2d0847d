/** The request pipeline on a real kernel: an oversized token is refused before any storage lookup. */
import { buildConfig } from '../../src/config/config';
import { RequestPipeline } from '../../src/application/request-pipeline';
import { createLogger } from '../../src/logger';
import { openTestKernel, type TestKernel } from '../support/kernel';

describe('request pipeline (medium)', () => {
  let k: TestKernel;
  afterEach(async () => k?.close());

  it('a 9 KB token header gets 403 without a storage lookup; a real token is looked up', async () => {
    k = await openTestKernel();
    const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await k.seal.submitUnsealKey(init.keys[0].toString('hex'), false);
    const pipeline = new RequestPipeline({
      mounts: k.mounts,
      seal: k.seal,
      tokens: k.tokenStore,
      policies: k.policies,
      listener: buildConfig({}, {}, {}).listener,
      log: createLogger('error'),
    });
    const repository = (k.tokenStore as unknown as { tokens: { findByHmac: (h: Buffer) => Promise<unknown> } }).tokens;
    const lookups = jest.spyOn(repository, 'findByHmac');
    const request = (token: string) =>
      pipeline.handle({ method: 'GET', url: 'auth/token/lookup-self', headers: { 'x-vault-token': token }, body: undefined, remoteAddress: '127.0.0.1' });

    const big = await request('hvs.' + 'a'.repeat(9 * 1024));
    expect(big.status).toBe(403);
    expect(lookups).not.toHaveBeenCalled();

    const ok = await request(init.rootToken);
    expect(ok.status).toBe(200);
    expect(lookups).toHaveBeenCalledTimes(1);
  });
});
