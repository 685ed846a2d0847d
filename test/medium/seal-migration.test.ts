/**
 * Seal migration on SoftHSM2 with the real kernel and database: Shamir → pkcs11 → Shamir, Vault's
 * procedure (`migrate: true` with the old seal's keys), data readable at each step, the old unseal
 * shares becoming recovery shares and back, and the refusals Vault gives.
 */
import { SHAMIR_ONLY, type Pkcs11SealSettings, type SealConfiguration } from '../../src/kernel/seal/seal-settings';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, useSoftHsmConf, type SoftHsmToken } from '../support/softhsm';

const PIN = 'migrate-pin-6604';
const TOKEN = 'seal-migration';
const HSM: Pkcs11SealSettings = {
  type: 'pkcs11',
  lib: SOFTHSM_LIB,
  tokenLabel: TOKEN,
  pin: PIN,
  keyLabel: 'migrated',
  rsaOaepHash: 'sha256',
  generateKey: true,
};

describeWithSoftHsm('seal migration (medium)', () => {
  let token: SoftHsmToken;
  const kernels: TestKernel[] = [];

  beforeAll(() => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-6604' });
    useSoftHsmConf(token.conf);
  });

  afterAll(async () => {
    for (const k of kernels.reverse()) await k.close().catch(() => undefined);
    token.cleanup();
  });

  it('Shamir → pkcs11 → Shamir with the same shares, data readable at each step', async () => {
    const first = await openTestKernel({ seal: SHAMIR_ONLY });
    kernels.push(first);
    const node = async (seal: SealConfiguration) => {
      const k = await openTestKernel({ seal, dataSource: first.dataSource, url: first.url });
      kernels.push(k);
      return k;
    };
    const init = await first.seal.initialize({ secretShares: 3, secretThreshold: 2 });
    const shares = init.keys.map((k) => k.toString('hex'));
    await first.seal.submitUnsealKey(shares[0], false);
    await first.seal.submitUnsealKey(shares[1], false);
    const sealedData = await first.barrier.encrypt('test/migration/1', Buffer.from('written under Shamir'));
    await first.seal.seal();

    // Shamir → pkcs11: the new seal configured, the old shares with migrate: true.
    const toHsm = await node({ active: HSM });
    expect(await toHsm.seal.status()).toMatchObject({ type: 'pkcs11', sealed: true, migration: true, t: 2, n: 3, recovery_seal: true });
    await expect(toHsm.seal.submitUnsealKey(shares[0], false)).rejects.toMatchObject({
      status: 400,
      errors: ['migrate option not provided and seal migration is pending'],
    });
    expect((await toHsm.seal.submitUnsealKey(shares[0], false, true)).progress).toBe(1);
    expect((await toHsm.seal.submitUnsealKey(shares[2], false, true)).sealed).toBe(false);
    expect(await toHsm.seal.status()).toMatchObject({ type: 'pkcs11', migration: false, t: 2, n: 3 });
    expect(toHsm.barrier.decrypt('test/migration/1', sealedData).toString()).toBe('written under Shamir');
    const [row] = await first.dataSource.query('SELECT seal_type, secret_shares, recovery_shares, recovery_threshold, hsm_key_label FROM seal_config');
    expect(row).toEqual({ seal_type: 'pkcs11', secret_shares: 1, recovery_shares: 3, recovery_threshold: 2, hsm_key_label: 'migrated' });
    // The old unseal shares are now recovery shares (after sys/seal they unseal, the HSM unwrapping).
    await toHsm.seal.seal();
    await expect(toHsm.seal.submitUnsealKey(shares[1], false, true)).rejects.toMatchObject({
      errors: ["can't perform a seal migration, no migration seal found"],
    });
    await toHsm.seal.submitUnsealKey(shares[1], false);
    expect((await toHsm.seal.submitUnsealKey(shares[2], false)).sealed).toBe(false);
    const hsmData = await toHsm.barrier.encrypt('test/migration/2', Buffer.from('written under pkcs11'));
    await toHsm.seal.seal();

    // Shamir configured without the disabled stanza: Vault's refusal (logged at start, and by the unseal that completes the threshold).
    const unconfigured = await node(SHAMIR_ONLY);
    expect(await unconfigured.seal.pendingMigration()).toBe('cannot seal migrate from "pkcs11" to Shamir, no disabled seal in configuration');
    await expect(unconfigured.seal.submitUnsealKey(shares[0], false, true)).resolves.toMatchObject({ progress: 1 });
    await expect(unconfigured.seal.submitUnsealKey(shares[1], false, true)).rejects.toMatchObject({
      errors: ['cannot seal migrate from "pkcs11" to Shamir, no disabled seal in configuration'],
    });

    // pkcs11 → Shamir: the HSM stanza disabled, the recovery shares with migrate: true.
    const toShamir = await node({ active: { type: 'shamir' }, disabled: { ...HSM, generateKey: false } });
    expect(await toShamir.seal.status()).toMatchObject({ type: 'shamir', migration: true, t: 2, n: 3, recovery_seal: false });
    await toShamir.seal.submitUnsealKey(shares[2], false, true);
    expect((await toShamir.seal.submitUnsealKey(shares[0], false, true)).sealed).toBe(false);
    expect(toShamir.barrier.decrypt('test/migration/1', sealedData).toString()).toBe('written under Shamir');
    expect(toShamir.barrier.decrypt('test/migration/2', hsmData).toString()).toBe('written under pkcs11');
    const [back] = await first.dataSource.query('SELECT seal_type, secret_shares, secret_threshold, recovery_shares, hsm_key_label FROM seal_config');
    expect(back).toEqual({ seal_type: 'shamir', secret_shares: 3, secret_threshold: 2, recovery_shares: null, hsm_key_label: null });
    await toShamir.seal.seal();
    await toShamir.seal.submitUnsealKey(shares[1], false);
    expect((await toShamir.seal.submitUnsealKey(shares[0], false)).sealed).toBe(false);
  }, 90_000);
});
