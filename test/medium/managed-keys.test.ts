/**
 * Managed keys (sys/managed-keys/pkcs11) on SoftHSM2 with the real kernel and database: create,
 * read, list and delete through the sys routes' handlers; the PIN is never returned and is stored
 * barrier-sealed; a read says whether the key is reachable; allow_generate_key makes an RSA key on
 * the token; a mount uses a key only when its allowed_managed_keys lists it or the key has any_mount.
 */
import type { RequestContext, RouteDefinition } from '../../src/framework/route';
import { Pkcs11Token } from '../../src/hsm/pkcs11-token';
import type { ManagedKeyInput } from '../../src/kernel/managed-keys/managed-key-input';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, useSoftHsmConf, type SoftHsmToken } from '../support/softhsm';

const PIN = 'mk-pin-8830';
const TOKEN = 'mk-medium';

describeWithSoftHsm('managed keys (medium)', () => {
  let token: SoftHsmToken;
  let k: TestKernel;
  let routes: RouteDefinition[];

  const routeOf = (path: string) => routes.find((r) => r.path === path)!;
  const ctx = (params: Record<string, string>, data: Record<string, unknown> = {}) => ({ params, data, body: data, warnings: [] }) as unknown as RequestContext;
  const write = (name: string, data: ManagedKeyInput) => routeOf('managed-keys/:type/:name').handlers.update!(ctx({ type: 'pkcs11', name }, { ...data }));
  const read = async (name: string) => {
    const out = await routeOf('managed-keys/:type/:name').handlers.read!(ctx({ type: 'pkcs11', name }));
    return (out as { data: Record<string, unknown> }).data;
  };
  const list = async () => ((await routeOf('managed-keys/:type').handlers.list!(ctx({ type: 'pkcs11' }))) as unknown as { data: { keys: string[] } }).data.keys;
  const remove = (name: string) => routeOf('managed-keys/:type/:name').handlers.delete!(ctx({ type: 'pkcs11', name }));
  const tune = (path: string, data: Record<string, unknown>) => routeOf('mounts/*path/tune').handlers.update!(ctx({ path }, data));
  const mount = (path: string) => k.mounts.get('secret', path)!;
  const rsa = { library: 'hsm1', token_label: TOKEN, pin: PIN, mechanism: '0x0001', key_bits: 2048 };

  beforeAll(async () => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-8830' });
    useSoftHsmConf(token.conf);
    k = await openTestKernel({ kmsLibraries: [{ type: 'pkcs11', name: 'HSM1', library: SOFTHSM_LIB }] });
    const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await k.seal.submitUnsealKey(init.keys[0].toString('hex'), false);
    for (const path of ['kv-a', 'kv-b']) await k.mounts.enable({ class: 'secret', path, type: 'kv', options: { version: '1' }, description: '' });
    routes = k.mounts.routesOf(k.mounts.get('secret', 'sys')!);
  }, 60_000);

  afterAll(async () => {
    await k?.close();
    token?.cleanup();
  });

  it('refuses what Vault refuses: unknown library, missing fields, EC generation without a curve, other types', async () => {
    await expect(write('bad', { ...rsa, library: 'nope' })).rejects.toMatchObject({
      status: 400,
      errors: ['library "nope" is not a kms_library of the server configuration'],
    });
    await expect(write('bad', { ...rsa, pin: undefined })).rejects.toMatchObject({ status: 400, errors: ['pin is required'] });
    await expect(write('bad', { ...rsa, key_label: 'x', slot: '1' })).rejects.toMatchObject({ errors: ['set slot or token_label, not both'] });
    await expect(write('bad', { ...rsa })).rejects.toMatchObject({ errors: ['key_label or key_id is required'] });
    await expect(write('bad', { ...rsa, key_label: 'ec', mechanism: '0x1041', allow_generate_key: true })).rejects.toMatchObject({
      errors: ['curve is required to generate an ECDSA key (P256, P384, P521)'],
    });
    await expect(write('bad', { ...rsa, key_label: 'r', key_bits: 1024 })).rejects.toMatchObject({ errors: ['key_bits: RSA keys are 2048, 3072, 4096 bits'] });
    await expect(routeOf('managed-keys/:type').handlers.list!(ctx({ type: 'awskms' }))).rejects.toMatchObject({ status: 400 });
    expect(await list()).toEqual([]);
  });

  it('creates an RSA key on the token (allow_generate_key), reads Vault’s shape without the PIN, stores the PIN sealed', async () => {
    await write('RSA1', { ...rsa, key_label: 'mk-rsa', allow_generate_key: true, usages: ['sign', 'verify', 'decrypt'] });

    const hsm = new Pkcs11Token({ lib: SOFTHSM_LIB, tokenLabel: TOKEN, pin: PIN });
    await hsm.open();
    const key = await hsm.findKey({ label: 'mk-rsa' });
    expect(await hsm.keyInfo(key!)).toMatchObject({ keyType: 'rsa', bits: 2048, sensitive: true, extractable: false });
    await hsm.close();

    const data = await read('rsa1');
    expect(data).toMatchObject({
      name: 'rsa1',
      type: 'pkcs11',
      library: 'HSM1',
      slot: 0,
      token_label: TOKEN,
      pin: 'redacted',
      key_label: 'mk-rsa',
      key_id: '',
      mechanism: 1,
      key_bits: 2048,
      curve: '',
      allow_generate_key: true,
      allow_store_key: false,
      any_mount: false,
      usages: ['sign', 'verify', 'decrypt'],
      reachable: true,
    });
    expect(data.UUID).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(data)).not.toContain(PIN);
    expect(await list()).toEqual(['rsa1']);

    const [row] = await k.dataSource.query('SELECT id, pin_ciphertext FROM managed_keys WHERE name = $1', ['rsa1']);
    expect((row.pin_ciphertext as Buffer).includes(Buffer.from(PIN))).toBe(false);
    expect(k.barrier.decrypt(`managed_keys/pin_ciphertext/${row.id}`, row.pin_ciphertext).toString()).toBe(PIN);

    // An update keeps what it does not give (the PIN too); the key is found again, not regenerated.
    await write('rsa1', { allow_generate_key: false });
    expect(await read('rsa1')).toMatchObject({ allow_generate_key: false, key_bits: 2048, reachable: true });
  }, 60_000);

  it('a key whose label is not on the token, or whose PIN is wrong, is unreachable', async () => {
    await write('missing', { ...rsa, key_label: 'not-there' });
    expect(await read('missing')).toMatchObject({ reachable: false, reachable_error: expect.stringContaining("no key 'not-there'") });
    await write('wrong-pin', { ...rsa, pin: 'not-the-pin', key_label: 'mk-rsa' });
    const data = await read('wrong-pin');
    expect(data.reachable).toBe(false);
    expect(JSON.stringify(data)).not.toContain('not-the-pin');
    for (const name of ['missing', 'wrong-pin']) await remove(name);
  }, 60_000);

  it('a mount uses a key only when allowed_managed_keys lists it or the key has any_mount; the token is shared', async () => {
    await expect(k.managedKeys.forMount(mount('kv-a'), 'rsa1')).rejects.toMatchObject({
      status: 400,
      errors: [expect.stringContaining('managed key "rsa1" is not allowed on mount kv-a/')],
    });
    await tune('kv-a', { allowed_managed_keys: ['RSA1'] });
    expect(mount('kv-a').config.allowedManagedKeys).toEqual(['rsa1']);
    const viaA = await k.managedKeys.forMount(mount('kv-a'), 'rsa1', 'sign');
    expect(viaA.ref).toMatchObject({ class: 'rsa', label: 'mk-rsa' });
    expect((await viaA.token.rsaPublicKey(viaA.ref)).asymmetricKeyDetails?.modulusLength).toBe(2048);
    await expect(k.managedKeys.forMount(mount('kv-a'), 'rsa1', 'encrypt')).rejects.toMatchObject({
      errors: ['managed key "rsa1" does not allow usage "encrypt"'],
    });
    await expect(k.managedKeys.forMount(mount('kv-b'), viaA.key.id)).rejects.toMatchObject({ status: 400 });

    await write('shared', { ...rsa, key_label: 'mk-rsa', any_mount: true });
    const viaB = await k.managedKeys.forMount(mount('kv-b'), 'shared');
    expect(viaB.token).toBe(viaA.token);

    // Vault refuses to delete a key a mount still lists.
    await expect(remove('rsa1')).rejects.toMatchObject({ status: 400, errors: [expect.stringContaining('kv-a/')] });
    await tune('kv-a', { allowed_managed_keys: [] });
    expect(mount('kv-a').config.allowedManagedKeys).toBeUndefined();
    await remove('rsa1');
    await remove('shared');
    expect(await list()).toEqual([]);
    await expect(routeOf('managed-keys/:type/:name').handlers.read!(ctx({ type: 'pkcs11', name: 'rsa1' }))).rejects.toMatchObject({ status: 404 });
  }, 60_000);

  it('sealing closes the cached tokens', async () => {
    await write('again', { ...rsa, key_label: 'mk-rsa', any_mount: true });
    const { token: opened } = await k.managedKeys.forMount(mount('kv-a'), 'again');
    await k.seal.seal();
    expect((k.managedKeys as unknown as { tokens: Map<string, unknown> }).tokens.size).toBe(0);
    expect((await opened.health()).ok).toBe(false);
  }, 60_000);
});
