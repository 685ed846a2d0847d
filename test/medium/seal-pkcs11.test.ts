/**
 * The PKCS#11 seal on SoftHSM2 with the real kernel and database: init with recovery keys, auto-unseal
 * of a second node, recovery keys after sys/seal, seal key rotation by a new key_label, RSA-OAEP, and a
 * wrong PIN. Each test file has its own SoftHSM token directory (SoftHSM reads its conf once per process).
 */
import { createLogger, type Logger } from '../../src/logger';
import { Pkcs11Token } from '../../src/hsm/pkcs11-token';
import { CKM_RSA_PKCS_OAEP, type Pkcs11SealSettings, type SealConfiguration } from '../../src/kernel/seal/seal-settings';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, useSoftHsmConf, type SoftHsmToken } from '../support/softhsm';
import { until } from '../support/wait';

const PIN = 'seal-pin-5521';
const TOKEN = 'seal-medium';

function pkcs11(over: Partial<Pkcs11SealSettings> = {}): SealConfiguration {
  return {
    active: { type: 'pkcs11', lib: SOFTHSM_LIB, tokenLabel: TOKEN, pin: PIN, keyLabel: 'root', rsaOaepHash: 'sha256', generateKey: true, ...over },
  };
}

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const base = createLogger('error');
  return {
    lines,
    log: { ...base, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) },
  };
}

async function expectBadRequest(run: () => Promise<unknown>, message: string): Promise<void> {
  await expect(run()).rejects.toMatchObject({ status: 400, errors: [message] });
}

describeWithSoftHsm('pkcs11 seal (medium)', () => {
  let token: SoftHsmToken;
  const kernels: TestKernel[] = [];
  const open = async (options: Parameters<typeof openTestKernel>[0]) => {
    const k = await openTestKernel(options);
    kernels.push(k);
    return k;
  };
  /** A second node on the first one's database. */
  const nodeOf = (first: TestKernel, seal: SealConfiguration, log?: Logger) => open({ seal, dataSource: first.dataSource, url: first.url, log });

  beforeAll(() => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-5521' });
    useSoftHsmConf(token.conf);
  });

  afterAll(async () => {
    for (const k of kernels.reverse()) await k.close().catch(() => undefined);
    token.cleanup();
  });

  it('init refuses unseal shares, returns recovery keys and unseals; another node auto-unseals with the HSM alone', async () => {
    const k = await open({ seal: pkcs11() });
    expect(await k.seal.status()).toMatchObject({
      type: 'pkcs11',
      initialized: false,
      sealed: true,
      t: 0,
      n: 0,
      recovery_seal: true,
      recovery_seal_type: 'shamir',
    });
    await expectBadRequest(
      () => k.seal.initialize({ secretShares: 5, secretThreshold: 3, recoveryShares: 3, recoveryThreshold: 2 }),
      'parameters secret_shares,secret_threshold not applicable to seal type pkcs11',
    );
    await expectBadRequest(() => k.seal.initialize({ secretShares: 0, secretThreshold: 0 }), 'recovery configuration must specify a positive number of shares');
    await expectBadRequest(
      () => k.seal.initialize({ secretShares: 0, secretThreshold: 0, recoveryShares: 2, recoveryThreshold: 3 }),
      'invalid recovery configuration: threshold cannot be larger than shares',
    );

    const init = await k.seal.initialize({ secretShares: 0, secretThreshold: 0, recoveryShares: 3, recoveryThreshold: 2 });
    expect(init.keys).toEqual([]);
    expect(init.recoveryKeys).toHaveLength(3);
    expect(k.seal.isSealed).toBe(false);
    expect(await k.seal.status()).toMatchObject({ type: 'pkcs11', initialized: true, sealed: false, t: 2, n: 3, recovery_seal: true });
    await k.mounts.enable({ class: 'secret', path: 'kv', type: 'kv', options: { version: '1' }, description: '' });

    // The generated key is sensitive and cannot leave the token.
    const hsm = new Pkcs11Token({ lib: SOFTHSM_LIB, tokenLabel: TOKEN, pin: PIN });
    await hsm.open();
    const key = await hsm.findKey({ label: 'root' });
    expect(key).toBeDefined();
    expect(await hsm.keyInfo(key!)).toMatchObject({ keyType: 'aes', sensitive: true, extractable: false });
    await hsm.close();

    const [row] = await k.dataSource.query(
      'SELECT seal_type, secret_shares, recovery_shares, recovery_threshold, hsm_key_label, hsm_mechanism FROM seal_config',
    );
    expect(row).toEqual({ seal_type: 'pkcs11', secret_shares: 1, recovery_shares: 3, recovery_threshold: 2, hsm_key_label: 'root', hsm_mechanism: 0x1087 });

    const second = await nodeOf(k, pkcs11({ generateKey: false }));
    await until(async () => !second.seal.isSealed);
    expect(second.mounts.list('secret').some((m) => m.path === 'kv/')).toBe(true);

    // After sys/seal, the recovery keys unseal (the HSM still unwraps); a wrong one resets progress.
    await second.seal.seal();
    expect(await second.seal.status()).toMatchObject({ sealed: true, t: 2, progress: 0 });
    expect((await second.seal.submitUnsealKey(init.recoveryKeys[0].toString('hex'), false)).progress).toBe(1);
    const wrong = Buffer.from(init.recoveryKeys[1]);
    wrong[wrong.length - 1] ^= 1;
    await expectBadRequest(() => second.seal.submitUnsealKey(wrong.toString('base64'), false), 'unseal failed, invalid key');
    expect((await second.seal.status()).progress).toBe(0);
    await second.seal.submitUnsealKey(init.recoveryKeys[2].toString('base64'), false);
    expect((await second.seal.submitUnsealKey(init.recoveryKeys[0].toString('hex'), false)).sealed).toBe(false);

    // A new key_label rotates the seal key: the root key is rewrapped once, the old key still in the HSM.
    const rotated = await nodeOf(k, pkcs11({ keyLabel: 'root-2' }));
    await until(async () => !rotated.seal.isSealed);
    const [after] = await k.dataSource.query('SELECT hsm_key_label FROM seal_config');
    expect(after.hsm_key_label).toBe('root-2');
    const again = await nodeOf(k, pkcs11({ keyLabel: 'root-2', generateKey: false }));
    await until(async () => !again.seal.isSealed);
  }, 60_000);

  it('RSA-OAEP (SHA-1: SoftHSM 2.6 has no other OAEP hash) wraps the root key in an RSA key pair', async () => {
    const seal = pkcs11({ keyLabel: 'rsa-root', mechanism: CKM_RSA_PKCS_OAEP, rsaOaepHash: 'sha1' });
    const k = await open({ seal });
    await k.seal.initialize({ secretShares: 0, secretThreshold: 0, recoveryShares: 1, recoveryThreshold: 1 });
    expect(k.seal.isSealed).toBe(false);
    const second = await nodeOf(k, seal);
    await until(async () => !second.seal.isSealed);
  }, 60_000);

  it('unsealed by sys/init while the loop waits, then sealed: the pending auto-unseal try does not undo the seal', async () => {
    const { log, lines } = capture();
    const k = await open({ seal: pkcs11({ keyLabel: 'init-then-seal' }), log });
    // The loop found the server uninitialised at start and polls again 5 s later.
    await until(async () => lines.some((l) => l.includes('auto-unseal waits for sys/init')), 10_000);
    await k.seal.initialize({ secretShares: 0, secretThreshold: 0, recoveryShares: 1, recoveryThreshold: 1 });
    expect(k.seal.isSealed).toBe(false);
    await k.seal.seal();
    await new Promise((r) => setTimeout(r, 6500));
    expect(k.seal.isSealed).toBe(true);
  }, 60_000);

  it('a wrong PIN keeps the node sealed, saying why on every retry, never the PIN; seal-status answers', async () => {
    // The login state of a token is shared by a process's sessions: no session with the right PIN may stay open.
    for (const earlier of kernels.splice(0)) await earlier.close();
    const k = await open({ seal: pkcs11({ keyLabel: 'pin-test' }) });
    await k.seal.initialize({ secretShares: 0, secretThreshold: 0, recoveryShares: 1, recoveryThreshold: 1 });
    await k.seal.provider.close();
    const { log, lines } = capture();
    const wrongPin = 'not-the-pin-77';
    const node = await nodeOf(k, pkcs11({ keyLabel: 'pin-test', pin: wrongPin }), log);
    await until(async () => lines.filter((l) => l.includes('auto-unseal failed')).length >= 2, 10_000);
    expect(node.seal.isSealed).toBe(true);
    expect(await node.seal.status()).toMatchObject({ sealed: true, initialized: true, type: 'pkcs11' });
    const failures = lines.filter((l) => l.includes('auto-unseal failed'));
    expect(failures[0]).toMatch(/PIN/i);
    for (const line of lines) expect(line).not.toContain(wrongPin);
  }, 60_000);
  it('missing library, absent token, missing key with generate_key = false: sealed, one clear line per retry naming which', async () => {
    for (const earlier of kernels.splice(0)) await earlier.close();
    const k = await open({ seal: pkcs11({ keyLabel: 'fail-modes' }) });
    await k.seal.initialize({ secretShares: 0, secretThreshold: 0, recoveryShares: 1, recoveryThreshold: 1 });
    const cases: [Partial<Pkcs11SealSettings>, RegExp][] = [
      [{ lib: '/nonexistent/libpkcs11.so' }, /\/nonexistent\/libpkcs11\.so/],
      [{ tokenLabel: 'no-such-token' }, /no-such-token/],
      [{ keyLabel: 'no-such-key', generateKey: false }, /no key with label "no-such-key".*generate_key is false/],
    ];
    for (const [over, reason] of cases) {
      const { log, lines } = capture();
      const node = await nodeOf(k, pkcs11({ keyLabel: 'fail-modes', ...over }), log);
      await until(async () => lines.some((l) => l.includes('auto-unseal failed')), 10_000);
      expect(node.seal.isSealed).toBe(true);
      expect(await node.seal.status()).toMatchObject({ sealed: true, initialized: true });
      const line = lines.find((l) => l.includes('auto-unseal failed'))!;
      expect(line).toMatch(reason);
      expect(line.split('\n')).toHaveLength(1);
      expect(line).not.toContain(PIN);
    }
  }, 60_000);
});
