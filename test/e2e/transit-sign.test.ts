/**
 * Transit sign, verify and hmac over HTTP against Vault's semantics (path_sign_verify.go,
 * path_hmac.go): every signing key type's signatures are checked by the `openssl` CLI with the
 * public key the key read shows (ECDSA asn1 and jws, RSA PSS and PKCS#1 v1.5 including
 * `hash_algorithm=none`, ed25519 and derived ed25519, prehashed digests); openssl's own signatures
 * (with keys imported as public keys, or wrapped for ed25519) and tampered ones go through verify; batches keep order and `reference`; bad input answers 400
 * with Vault's messages; HMACs are deterministic per version and verify through verify/.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ecdsaRawToDer } from '../../src/crypto/ecdsa-signature';
import { createTestDatabase } from '../support/database';
import { call, type HttpResult } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(180_000);

const INPUT = Buffer.from('the quick brown fox jumps over the lazy dog');
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');
const OPENSSL_DIGEST: Record<string, string> = {
  sha1: 'sha1',
  'sha2-224': 'sha224',
  'sha2-256': 'sha256',
  'sha2-384': 'sha384',
  'sha2-512': 'sha512',
  'sha3-224': 'sha3-224',
  'sha3-256': 'sha3-256',
  'sha3-384': 'sha3-384',
  'sha3-512': 'sha3-512',
};
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

describe('transit sign, verify and hmac (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  let dir: string;
  const token = 'hvs.transitsigntestroot';
  const post = (path: string, body: unknown = {}) => call(a, 'POST', `transit/${path}`, { token, body });
  const publicKeys = new Map<string, string>();

  /** The PEM public key of `name`'s version (ed25519's base64 raw key wrapped in SPKI). */
  async function publicPem(name: string, version = 1): Promise<string> {
    const read = await call(a, 'GET', `transit/keys/${name}`, { token });
    const shown: string = read.body.data.keys[String(version)].public_key;
    if (read.body.data.type !== 'ed25519') return shown;
    return rawEd25519Pem(Buffer.from(shown, 'base64'));
  }

  function rawEd25519Pem(raw: Buffer): string {
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
      .export({ format: 'pem', type: 'spki' })
      .toString();
  }

  let fileCount = 0;
  function file(content: Buffer | string): string {
    const path = join(dir, `f${fileCount++}`);
    writeFileSync(path, content);
    return path;
  }

  /** Runs openssl; true when it says the signature verifies, false when it says it does not. */
  function openssl(args: string[]): boolean {
    try {
      const out = execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
      return /Verified OK|Signature Verified Successfully/.test(out);
    } catch (err) {
      const out = String((err as { stdout?: Buffer }).stdout ?? '');
      if (/verification failure/i.test(out)) return false;
      throw err;
    }
  }

  /** `openssl dgst -verify` of a signature over `input` (hashing it), with extra -sigopt arguments. */
  function opensslDgstVerify(pem: string, digest: string, input: Buffer, signature: Buffer, sigopts: string[] = []): boolean {
    const opts = sigopts.flatMap((o) => ['-sigopt', o]);
    return openssl(['dgst', `-${digest}`, ...opts, '-verify', file(pem), '-signature', file(signature), file(input)]);
  }

  /** `openssl pkeyutl -verify` of a signature over `data` as given (a digest, or raw with -rawin). */
  function opensslPkeyutlVerify(pem: string, data: Buffer, signature: Buffer, extra: string[] = []): boolean {
    return openssl(['pkeyutl', '-verify', '-pubin', '-inkey', file(pem), '-in', file(data), '-sigfile', file(signature), ...extra]);
  }

  function signatureBytes(value: string, jws = false): Buffer {
    const payload = value.split(':')[2];
    return Buffer.from(payload, jws ? 'base64url' : 'base64');
  }

  async function sign(name: string, body: Record<string, unknown>, suffix = ''): Promise<HttpResult> {
    return post(`sign/${name}${suffix}`, body);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'transit-sign-'));
    const databaseUrl = await createTestDatabase();
    server = await startServerProcess({ databaseUrl, args: ['--dev', '--dev-root-token-id', token], readyText: 'should NOT be used' });
    a = server.address;
    expect((await call(a, 'POST', 'sys/mounts/transit', { token, body: { type: 'transit' } })).status).toBe(204);
    for (const [name, body] of [
      ['ed', { type: 'ed25519' }],
      ['edd', { type: 'ed25519', derived: true }],
      ['p256', { type: 'ecdsa-p256' }],
      ['p384', { type: 'ecdsa-p384' }],
      ['p521', { type: 'ecdsa-p521' }],
      ['rsa', { type: 'rsa-2048' }],
      ['rsa3k', { type: 'rsa-3072' }],
      ['aes', { type: 'aes256-gcm96' }],
      ['mac', { type: 'hmac', key_size: 48 }],
    ] as const)
      expect((await post(`keys/${name}`, body)).status).toBe(200);
    for (const name of ['ed', 'p256', 'p384', 'p521', 'rsa', 'rsa3k']) publicKeys.set(name, await publicPem(name));
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ECDSA P-256/384/521: asn1 and jws signatures with every hash verify in openssl and through verify; tampering fails', async () => {
    for (const name of ['p256', 'p384', 'p521']) {
      const pem = publicKeys.get(name) as string;
      for (const hash of Object.keys(OPENSSL_DIGEST)) {
        const s = await sign(name, { input: b64(INPUT), hash_algorithm: hash });
        expect(s.status).toBe(200);
        expect(s.body.data).toEqual({ signature: expect.stringMatching(/^vault:v1:[A-Za-z0-9+/]+=*$/), key_version: 1 });
        const sig = signatureBytes(s.body.data.signature);
        expect(opensslDgstVerify(pem, OPENSSL_DIGEST[hash], INPUT, sig)).toBe(true);
        expect(opensslDgstVerify(pem, OPENSSL_DIGEST[hash], Buffer.from('tampered'), sig)).toBe(false);
        expect((await post(`verify/${name}`, { input: b64(INPUT), hash_algorithm: hash, signature: s.body.data.signature })).body.data).toEqual({
          valid: true,
        });
        expect((await post(`verify/${name}`, { input: b64('tampered'), hash_algorithm: hash, signature: s.body.data.signature })).body.data).toEqual({
          valid: false,
        });
      }
      // jws: r ‖ s, base64url without padding; openssl checks it once written as DER
      const jws = await sign(name, { input: b64(INPUT), marshaling_algorithm: 'jws' }, '/sha2-384');
      expect(jws.body.data.signature).toMatch(/^vault:v1:[A-Za-z0-9_-]+$/);
      const raw = signatureBytes(jws.body.data.signature, true);
      expect(raw.length).toBe({ p256: 64, p384: 96, p521: 132 }[name]);
      expect(opensslDgstVerify(pem, 'sha384', INPUT, ecdsaRawToDer(raw))).toBe(true);
      const verifyJws = (body: Record<string, unknown>) => post(`verify/${name}/sha2-384`, { input: b64(INPUT), signature: jws.body.data.signature, ...body });
      expect((await verifyJws({ marshaling_algorithm: 'jws' })).body.data).toEqual({ valid: true });
      expect(await verifyJws({})).toMatchObject({ status: 400, body: { errors: ['invalid base64 signature value'] } });
    }
  });

  it('ECDSA prehashed: the input is the digest; openssl pkeyutl checks it as a digest', async () => {
    const digest = createHash('sha256').update(INPUT).digest();
    const s = await sign('p256', { input: b64(digest), prehashed: true });
    expect(s.status).toBe(200);
    const sig = signatureBytes(s.body.data.signature);
    expect(opensslPkeyutlVerify(publicKeys.get('p256') as string, digest, sig)).toBe(true);
    expect(opensslDgstVerify(publicKeys.get('p256') as string, 'sha256', INPUT, sig)).toBe(true);
    expect((await post('verify/p256', { input: b64(digest), prehashed: true, signature: s.body.data.signature })).body.data.valid).toBe(true);
    expect((await post('verify/p256', { input: b64(INPUT), signature: s.body.data.signature })).body.data.valid).toBe(true);
  });

  it('RSA: PSS (auto, hash and fixed salt) and PKCS#1 v1.5 verify in openssl; hash none is PKCS#1 v1.5 without DigestInfo', async () => {
    const pem = publicKeys.get('rsa') as string;
    for (const hash of ['sha1', 'sha2-256', 'sha2-512', 'sha3-256']) {
      const pss = await sign('rsa', { input: b64(INPUT), hash_algorithm: hash });
      expect(pss.status).toBe(200);
      const pssSig = signatureBytes(pss.body.data.signature);
      expect(pssSig.length).toBe(256);
      const mode = 'rsa_padding_mode:pss';
      expect(opensslDgstVerify(pem, OPENSSL_DIGEST[hash], INPUT, pssSig, [mode, 'rsa_pss_saltlen:auto'])).toBe(true);
      // auto signs with the longest salt Go allows: (2048-1+7)/8 - 2 - hash size
      expect(opensslDgstVerify(pem, OPENSSL_DIGEST[hash], INPUT, pssSig, [mode, 'rsa_pss_saltlen:max'])).toBe(true);
      const pkcs = await sign('rsa', { input: b64(INPUT), hash_algorithm: hash, signature_algorithm: 'pkcs1v15' });
      const pkcsSig = signatureBytes(pkcs.body.data.signature);
      expect(opensslDgstVerify(pem, OPENSSL_DIGEST[hash], INPUT, pkcsSig)).toBe(true);
      expect(opensslDgstVerify(pem, OPENSSL_DIGEST[hash], Buffer.from('tampered'), pkcsSig)).toBe(false);
      const verify = (body: Record<string, unknown>) => post('verify/rsa', { input: b64(INPUT), hash_algorithm: hash, ...body });
      expect((await verify({ signature: pss.body.data.signature })).body.data.valid).toBe(true);
      expect((await verify({ signature: pkcs.body.data.signature, signature_algorithm: 'pkcs1v15' })).body.data.valid).toBe(true);
      expect((await verify({ signature: pkcs.body.data.signature })).body.data.valid).toBe(false);
    }
    const hashSalt = await sign('rsa', { input: b64(INPUT), salt_length: 'hash' });
    const hashSaltSig = signatureBytes(hashSalt.body.data.signature);
    expect(opensslDgstVerify(pem, 'sha256', INPUT, hashSaltSig, ['rsa_padding_mode:pss', 'rsa_pss_saltlen:digest'])).toBe(true);
    const fixed = await sign('rsa', { input: b64(INPUT), salt_length: '20' });
    expect(opensslDgstVerify(pem, 'sha256', INPUT, signatureBytes(fixed.body.data.signature), ['rsa_padding_mode:pss', 'rsa_pss_saltlen:20'])).toBe(true);
    const verifySalt = (signature: string, salt_length: string) => post('verify/rsa', { input: b64(INPUT), signature, salt_length });
    expect((await verifySalt(fixed.body.data.signature, '20')).body.data.valid).toBe(true);
    expect((await verifySalt(fixed.body.data.signature, 'auto')).body.data.valid).toBe(true);
    expect((await verifySalt(fixed.body.data.signature, 'hash')).body.data.valid).toBe(false);

    // rsa-3072: Go's salt bound is (3072-1+7)/8 - 2 - 32 = 350 for sha2-256
    const big = await sign('rsa3k', { input: b64(INPUT), salt_length: '350' });
    expect(signatureBytes(big.body.data.signature).length).toBe(384);
    expect(
      opensslDgstVerify(publicKeys.get('rsa3k') as string, 'sha256', INPUT, signatureBytes(big.body.data.signature), [
        'rsa_padding_mode:pss',
        'rsa_pss_saltlen:350',
      ]),
    ).toBe(true);
    expect(await sign('rsa3k', { input: b64(INPUT), salt_length: '351' })).toMatchObject({
      status: 400,
      body: { errors: ['requested salt length 351 is invalid'] },
    });

    const digest = createHash('sha384').update(INPUT).digest();
    const pre = await sign('rsa', { input: b64(digest), prehashed: true, hash_algorithm: 'sha2-384', signature_algorithm: 'pkcs1v15' });
    expect(opensslDgstVerify(pem, 'sha384', INPUT, signatureBytes(pre.body.data.signature))).toBe(true);
    const prePss = await sign('rsa', { input: b64(digest), prehashed: true, hash_algorithm: 'sha2-384' });
    expect(opensslDgstVerify(pem, 'sha384', INPUT, signatureBytes(prePss.body.data.signature), ['rsa_padding_mode:pss', 'rsa_pss_saltlen:auto'])).toBe(true);

    const none = await sign('rsa', { input: b64(INPUT), prehashed: true, hash_algorithm: 'none', signature_algorithm: 'pkcs1v15' });
    expect(none.status).toBe(200);
    expect(opensslPkeyutlVerify(pem, INPUT, signatureBytes(none.body.data.signature), ['-pkeyopt', 'rsa_padding_mode:pkcs1'])).toBe(true);
    const noneVerify = await post('verify/rsa/none', {
      input: b64(INPUT),
      prehashed: true,
      signature_algorithm: 'pkcs1v15',
      signature: none.body.data.signature,
    });
    expect(noneVerify.body.data.valid).toBe(true);
  });

  it('ed25519: pure Ed25519 over the input (openssl -rawin); derived keys sign per context and return their public key', async () => {
    const s = await sign('ed', { input: b64(INPUT) });
    expect(s.body.data).toEqual({ signature: expect.stringMatching(/^vault:v1:/), key_version: 1 });
    const sig = signatureBytes(s.body.data.signature);
    expect(opensslPkeyutlVerify(publicKeys.get('ed') as string, INPUT, sig, ['-rawin'])).toBe(true);
    expect(opensslPkeyutlVerify(publicKeys.get('ed') as string, Buffer.from('tampered'), sig, ['-rawin'])).toBe(false);
    expect((await post('verify/ed', { input: b64(INPUT), signature: s.body.data.signature })).body.data.valid).toBe(true);

    const context = b64('tenant-1');
    const d = await sign('edd', { input: b64(INPUT), context });
    expect(d.status).toBe(200);
    expect(d.body.data).toEqual({ signature: expect.stringMatching(/^vault:v1:/), key_version: 1, public_key: expect.any(String) });
    const derivedPem = rawEd25519Pem(Buffer.from(d.body.data.public_key, 'base64'));
    expect(opensslPkeyutlVerify(derivedPem, INPUT, signatureBytes(d.body.data.signature), ['-rawin'])).toBe(true);
    // the same context derives the same key; the key read with the context shows it
    expect((await sign('edd', { input: b64('other'), context })).body.data.public_key).toBe(d.body.data.public_key);
    const read = await call(a, 'GET', `transit/keys/edd?context=${encodeURIComponent(context)}`, { token });
    expect(read.body.data.keys['1'].public_key).toBe(d.body.data.public_key);
    expect((await post('verify/edd', { input: b64(INPUT), context, signature: d.body.data.signature })).body.data.valid).toBe(true);
    expect((await post('verify/edd', { input: b64(INPUT), context: b64('tenant-2'), signature: d.body.data.signature })).body.data.valid).toBe(false);
    const missing =
      "error deriving key: missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key";
    expect(await sign('edd', { input: b64(INPUT) })).toMatchObject({ status: 400, body: { errors: [missing] } });
    expect(await post('verify/edd', { input: b64(INPUT), signature: d.body.data.signature })).toMatchObject({ status: 400, body: { errors: [missing] } });
    // Ed25519ph is Vault Enterprise's; CE refuses it
    expect(await sign('ed', { input: b64(INPUT), prehashed: true })).toMatchObject({
      status: 400,
      body: { errors: ['failed to parse batch item: only Pure Ed25519 signatures supported, prehashed must be false'] },
    });
    expect(await sign('ed', { input: b64(INPUT), signature_context: b64('ctx') })).toMatchObject({
      status: 400,
      body: { errors: ['failed to parse batch item: only Pure Ed25519 signatures supported, signature_context must be empty'] },
    });
    expect(await post('verify/ed/sha2-512', { input: b64(INPUT), signature: s.body.data.signature })).toMatchObject({
      status: 400,
      body: { errors: ['failed to parse item: failed to parse batch item: only Pure Ed25519 signatures supported, hash_alogithm should not be set'] },
    });
  });

  it('openssl-made signatures verify through verify/: imported public keys (ECDSA, RSA) and a BYOK-imported ed25519 key', async () => {
    const opensslDgstSign = (keyFile: string, digest: string, data: Buffer, sigopts: string[] = []): Buffer =>
      execFileSync('openssl', ['dgst', `-${digest}`, ...sigopts.flatMap((o) => ['-sigopt', o]), '-sign', keyFile, file(data)]);
    const verifyOurs = async (name: string, signature: Buffer, body: Record<string, unknown> = {}) =>
      (await post(`verify/${name}`, { input: b64(INPUT), signature: `vault:v1:${signature.toString('base64')}`, ...body })).body.data;
    for (const [type, curveName, digest, hash] of [
      ['ecdsa-p256', 'P-256', 'sha256', 'sha2-256'],
      ['ecdsa-p384', 'P-384', 'sha384', 'sha2-384'],
      ['ecdsa-p521', 'P-521', 'sha3-512', 'sha3-512'],
    ]) {
      const keyFile = file(execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curveName}`]));
      const publicPemText = execFileSync('openssl', ['pkey', '-in', keyFile, '-pubout']).toString();
      expect((await post(`keys/imported-${type}/import`, { type, public_key: publicPemText })).status).toBe(204);
      const ossl = opensslDgstSign(keyFile, digest, INPUT);
      expect(await verifyOurs(`imported-${type}`, ossl, { hash_algorithm: hash })).toEqual({ valid: true });
      expect(await verifyOurs(`imported-${type}`, ossl, { hash_algorithm: 'sha1' })).toEqual({ valid: false });
      expect(await sign(`imported-${type}`, { input: b64(INPUT) })).toMatchObject({
        status: 400,
        body: { errors: ['requested version for signing does not contain a private part'] },
      });
    }

    const rsaFile = file(execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']));
    const rsaPublic = execFileSync('openssl', ['pkey', '-in', rsaFile, '-pubout']).toString();
    expect((await post('keys/imported-rsa/import', { type: 'rsa-2048', public_key: rsaPublic })).status).toBe(204);
    const pss = opensslDgstSign(rsaFile, 'sha256', INPUT, ['rsa_padding_mode:pss', 'rsa_pss_saltlen:32']);
    expect(await verifyOurs('imported-rsa', pss)).toEqual({ valid: true });
    expect(await verifyOurs('imported-rsa', pss, { salt_length: 'hash' })).toEqual({ valid: true });
    expect(await verifyOurs('imported-rsa', pss, { salt_length: '20' })).toEqual({ valid: false });
    const pkcs1 = opensslDgstSign(rsaFile, 'sha384', INPUT);
    expect(await verifyOurs('imported-rsa', pkcs1, { signature_algorithm: 'pkcs1v15', hash_algorithm: 'sha2-384' })).toEqual({ valid: true });
    expect(await verifyOurs('imported-rsa', pkcs1, { hash_algorithm: 'sha2-384' })).toEqual({ valid: false });

    // ed25519 has no public-key import: its private key goes in wrapped (RSA-OAEP-SHA256 of an AES key, then AES key wrap with padding)
    const edFile = file(execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519']));
    const pkcs8 = execFileSync('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', edFile, '-outform', 'DER']);
    const wrapping = file((await call(a, 'GET', 'transit/wrapping_key', { token })).body.data.public_key);
    const aesKey = file(Buffer.alloc(32, 0x5a));
    const oaep = ['-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256'];
    const wrappedKey = execFileSync('openssl', ['pkeyutl', '-encrypt', '-pubin', '-inkey', wrapping, '-in', aesKey, ...oaep]);
    const wrappedTarget = execFileSync('openssl', ['enc', '-id-aes256-wrap-pad', '-K', '5a'.repeat(32), '-iv', 'A65959A6', '-in', file(pkcs8)]);
    const imported = await post('keys/imported-ed/import', { type: 'ed25519', ciphertext: b64(Buffer.concat([wrappedKey, wrappedTarget])) });
    expect(imported.status).toBe(204);
    const edSig = execFileSync('openssl', ['pkeyutl', '-sign', '-rawin', '-inkey', edFile, '-in', file(INPUT)]);
    expect(await verifyOurs('imported-ed', edSig)).toEqual({ valid: true });
    // and the other way: our signature with the imported key verifies in openssl, identical to openssl's (Ed25519 is deterministic)
    const ours = signatureBytes((await sign('imported-ed', { input: b64(INPUT) })).body.data.signature);
    expect(ours.equals(edSig)).toBe(true);
    expect(opensslPkeyutlVerify(await publicPem('imported-ed'), INPUT, ours, ['-rawin'])).toBe(true);
  });

  it('batch sign and verify keep order and reference; a bad item fails alone and the batch answers 200, as Vault’s', async () => {
    const batch = [{ input: b64('one'), reference: 'r1' }, { input: 'not base64!', reference: 'r2' }, { input: b64('three') }];
    const s = await post('sign/p256', { batch_input: batch });
    expect(s.status).toBe(200);
    expect(s.body.data.batch_results).toEqual([
      { signature: expect.stringMatching(/^vault:v1:/), key_version: 1, reference: 'r1' },
      { error: 'unable to decode input: illegal base64 data at input byte 3', key_version: 0, reference: 'r2' },
      { signature: expect.stringMatching(/^vault:v1:/), key_version: 1, reference: '' },
    ]);
    const good = await post('sign/edd', {
      batch_input: [
        { input: b64('one'), context: b64('c1'), reference: 'a' },
        { input: b64('two'), context: b64('c2'), reference: 'b' },
      ],
    });
    expect(good.status).toBe(200);
    const [one, two] = good.body.data.batch_results;
    expect(one).toEqual({ signature: expect.any(String), key_version: 1, publickey: expect.any(String), reference: 'a' });
    expect(one.publickey).not.toBe(two.publickey);
    const v = await post('verify/edd', {
      batch_input: [
        { input: b64('one'), context: b64('c1'), signature: one.signature, reference: 'a' },
        { input: b64('one'), context: b64('c2'), signature: two.signature, reference: 'b' },
        { input: b64('two'), context: b64('c2'), signature: 'vault:v9:AAAA', reference: 'c' },
      ],
    });
    expect(v.status).toBe(200);
    expect(v.body.data.batch_results).toEqual([
      { valid: true, reference: 'a' },
      { valid: false, reference: 'b' },
      { valid: false, error: 'invalid signature: version is too new', reference: 'c' },
    ]);
    expect(await post('verify/edd', { batch_input: [{ input: b64('x'), signature: one.signature }, { input: b64('x') }] })).toMatchObject({
      status: 400,
      body: { errors: ["some elements of batch_input are missing 'signature'"] },
    });
    expect(
      await post('verify/edd', {
        batch_input: [
          { input: b64('x'), signature: one.signature },
          { input: b64('x'), hmac: 'vault:v1:AA==' },
        ],
      }),
    ).toMatchObject({
      status: 400,
      body: { errors: ["elements of batch_input must all provide either 'signature', 'hmac' or 'cmac'"] },
    });
    // a JSON null is read as "" (Vault decodes items into strings): an empty input signs, a null signature has no prefix
    const nulls = await post('sign/p256', { batch_input: [{ input: null, reference: null }] });
    expect(nulls.body.data.batch_results).toEqual([{ signature: expect.stringMatching(/^vault:v1:/), key_version: 1, reference: '' }]);
    const nullSig = await post('verify/p256', { batch_input: [{ input: '', signature: nulls.body.data.batch_results[0].signature }, { signature: null }] });
    expect(nullSig.body.data.batch_results).toEqual([
      { valid: true, reference: '' },
      { valid: false, error: 'invalid signature: no prefix', reference: '' },
    ]);
    expect(await post('sign/p256', { batch_input: [] })).toMatchObject({ status: 400, body: { errors: ['missing batch input to process'] } });
  });

  it('versions: sign uses the latest or key_version within min_encryption_version; verify refuses below min_decryption_version', async () => {
    expect((await post('keys/rot', { type: 'ecdsa-p256' })).status).toBe(200);
    const v1 = (await sign('rot', { input: b64(INPUT) })).body.data.signature;
    expect((await post('keys/rot/rotate')).status).toBe(200);
    const v2 = await sign('rot', { input: b64(INPUT) });
    expect(v2.body.data).toMatchObject({ signature: expect.stringMatching(/^vault:v2:/), key_version: 2 });
    expect(opensslDgstVerify(await publicPem('rot', 2), 'sha256', INPUT, signatureBytes(v2.body.data.signature))).toBe(true);
    expect(opensslDgstVerify(await publicPem('rot', 1), 'sha256', INPUT, signatureBytes(v2.body.data.signature))).toBe(false);
    expect((await sign('rot', { input: b64(INPUT), key_version: 1 })).body.data.key_version).toBe(1);
    expect(await sign('rot', { input: b64(INPUT), key_version: 3 })).toMatchObject({
      status: 400,
      body: { errors: ['requested version for signing is higher than the latest key version'] },
    });
    expect((await post('verify/rot', { input: b64(INPUT), signature: v1 })).body.data.valid).toBe(true);
    expect((await post('keys/rot/config', { min_decryption_version: 2, min_encryption_version: 2 })).status).toBe(200);
    expect(await post('verify/rot', { input: b64(INPUT), signature: v1 })).toMatchObject({
      status: 400,
      body: { errors: ['ciphertext or signature version is disallowed by policy (too old)'] },
    });
    expect(await sign('rot', { input: b64(INPUT), key_version: 1 })).toMatchObject({
      status: 400,
      body: { errors: ['requested version for signing is less than the minimum encryption key version'] },
    });
    expect((await post('verify/rot', { input: b64(INPUT), signature: v2.body.data.signature })).body.data.valid).toBe(true);
  });

  it('signatures count against their version: auto_rotate_after_operations rotates the key after that many (issue 29)', async () => {
    expect((await post('keys/counted', { type: 'ed25519', auto_rotate_after_operations: 3 })).status).toBe(200);
    const first = (await sign('counted', { input: b64(INPUT) })).body.data.signature;
    expect((await sign('counted', { input: b64(INPUT) })).body.data.key_version).toBe(1);
    // verifications and refused signatures are not counted
    for (let i = 0; i < 3; i++) {
      expect((await post('verify/counted', { input: b64(INPUT), signature: first })).body.data.valid).toBe(true);
      expect((await sign('counted', { input: b64(INPUT), prehashed: true })).status).toBe(400);
    }
    expect((await call(a, 'GET', 'transit/keys/counted', { token })).body.data.latest_version).toBe(1);
    expect((await sign('counted', { input: b64(INPUT) })).body.data.key_version).toBe(1);
    expect((await call(a, 'GET', 'transit/keys/counted', { token })).body.data.latest_version).toBe(2);
    expect((await sign('counted', { input: b64(INPUT) })).body.data).toMatchObject({ key_version: 2, signature: expect.stringMatching(/^vault:v2:/) });
  });

  it('HMAC: vault:v<N>:base64(HMAC) with each algorithm; verify through verify/; batch; versions and bad input', async () => {
    const mac = await post('hmac/aes', { input: b64(INPUT) });
    expect(mac.status).toBe(200);
    expect(mac.body.data).toEqual({ hmac: expect.stringMatching(/^vault:v1:[A-Za-z0-9+/]+=*$/) });
    expect(signatureBytes(mac.body.data.hmac).length).toBe(32);
    const ofType = await post('hmac/mac/sha2-512', { input: b64(INPUT) });
    expect(signatureBytes(ofType.body.data.hmac).length).toBe(64);
    for (const [name, algorithm, size] of [
      ['aes', 'sha2-224', 28],
      ['p256', 'sha3-384', 48],
      ['mac', 'sha2-384', 48],
    ] as const) {
      const m = await post(`hmac/${name}`, { input: b64(INPUT), algorithm });
      expect(signatureBytes(m.body.data.hmac).length).toBe(size);
      expect((await post(`verify/${name}`, { input: b64(INPUT), hmac: m.body.data.hmac, hash_algorithm: algorithm })).body.data).toEqual({ valid: true });
      expect((await post(`verify/${name}/${algorithm}`, { input: b64('other'), hmac: m.body.data.hmac })).body.data).toEqual({ valid: false });
    }
    // Every call gives the same HMAC: a keyed hash of the input, nothing random
    expect((await post('hmac/aes/sha2-256', { input: b64(INPUT) })).body.data.hmac).toBe(mac.body.data.hmac);

    const batch = await post('hmac/aes', { batch_input: [{ input: b64('a'), reference: 'x' }, { input: '%%%' }, { reference: 'z' }] });
    expect(batch.status).toBe(200);
    expect(batch.body.data.batch_results).toEqual([
      { hmac: expect.stringMatching(/^vault:v1:/), reference: 'x' },
      { error: 'unable to decode input as base64: illegal base64 data at input byte 0', reference: '' },
      { error: 'missing input for HMAC', reference: 'z' },
    ]);
    const hmacA = batch.body.data.batch_results[0].hmac;
    const verified = await post('verify/aes', {
      batch_input: [
        { input: b64('a'), hmac: hmacA, reference: 'ok' },
        { input: b64('b'), hmac: hmacA, reference: 'no' },
      ],
    });
    expect(verified.status).toBe(200);
    // Vault's HMAC batch results omit `valid` when it is false
    expect(verified.body.data.batch_results).toEqual([{ valid: true, reference: 'ok' }, { reference: 'no' }]);

    const bad = async (body: Record<string, unknown>, message: string, path = 'verify/aes') =>
      expect(await post(path, body)).toMatchObject({ status: 400, body: { errors: [message] } });
    await bad({ input: b64('a'), hmac: 'v1:abc' }, 'invalid HMAC to verify: no prefix');
    await bad({ input: b64('a'), hmac: 'vault:v1' }, 'invalid HMAC: wrong number of fields');
    await bad({ input: b64('a'), hmac: 'vault:vX:AA==' }, 'invalid HMAC: version number could not be decoded');
    await bad({ input: b64('a'), hmac: 'vault:v1:A' }, 'unable to decode verification HMAC as base64: illegal base64 data at input byte 0');
    await bad({ input: b64('a'), hmac: 'vault:v2:AA==' }, 'invalid HMAC: version is too new');
    await bad({ input: b64('a'), hmac: hmacA, signature: 'vault:v1:AA==' }, "provide one of 'signature', 'hmac' or 'cmac'");
    await bad({ input: b64('a') }, "missing one of 'signature', 'hmac' or 'cmac' arguments to verify");
    await bad({ input: b64('a'), cmac: 'vault:v1:AA==' }, 'CMAC operations are only available in enterprise versions of Vault');
    await bad({ input: b64('a'), hmac: hmacA, hash_algorithm: 'md5' }, 'unsupported algorithm "md5"');
    await bad({ input: b64('a'), algorithm: 'none' }, 'unsupported algorithm "none"', 'hmac/aes');
    await bad({}, 'missing input for HMAC', 'hmac/aes');
    await bad({ input: b64('a') }, 'encryption key not found', 'hmac/nokey');
    await bad({ input: b64('a'), key_version: 2 }, 'key version does not exist; latest key version is 1', 'hmac/aes');

    expect((await post('keys/aes/rotate')).status).toBe(200);
    const v2 = await post('hmac/aes', { input: b64('a') });
    expect(v2.body.data.hmac).toMatch(/^vault:v2:/);
    expect(v2.body.data.hmac.split(':')[2]).not.toBe(hmacA.split(':')[2]);
    expect((await post('keys/aes/config', { min_decryption_version: 2, min_encryption_version: 2 })).status).toBe(200);
    await bad({ input: b64('a'), hmac: hmacA }, 'cannot verify HMAC: version is too old (disallowed by policy)');
    await bad({ input: b64('a'), key_version: 1 }, 'cannot generate HMAC: version is too old (disallowed by policy)', 'hmac/aes');
    expect((await post('verify/aes', { input: b64('a'), hmac: v2.body.data.hmac })).body.data.valid).toBe(true);
  });

  it("bad sign and verify input answers 400 with Vault's messages, never echoing the input", async () => {
    const bad = async (path: string, body: Record<string, unknown>, message: string) => {
      const r = await post(path, body);
      expect(r).toMatchObject({ status: 400, body: { errors: [message] } });
      expect(r.text).not.toContain('c2VjcmV0LWlucHV0');
    };
    const input = 'c2VjcmV0LWlucHV0'; // "secret-input"
    await bad('sign/nokey', { input }, 'signing key not found');
    await bad('verify/nokey', { input, signature: 'vault:v1:AA==' }, 'signature verification key not found');
    await bad('sign/aes', { input }, 'key type aes256-gcm96 does not support signing');
    await bad('verify/mac', { input, signature: 'vault:v1:AA==' }, 'key type hmac does not support signing');
    await bad('sign/p256/sha2-999', { input }, 'invalid hash algorithm "sha2-999"');
    await bad('sign/p256', { input, marshaling_algorithm: 'asn2' }, 'invalid marshaling type "asn2"');
    await bad('sign/rsa', { input, salt_length: 'max' }, "salt length neither 'auto', 'hash', nor an int: max");
    await bad('sign/rsa', { input, salt_length: '-2' }, 'salt length is invalid: -2');
    await bad('sign/rsa', { input, salt_length: '223' }, 'requested salt length 223 is invalid');
    await bad('sign/rsa', { input, hash_algorithm: 'none' }, 'hash_algorithm=none requires both prehashed=true and signature_algorithm=pkcs1v15');
    await bad('sign/rsa', { input, signature_algorithm: 'pss2' }, 'unsupported rsa signature algorithm pss2');
    await bad('sign/p256', { input: `${input}!` }, 'unable to decode input: illegal base64 data at input byte 16');
    await bad('sign/edd', { input, context: '***' }, 'failed to base64-decode context');
    await bad('sign/p256', { input, key_version: -1 }, 'requested version for signing is negative');
    await bad('verify/p256', { input: '***', signature: 'vault:v1:AA==' }, 'failed to parse item: failed to parse input: illegal base64 data at input byte 0');
    await bad('verify/p256', { input, signature: 'v1:AA==' }, 'invalid signature: no prefix');
    await bad('verify/p256', { input, signature: 'vault:v1' }, 'invalid signature: wrong number of fields');
    await bad('verify/p256', { input, signature: 'vault:vone:AA==' }, 'invalid signature: version number could not be decoded');
    await bad('verify/p256', { input, signature: 'vault:v1:%%' }, 'invalid base64 signature value');
    await bad('verify/p256', { input, signature: 'vault:v1:AAAA' }, 'supplied signature is invalid');
    const good = (await sign('p256', { input })).body.data.signature as string;
    const extra = Buffer.concat([signatureBytes(good), Buffer.from([0])]).toString('base64');
    await bad('verify/p256', { input, signature: `vault:v1:${extra}` }, 'supplied signature contains extra data');
  });
});
