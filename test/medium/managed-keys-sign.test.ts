/**
 * Managed keys that sign, on SoftHSM2 with the real kernel and database: EC keys generated on the
 * token for each curve (sensitive, not extractable), Vault's sys/managed-keys/pkcs11/:name/test/sign
 * for EC and RSA keys, signerFor's signatures verifying with node, usage refusals, and recovery
 * from a token outage (the token directory moved away and back) with no restart, the PIN in no
 * answer and no log line.
 */
import { constants, verify } from 'node:crypto';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { signatureSchemeFor } from '../../src/crypto/x509/signing';
import type { RequestContext, RouteDefinition } from '../../src/framework/route';
import { Pkcs11Token } from '../../src/hsm/pkcs11-token';
import type { ManagedKeyInput } from '../../src/kernel/managed-keys/managed-key-input';
import { createLogger } from '../../src/logger';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, useSoftHsmConf, type SoftHsmToken } from '../support/softhsm';

const PIN = 'mk-sign-pin-4471';
const TOKEN = 'mk-sign';

describeWithSoftHsm('managed keys: EC generation, test/sign, signers, outage recovery (medium)', () => {
  let token: SoftHsmToken;
  let k: TestKernel;
  let routes: RouteDefinition[];
  const logLines: string[] = [];

  const routeOf = (path: string) => routes.find((r) => r.path === path)!;
  const ctx = (params: Record<string, string>, data: Record<string, unknown> = {}) => ({ params, data, body: data, warnings: [] }) as unknown as RequestContext;
  const write = (name: string, data: ManagedKeyInput) => routeOf('managed-keys/:type/:name').handlers.update!(ctx({ type: 'pkcs11', name }, { ...data }));
  const read = async (name: string) => {
    const out = await routeOf('managed-keys/:type/:name').handlers.read!(ctx({ type: 'pkcs11', name }));
    return (out as { data: Record<string, unknown> }).data;
  };
  const testSign = (name: string) => routeOf('managed-keys/:type/:name/test/sign').handlers.update!(ctx({ type: 'pkcs11', name }));
  const mount = () => k.mounts.get('secret', 'kv')!;
  const base = { library: 'hsm1', token_label: TOKEN, pin: PIN, allow_generate_key: true, any_mount: true };

  /** The error a promise rejects with, its JSON (what a client would see). */
  const failure = async (p: Promise<unknown>) => {
    const err = (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as { status: number; errors: string[] } | undefined;
    expect(err).toBeDefined();
    return err!;
  };

  beforeAll(async () => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-4471' });
    useSoftHsmConf(token.conf);
    k = await openTestKernel({
      kmsLibraries: [{ type: 'pkcs11', name: 'HSM1', library: SOFTHSM_LIB }],
      log: createLogger('debug', (line) => logLines.push(line)),
    });
    const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await k.seal.submitUnsealKey(init.keys[0].toString('hex'), false);
    await k.mounts.enable({ class: 'secret', path: 'kv', type: 'kv', options: { version: '1' }, description: '' });
    routes = k.mounts.routesOf(k.mounts.get('secret', 'sys')!);
  }, 60_000);

  afterAll(async () => {
    await k?.close();
    token?.cleanup();
  });

  it.each([
    ['P256', 256, 'sha256'],
    ['P384', 384, 'sha384'],
    ['P521', 521, 'sha512'],
  ] as const)(
    'allow_generate_key with curve %s makes an EC key on the token; test/sign and signerFor sign with it',
    async (curve, bits, hash) => {
      const name = `ec-${curve.toLowerCase()}`;
      await write(name, { ...base, key_label: `mk-${name}`, mechanism: '0x1041', curve });

      const hsm = new Pkcs11Token({ lib: SOFTHSM_LIB, tokenLabel: TOKEN, pin: PIN });
      await hsm.open();
      try {
        const key = await hsm.findKey({ label: `mk-${name}` });
        expect(key).toMatchObject({ class: 'ec' });
        expect(await hsm.keyInfo(key!)).toMatchObject({ keyType: 'ec', bits, sensitive: true, extractable: false });
      } finally {
        await hsm.close();
      }
      expect(await read(name)).toMatchObject({ mechanism: 0x1041, curve, key_label: `mk-${name}`, reachable: true });

      expect(await testSign(name)).toBeNull();

      const signer = await k.managedKeys.signerFor(mount(), name);
      expect(signer.publicKey.asymmetricKeyDetails?.namedCurve).toBe({ P256: 'prime256v1', P384: 'secp384r1', P521: 'secp521r1' }[curve]);
      const data = Buffer.from(`signed by ${name}`);
      const signature = await signer.sign(signatureSchemeFor(signer.publicKey, hash), data);
      expect(verify(hash, data, signer.publicKey, signature)).toBe(true);
      expect(verify(hash, Buffer.from('other data'), signer.publicKey, signature)).toBe(false);
    },
    60_000,
  );

  it('test/sign with RSA keys: PKCS#1 v1.5 (0x0001) and PSS (0x000D); signerFor signatures verify with node', async () => {
    await write('rsa-pkcs1', { ...base, key_label: 'mk-rsa-pkcs1', mechanism: '0x0001', key_bits: 2048 });
    await write('rsa-pss', { ...base, key_label: 'mk-rsa-pss', mechanism: '0x000D', key_bits: 3072 });
    expect(await testSign('rsa-pkcs1')).toBeNull();
    expect(await testSign('RSA-PSS')).toBeNull();

    const data = Buffer.from('rsa data');
    const pkcs1 = await k.managedKeys.signerFor(mount(), 'rsa-pkcs1');
    expect(verify('sha256', data, pkcs1.publicKey, await pkcs1.sign(signatureSchemeFor(pkcs1.publicKey, 'sha256'), data))).toBe(true);
    const pss = await k.managedKeys.signerFor(mount(), 'rsa-pss');
    expect(pss.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    const pssSignature = await pss.sign(signatureSchemeFor(pss.publicKey, 'sha384', true), data);
    expect(verify('sha384', data, { key: pss.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, pssSignature)).toBe(true);
  }, 60_000);

  it('refuses (400): a key without the "sign" usage, an AES key, an unknown key; a mount not allowed to use the key', async () => {
    await write('no-sign', { ...base, key_label: 'mk-ec-p256', mechanism: '0x1041', curve: 'P256', allow_generate_key: false, usages: ['encrypt', 'decrypt'] });
    expect(await failure(testSign('no-sign'))).toMatchObject({ status: 400, errors: ['managed key "no-sign" does not allow usage "sign"'] });
    expect(await failure(k.managedKeys.signerFor(mount(), 'no-sign'))).toMatchObject({
      status: 400,
      errors: ['managed key "no-sign" does not allow usage "sign"'],
    });

    await write('aes', { ...base, key_label: 'mk-aes', mechanism: '0x1087', usages: ['sign', 'encrypt'] });
    expect(await failure(testSign('aes'))).toMatchObject({ status: 400, errors: [expect.stringContaining('managed key "aes" is an AES key')] });

    expect(await failure(testSign('nope'))).toMatchObject({ status: 400, errors: ['no managed key named "nope"'] });

    await write('mount-bound', { ...base, key_label: 'mk-ec-p256', mechanism: '0x1041', curve: 'P256', allow_generate_key: false, any_mount: false });
    expect(await failure(k.managedKeys.signerFor(mount(), 'mount-bound'))).toMatchObject({
      status: 400,
      errors: [expect.stringContaining('is not allowed on mount kv/')],
    });
  }, 60_000);

  it('a key missing from the token (generation not allowed) is unavailable: 500, one line', async () => {
    await write('absent', { ...base, key_label: 'mk-not-there', mechanism: '0x1041', curve: 'P256', allow_generate_key: false });
    const err = await failure(testSign('absent'));
    expect(err.status).toBe(500);
    expect(err.errors).toEqual([expect.stringMatching(/^the managed key "absent" is unavailable: .*no key 'mk-not-there'/)]);
  }, 60_000);

  // Last: moves the token directory away and back.
  it('outage: test/sign answers 500 with one line while the token is gone, and works again once it is back, with no restart', async () => {
    const signer = await k.managedKeys.signerFor(mount(), 'ec-p256');
    const scheme = signatureSchemeFor(signer.publicKey, 'sha256');
    expect(await testSign('ec-p256')).toBeNull();

    await write('fresh', { ...base, key_label: 'mk-fresh', mechanism: '0x1041', curve: 'P256' });
    const tokens = join(token.dir, 'tokens');
    renameSync(tokens, `${tokens}.away`);
    try {
      for (const name of ['fresh', 'ec-p256', 'rsa-pkcs1']) {
        const err = await failure(testSign(name));
        expect(err.status).toBe(500);
        expect(err.errors).toHaveLength(1);
        expect(err.errors[0]).toMatch(new RegExp(`^the managed key "${name}" is unavailable: `));
        expect(err.errors[0]).not.toContain('\n');
        expect(err.errors[0]).not.toContain(PIN);
        // A gone token is not an empty one: no key is generated in its place (both keys allow generation).
        expect(err.errors[0]).not.toContain('generating');
      }
      const signFailure = await failure(signer.sign(scheme, Buffer.from('during')));
      expect(signFailure).toMatchObject({ status: 500, errors: [expect.stringMatching(/^the managed key "ec-p256" is unavailable: /)] });
      const withKey = await failure(k.managedKeys.withKey(mount(), 'ec-p256', 'sign', async () => 'never'));
      expect(withKey.status).toBe(500);
      const data = await read('ec-p256');
      expect(data).toMatchObject({ reachable: false });
      expect(JSON.stringify(data)).not.toContain(PIN);
    } finally {
      renameSync(`${tokens}.away`, tokens);
    }

    // Back: the first use reinitialises the library and works.
    expect(await testSign('fresh')).toBeNull();
    expect(await testSign('ec-p256')).toBeNull();
    expect(await testSign('rsa-pkcs1')).toBeNull();
    expect(await read('ec-p256')).toMatchObject({ reachable: true });
    const data = Buffer.from('after');
    expect(verify('sha256', data, signer.publicKey, await signer.sign(scheme, data))).toBe(true);
    expect(await k.managedKeys.withKey(mount(), 'rsa-pss', 'sign', async (_t, ref) => ref.label)).toBe('mk-rsa-pss');

    expect(logLines.join('\n')).not.toContain(PIN);
  }, 60_000);

  it('a signer made before the barrier sealed does not reopen the token afterwards', async () => {
    const signer = await k.managedKeys.signerFor(mount(), 'ec-p384');
    await k.seal.seal();
    expect((k.managedKeys as unknown as { tokens: Map<string, unknown> }).tokens.size).toBe(0);
    expect(await failure(signer.sign(signatureSchemeFor(signer.publicKey, 'sha384'), Buffer.from('x')))).toMatchObject({
      status: 500,
      errors: [expect.stringContaining('closed (sealed)')],
    });
    expect((k.managedKeys as unknown as { tokens: Map<string, unknown> }).tokens.size).toBe(0);
  }, 60_000);
});
