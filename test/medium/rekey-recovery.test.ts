/**
 * Rekey under the PKCS#11 seal (SoftHSM2): sys/rekey-recovery-key replaces the recovery key (new
 * layout, old shares stop working), with and without verification, guarded against a concurrent
 * commit; sys/rekey replaces the root key (keyring re-encrypted, data still readable, the old
 * wrapped root key no longer opens the keyring, a node still holding the old root key cannot
 * rotate the keyring). Its own SoftHSM token directory (SoftHSM reads its conf once per process).
 */
import { randomKey } from '../../src/crypto/random';
import { Barrier } from '../../src/kernel/barrier/barrier';
import type { SealConfiguration } from '../../src/kernel/seal/seal-settings';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, useSoftHsmConf, type SoftHsmToken } from '../support/softhsm';
import { until } from '../support/wait';

const PIN = 'rekeyrec-pin-4417';
const TOKEN = 'rekeyrec-medium';

const seal: SealConfiguration = {
  active: { type: 'pkcs11', lib: SOFTHSM_LIB, tokenLabel: TOKEN, pin: PIN, keyLabel: 'root', rsaOaepHash: 'sha256', generateKey: true },
};

async function expectBadRequest(run: () => Promise<unknown>, message: string): Promise<void> {
  await expect(run()).rejects.toMatchObject({ status: 400, errors: [message] });
}

const hex = (k: Buffer | string) => (typeof k === 'string' ? k : k.toString('hex'));

describeWithSoftHsm('rekey under the pkcs11 seal (medium)', () => {
  let token: SoftHsmToken;
  const kernels: TestKernel[] = [];
  const open = async (options: Parameters<typeof openTestKernel>[0]) => {
    const k = await openTestKernel(options);
    kernels.push(k);
    return k;
  };
  const nodeOf = async (first: TestKernel) => {
    const k = await open({ seal, dataSource: first.dataSource, url: first.url });
    await until(async () => !k.seal.isSealed);
    return k;
  };
  /** Unseals a sealed node with shares; returns the last status. */
  const unsealWith = async (k: TestKernel, shares: (Buffer | string)[]) => {
    let status = await k.seal.status();
    for (const s of shares) status = await k.seal.submitUnsealKey(hex(s), false);
    return status;
  };

  beforeAll(() => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-4417' });
    useSoftHsmConf(token.conf);
  });

  afterAll(async () => {
    for (const k of kernels.reverse()) await k.close().catch(() => undefined);
    token.cleanup();
  });

  it('recovery rekey 3/2 → 5/3: recovery shares authorise, a wrong one resets progress, old shares stop unsealing', async () => {
    const k = await open({ seal });
    const init = await k.seal.initialize({ secretShares: 0, secretThreshold: 0, recoveryShares: 3, recoveryThreshold: 2 });
    const [r0, r1, r2] = init.recoveryKeys;

    expect(await k.recoveryRekey.status()).toEqual({
      nonce: '',
      started: false,
      t: 0,
      n: 0,
      progress: 0,
      required: 2,
      pgp_fingerprints: null,
      backup: false,
      verification_required: false,
    });
    await expect(k.recoveryRekey.start({ secretShares: 2, secretThreshold: 3, requireVerification: false })).rejects.toMatchObject({
      status: 500,
      errors: ['invalid recovery configuration: threshold cannot be larger than shares'],
    });
    const { nonce } = await k.recoveryRekey.start({ secretShares: 5, secretThreshold: 3, requireVerification: false });
    expect(await k.recoveryRekey.status()).toMatchObject({ nonce, started: true, t: 3, n: 5, progress: 0, required: 2 });
    await expectBadRequest(() => k.recoveryRekey.start({ secretShares: 5, secretThreshold: 3, requireVerification: false }), 'rekey already in progress');
    await expectBadRequest(() => k.recoveryRekey.update(hex(r0), 'other'), `incorrect nonce supplied; nonce for this rekey operation is ${nonce}`);

    expect(await k.recoveryRekey.update(hex(r0), nonce)).toMatchObject({ progress: 1 });
    await expectBadRequest(() => k.recoveryRekey.update(r0.toString('base64'), nonce), 'given key has already been provided during this rekey operation');
    const wrong = Buffer.from(r1);
    wrong[0] ^= 0x01;
    await expectBadRequest(() => k.recoveryRekey.update(hex(wrong), nonce), 'recovery key verification failed: recovery key does not match submitted values');
    expect(await k.recoveryRekey.status()).toMatchObject({ nonce, started: true, progress: 0 });

    await k.recoveryRekey.update(hex(r2), nonce);
    const done = await k.recoveryRekey.update(hex(r1), nonce);
    expect(done).toMatchObject({ nonce, complete: true, pgp_fingerprints: null, backup: false, verification_required: false });
    if (!('keys' in done)) throw new Error('expected keys');
    expect(done.keys).toHaveLength(5);
    expect(done.keys_base64.map((k64) => Buffer.from(k64, 'base64').toString('hex'))).toEqual(done.keys);
    expect(await k.recoveryRekey.status()).toMatchObject({ started: false, required: 3 });
    const [row] = await k.dataSource.query('SELECT recovery_shares, recovery_threshold, secret_shares FROM seal_config');
    expect(row).toEqual({ recovery_shares: 5, recovery_threshold: 3, secret_shares: 1 });
    expect(await k.seal.status()).toMatchObject({ t: 3, n: 5 });

    // The barrier rekey (sys/rekey) is also authorised by recovery shares: the old ones no longer are.
    expect(await k.rekey.status()).toMatchObject({ required: 3 });

    // Old recovery shares no longer unseal; the new ones do.
    await k.seal.seal();
    await expectBadRequest(() => unsealWith(k, [r0, r1, r2]), 'unseal failed, invalid key');
    expect((await unsealWith(k, [done.keys[4], done.keys[0], done.keys[2]])).sealed).toBe(false);

    // Generate root takes the new shares too (another node's cache is not trusted: the row is read).
    const gen = await k.generateRoot.start(undefined);
    await k.generateRoot.update(done.keys[1], gen.nonce);
    await k.generateRoot.update(done.keys[3], gen.nonce);
    expect((await k.generateRoot.update(done.keys[0], gen.nonce)).complete).toBe(true);
  }, 60_000);

  it('with require_verification the old shares stay valid until the new ones are verified; one operation shared by both nodes', async () => {
    const k = await open({ seal });
    const init = await k.seal.initialize({ secretShares: 0, secretThreshold: 0, recoveryShares: 1, recoveryThreshold: 1 });
    const [r0] = init.recoveryKeys;
    const other = await nodeOf(k);

    const a = await k.recoveryRekey.start({ secretShares: 3, secretThreshold: 2, requireVerification: true });
    // The operation is in the database: the other node sees it and cannot start a second one.
    await expectBadRequest(() => other.recoveryRekey.start({ secretShares: 2, secretThreshold: 2, requireVerification: true }), 'rekey already in progress');
    expect(await other.recoveryRekey.status()).toMatchObject({ nonce: a.nonce, started: true, t: 2, n: 3, progress: 0 });
    const pendingA = await other.recoveryRekey.update(hex(r0), a.nonce);
    if (!('keys' in pendingA)) throw new Error('expected keys');
    expect(pendingA).toMatchObject({ complete: true, verification_required: true, verification_nonce: expect.any(String) });
    expect(await k.recoveryRekey.verifyStatus()).toEqual({ nonce: pendingA.verification_nonce, started: true, t: 2, n: 3, progress: 0 });
    await expectBadRequest(
      () => k.recoveryRekey.update(hex(r0), a.nonce),
      `rekey operation already finished; verification must be performed; nonce for the verification operation is ${pendingA.verification_nonce}`,
    );
    const [before] = await k.dataSource.query('SELECT recovery_shares, recovery_threshold FROM seal_config');
    expect(before).toEqual({ recovery_shares: 1, recovery_threshold: 1 });
    // Nothing secret in clear at rest: the new key and shares are sealed by the barrier.
    const [row] = await k.dataSource.query('SELECT verification_key_ciphertext FROM rekey_operations');
    expect(row.verification_key_ciphertext[0]).toBe(1);

    // A restart of the verification gives a new nonce; new shares sent to either node count once each.
    const restarted = await k.recoveryRekey.resetVerification();
    expect(restarted.nonce).not.toBe(pendingA.verification_nonce);
    await k.recoveryRekey.verify(pendingA.keys[0], restarted.nonce);
    await expectBadRequest(
      () => other.recoveryRekey.verify(pendingA.keys[0], restarted.nonce),
      'given key has already been provided during this verify operation',
    );
    expect(await other.recoveryRekey.verify(pendingA.keys[2], restarted.nonce)).toEqual({ nonce: restarted.nonce, complete: true });
    const [after] = await k.dataSource.query('SELECT recovery_shares, recovery_threshold FROM seal_config');
    expect(after).toEqual({ recovery_shares: 3, recovery_threshold: 2 });
    expect((await k.recoveryRekey.status()).started).toBe(false);

    // The old single share no longer authorises anything on either node.
    const c = await other.recoveryRekey.start({ secretShares: 1, secretThreshold: 1, requireVerification: false });
    await expect(other.recoveryRekey.update(hex(r0), c.nonce)).rejects.toMatchObject({ status: 400 });
    await k.recoveryRekey.cancel();
    expect((await other.recoveryRekey.status()).started).toBe(false);
  }, 60_000);

  it('sys/rekey under the pkcs11 seal replaces the root key; data stays readable; the old wrapped root key no longer opens the keyring', async () => {
    const k = await open({ seal });
    const init = await k.seal.initialize({ secretShares: 0, secretThreshold: 0, recoveryShares: 3, recoveryThreshold: 2 });
    const [r0, r1] = init.recoveryKeys;
    await k.mounts.enable({ class: 'secret', path: 'kv', type: 'kv', options: { version: '1' }, description: '' });
    const data = await k.barrier.encrypt('test/rekey/1', Buffer.from('written before the rekey'));
    const stale = await nodeOf(k);
    const [old] = await k.dataSource.query('SELECT root_key_wrapped, hsm_key_label, hsm_key_id, hsm_mechanism FROM seal_config');
    const oldRootKey = Buffer.from(k.barrier.currentRootKey());

    await expectBadRequest(
      () => k.rekey.start({ secretShares: 5, secretThreshold: 3, requireVerification: true }),
      'requiring verification not supported when rekeying the barrier key with recovery keys',
    );
    const { nonce } = await k.rekey.start({ secretShares: 5, secretThreshold: 3, requireVerification: false });
    expect(await k.rekey.status()).toMatchObject({ nonce, started: true, t: 1, n: 1, required: 2, progress: 0 });
    const wrong = Buffer.from(r1);
    wrong[3] ^= 0x10;
    await k.rekey.update(hex(r0), nonce);
    await expectBadRequest(() => k.rekey.update(hex(wrong), nonce), 'recovery key verification failed: recovery key does not match submitted values');
    expect(await k.rekey.status()).toMatchObject({ progress: 0 });
    await k.rekey.update(hex(r0), nonce);
    expect(await k.rekey.update(r1.toString('base64'), nonce)).toEqual({
      nonce,
      complete: true,
      keys: [],
      keys_base64: [],
      pgp_fingerprints: null,
      backup: false,
      verification_required: false,
    });

    const [row] = await k.dataSource.query('SELECT root_key_wrapped, secret_shares, secret_threshold, recovery_shares, recovery_threshold FROM seal_config');
    expect(row.root_key_wrapped.equals(old.root_key_wrapped)).toBe(false);
    expect(row).toMatchObject({ secret_shares: 1, secret_threshold: 1, recovery_shares: 3, recovery_threshold: 2 });
    expect(k.barrier.currentRootKey().equals(oldRootKey)).toBe(false);
    expect(k.barrier.decrypt('test/rekey/1', data).toString()).toBe('written before the rekey');

    // The old wrapped root key (a backup of the row) still unwraps in the HSM, but opens nothing.
    const [keyring] = await k.dataSource.query('SELECT keyring_ciphertext FROM barrier_keyring');
    const unwrapped = await k.seal.provider.unwrapRootKey({
      ciphertext: old.root_key_wrapped,
      hsmKey: { label: old.hsm_key_label ?? undefined, id: old.hsm_key_id ?? undefined, mechanism: old.hsm_mechanism },
    });
    expect(unwrapped.equals(oldRootKey)).toBe(true);
    expect(() => Barrier.reencryptKeyring(unwrapped, randomKey(), keyring.keyring_ciphertext)).toThrow();
    expect(() => Barrier.reencryptKeyring(k.barrier.currentRootKey(), randomKey(), keyring.keyring_ciphertext)).not.toThrow();

    // A node that held the old root key reads the new one through the seal (on the bus, or when its
    // rotation finds the keyring changed) and rotates on top of the stored keyring, under the new key.
    const staleTerm = await stale.barrier.rotate();
    expect(stale.barrier.currentRootKey().equals(k.barrier.currentRootKey())).toBe(true);
    // This node rotates on top of that; a new node auto-unseals and reads everything.
    expect(await k.barrier.rotate()).toBe(staleTerm + 1);
    const later = await k.barrier.encrypt('test/rekey/2', Buffer.from('written after'));
    const second = await nodeOf(k);
    expect(second.barrier.decrypt('test/rekey/1', data).toString()).toBe('written before the rekey');
    expect(second.barrier.decrypt('test/rekey/2', later).toString()).toBe('written after');
    expect(second.mounts.list('secret').some((m) => m.path === 'kv/')).toBe(true);

    // After sys/seal the recovery shares still unseal (the HSM unwraps the new root key).
    await k.seal.seal();
    expect((await unsealWith(k, [r1, r0])).sealed).toBe(false);
    expect(k.barrier.decrypt('test/rekey/1', data).toString()).toBe('written before the rekey');
  }, 60_000);
});
