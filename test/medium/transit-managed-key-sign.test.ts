/**
 * The transit hook for managed_key keys (src/engines/transit/transit-managed-keys.ts) signing, on
 * SoftHSM2 with the real kernel and database: a managed_key transit key made over the API on a
 * managed EC key gives a Signer whose signatures node verifies with the token's public key; a key
 * without the "sign" usage and a mount no longer allowed the key are refused with the registry's
 * 400s.
 */
import { randomBytes, verify } from 'node:crypto';
import { signatureSchemeFor } from '../../src/crypto/x509/signing';
import { TransitKeyStore } from '../../src/engines/transit/transit-key-store';
import type { TransitManagedKeys } from '../../src/engines/transit/transit-common';
import { TransitManagedKeyAccess } from '../../src/engines/transit/transit-managed-keys';
import { TransitRepository, type TransitKeyPolicy } from '../../src/engines/transit/transit.repository';
import { auditedPipeline, type Call } from '../support/audit';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, useSoftHsmConf, type SoftHsmToken } from '../support/softhsm';

const PIN = 'transit-mk-sign-5520';
const TOKEN = 'transit-mk-sign';

describeWithSoftHsm('transit managed_key keys sign through the hook (medium)', () => {
  let token: SoftHsmToken;
  let k: TestKernel;
  let call: Call;
  let store: TransitKeyStore;
  let hook: TransitManagedKeys;

  const mount = () => k.mounts.get('secret', 'transit/')!;
  const policy = async (name: string) => (await store.policy(mount().uuid, name)) as TransitKeyPolicy;
  const rejection = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: { status?: number; errors?: string[] }) => ({ status: e.status, errors: e.errors }),
    );

  beforeAll(async () => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-5520' });
    useSoftHsmConf(token.conf);
    k = await openTestKernel({ kmsLibraries: [{ type: 'pkcs11', name: 'softhsm', library: SOFTHSM_LIB }] });
    const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await k.seal.submitUnsealKey(init.keys[0].toString('hex'), false);
    call = auditedPipeline(k, init.rootToken);
    store = new TransitKeyStore(new TransitRepository(k.dataSource, k.barrier));
    hook = new TransitManagedKeyAccess(k.managedKeys);
    const managed = { library: 'softhsm', token_label: TOKEN, pin: PIN, allow_generate_key: true };
    expect((await call('PUT', 'sys/managed-keys/pkcs11/sign-ec', { ...managed, key_label: 'sign-ec', mechanism: '0x1041', curve: 'P256' })).status).toBe(204);
    expect(
      (await call('PUT', 'sys/managed-keys/pkcs11/enc-aes', { ...managed, key_label: 'enc-aes', mechanism: '0x1087', usages: 'encrypt,decrypt' })).status,
    ).toBe(204);
    expect((await call('PUT', 'sys/mounts/transit', { type: 'transit' })).status).toBe(204);
    expect((await call('PUT', 'sys/mounts/transit/tune', { allowed_managed_keys: ['sign-ec', 'enc-aes'] })).status).toBe(204);
    for (const [name, managedKey] of [
      ['hsm-ec', 'sign-ec'],
      ['hsm-aes', 'enc-aes'],
    ])
      expect((await call('PUT', `transit/keys/${name}`, { type: 'managed_key', managed_key_name: managedKey })).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await k?.close();
    token?.cleanup();
  });

  it('signs with the managed EC key; node verifies each version’s signature with the public key', async () => {
    const p = await policy('hsm-ec');
    expect(p).toMatchObject({ type: 'managed_key', managedKeyName: 'sign-ec' });
    const data = randomBytes(1024);
    const signer = await hook.signer(mount(), p, 1);
    expect(signer.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const signature = await signer.sign(signatureSchemeFor(signer.publicKey, 'sha256', false), data);
    expect(verify('sha256', data, signer.publicKey, signature)).toBe(true);
    expect(verify('sha256', randomBytes(1024), signer.publicKey, signature)).toBe(false);

    expect((await call('PUT', 'transit/keys/hsm-ec/rotate')).json.data.latest_version).toBe(2);
    const again = await hook.signer(mount(), await policy('hsm-ec'), 2);
    expect(again.publicKey.equals(signer.publicKey)).toBe(true);
    expect(verify('sha384', data, again.publicKey, await again.sign(signatureSchemeFor(again.publicKey, 'sha384', false), data))).toBe(true);
  });

  it('refuses a managed key without the "sign" usage, and a mount no longer allowed the key', async () => {
    expect(await rejection(hook.signer(mount(), await policy('hsm-aes'), 1))).toEqual({
      status: 400,
      errors: ['managed key "enc-aes" does not allow usage "sign"'],
    });
    const p = await policy('hsm-ec');
    expect((await call('PUT', 'sys/mounts/transit/tune', { allowed_managed_keys: ['enc-aes'] })).status).toBe(204);
    expect(await rejection(hook.signer(mount(), p, 1))).toEqual({
      status: 400,
      errors: ['managed key "sign-ec" is not allowed on mount transit/: list it in the mount\'s allowed_managed_keys, or set any_mount on the key'],
    });
  });
});
