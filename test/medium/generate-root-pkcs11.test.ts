/**
 * Generate root under the PKCS#11 auto seal (SoftHSM2): the recovery key shares authorise it,
 * `required` is the recovery threshold, a wrong share aborts with Vault's recovery-key text and
 * resets progress, and the OTP-decoded token is a root token. Its own SoftHSM token directory
 * (SoftHSM reads its conf once per process).
 */
import { decodeRootToken } from '../../src/crypto/root-token-otp';
import type { SealConfiguration } from '../../src/kernel/seal/seal-settings';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, useSoftHsmConf, type SoftHsmToken } from '../support/softhsm';

const PIN = 'genroot-pin-7730';
const TOKEN = 'genroot-medium';

const seal: SealConfiguration = {
  active: { type: 'pkcs11', lib: SOFTHSM_LIB, tokenLabel: TOKEN, pin: PIN, keyLabel: 'root', rsaOaepHash: 'sha256', generateKey: true },
};

async function expectBadRequest(run: () => Promise<unknown>, message: string): Promise<void> {
  await expect(run()).rejects.toMatchObject({ status: 400, errors: [message] });
}

describeWithSoftHsm('generate-root under the pkcs11 seal (medium)', () => {
  let token: SoftHsmToken;
  const kernels: TestKernel[] = [];

  beforeAll(() => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-7730' });
    useSoftHsmConf(token.conf);
  });

  afterAll(async () => {
    for (const k of kernels.reverse()) await k.close().catch(() => undefined);
    token.cleanup();
  });

  it('recovery key shares authorise a new root token; a wrong share resets progress; sealing one process leaves the attempt (shared) in place', async () => {
    const k = await openTestKernel({ seal });
    kernels.push(k);
    const init = await k.seal.initialize({ secretShares: 0, secretThreshold: 0, recoveryShares: 3, recoveryThreshold: 2 });
    expect(k.seal.isSealed).toBe(false);
    const [r0, r1, r2] = init.recoveryKeys;

    expect(await k.generateRoot.status()).toMatchObject({ started: false, progress: 0, required: 2, otp_length: 28 });
    const started = await k.generateRoot.start(undefined);
    const { nonce, otp } = started;
    expect(otp).toMatch(/^[0-9A-Za-z]{28}$/);

    expect(await k.generateRoot.update(r0.toString('hex'), nonce)).toMatchObject({ progress: 1, required: 2, complete: false });
    await expectBadRequest(() => k.generateRoot.update(r0.toString('base64'), nonce), 'given key has already been provided during this generation operation');
    const wrong = Buffer.from(r1);
    wrong[0] ^= 0x01;
    await expectBadRequest(
      () => k.generateRoot.update(wrong.toString('hex'), nonce),
      'root generation aborted: unable to authenticate: recovery key verification failed: recovery key does not match submitted values',
    );
    expect(await k.generateRoot.status()).toMatchObject({ started: true, nonce, progress: 0 });

    await k.generateRoot.update(r2.toString('base64'), nonce);
    const done = await k.generateRoot.update(r1.toString('hex'), nonce);
    expect(done).toMatchObject({ nonce, complete: true, progress: 2, required: 2, otp: '', otp_length: 0 });
    expect(done.encoded_root_token).toBe(done.encoded_token);
    const root = decodeRootToken(done.encoded_token, otp, 28);
    expect(root).not.toBe(init.rootToken);
    const info = await k.tokenStore.lookup(root);
    expect(info).toMatchObject({ policies: ['root'], expiresAt: null, orphan: true });
    expect((await k.generateRoot.status()).started).toBe(false);

    // An unseal-key-sized submission (32 bytes, the 1-of-1 form) is not a recovery share.
    const again = await k.generateRoot.start(undefined);
    await expectBadRequest(() => k.generateRoot.update(Buffer.alloc(32, 7).toString('hex'), again.nonce), 'invalid key length');
    await k.generateRoot.update(r0.toString('hex'), again.nonce);
    await k.seal.seal();
    expect(await k.generateRoot.status()).toMatchObject({ started: true, progress: 1, nonce: again.nonce });
  }, 60_000);
});
