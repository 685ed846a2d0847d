/**
 * The PKCS#11 layer (src/hsm) against SoftHSM2: keys, AES-GCM and RSA-OAEP on the token, the errors
 * an operator meets, and recovery after the token went away. No database.
 *
 * All tokens live in one SoftHSM directory whose conf is set before the first open: SoftHSM reads
 * SOFTHSM2_CONF at C_Initialize, and Cryptoki is initialised once per process.
 */
import { constants, publicEncrypt } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { HsmError, type HsmErrorKind } from '../../src/hsm/hsm-error';
import { Pkcs11Token, type Pkcs11KeyRef } from '../../src/hsm/pkcs11-token';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, useSoftHsmConf, type SoftHsmToken } from '../support/softhsm';

const PIN = 'user-pin-4711';
const OTHER_PIN = 'user-pin-0815';
const SO_PIN = 'so-pin-9999';

async function hsmError(promise: Promise<unknown>): Promise<HsmError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof HsmError) return err;
    throw err;
  }
  throw new Error('expected an HsmError, but the call succeeded');
}

async function expectHsmError(promise: Promise<unknown>, kind: HsmErrorKind, message?: RegExp): Promise<HsmError> {
  const err = await hsmError(promise);
  expect({ kind: err.kind, message: err.message }).toEqual({ kind, message: message ? expect.stringMatching(message) : expect.any(String) });
  expect(err.message).not.toContain('\n');
  return err;
}

describeWithSoftHsm('Pkcs11Token on SoftHSM2', () => {
  let a: SoftHsmToken;
  let b: SoftHsmToken;
  const opened: Pkcs11Token[] = [];
  const token = (options: Partial<ConstructorParameters<typeof Pkcs11Token>[0]> = {}): Pkcs11Token => {
    const t = new Pkcs11Token({ lib: SOFTHSM_LIB, pin: PIN, ...(options.slot === undefined ? { tokenLabel: 'hsm-a' } : {}), ...options });
    opened.push(t);
    return t;
  };

  beforeAll(() => {
    a = createSoftHsmToken({ label: 'hsm-a', pin: PIN, soPin: SO_PIN });
    b = createSoftHsmToken({ label: 'hsm-b', pin: OTHER_PIN, soPin: SO_PIN, dir: a.dir });
    useSoftHsmConf(a.conf);
  });

  afterAll(async () => {
    for (const t of opened) await t.close();
    b?.cleanup();
    a?.cleanup();
  });

  describe('AES-256-GCM', () => {
    let t: Pkcs11Token;
    let key: Pkcs11KeyRef;

    beforeAll(async () => {
      t = token();
      await t.open();
      await t.open(); // idempotent
      key = await t.generateAesKey('seal-aes', Buffer.from('a1b2c3d4', 'hex'));
    });

    it('finds the key by label and by id', async () => {
      expect(await t.findKey({ label: 'seal-aes' })).toEqual({ class: 'secret', label: 'seal-aes', id: Buffer.from('a1b2c3d4', 'hex') });
      expect(await t.findKey({ id: Buffer.from('a1b2c3d4', 'hex') })).toEqual({ class: 'secret', label: 'seal-aes', id: Buffer.from('a1b2c3d4', 'hex') });
      expect(await t.findKey({ label: 'seal-aes', id: Buffer.from('00000000', 'hex') })).toBeUndefined();
      expect(await t.findKey({ label: 'no-such-key' })).toBeUndefined();
    });

    it('keeps the key on the token: sensitive and not extractable', async () => {
      expect(await t.keyInfo(key)).toEqual({
        label: 'seal-aes',
        id: Buffer.from('a1b2c3d4', 'hex'),
        keyType: 'aes',
        sensitive: true,
        extractable: false,
        bits: 256,
      });
    });

    it('gives a generated key a random 4-byte id, and refuses a label or id already taken', async () => {
      const other = await t.generateAesKey('other-aes');
      expect(other.id).toHaveLength(4);
      await expectHsmError(t.generateAesKey('seal-aes'), 'key-ambiguous', /already holds a key 'seal-aes'/);
      await expectHsmError(t.generateAesKey('third-aes', Buffer.from('a1b2c3d4', 'hex')), 'key-ambiguous', /id a1b2c3d4/);
    });

    it('round-trips with and without AAD: iv(12) ‖ ciphertext ‖ tag(16), a fresh IV each time', async () => {
      const plaintext = Buffer.from('root key material, 32 bytes long');
      const sealed = await t.encryptAesGcm(key, plaintext);
      expect(sealed).toHaveLength(12 + plaintext.length + 16);
      expect(await t.decryptAesGcm(key, sealed)).toEqual(plaintext);
      const again = await t.encryptAesGcm(key, plaintext);
      expect(again.subarray(0, 12)).not.toEqual(sealed.subarray(0, 12));

      const aad = Buffer.from('seal/v1');
      const bound = await t.encryptAesGcm(key, plaintext, aad);
      expect(await t.decryptAesGcm(key, bound, aad)).toEqual(plaintext);
      // pkcs11js passes an empty Buffer as NULL, which SoftHSM refuses (CKR_ARGUMENTS_BAD): refused before the token.
      await expectHsmError(t.encryptAesGcm(key, Buffer.alloc(0)), 'operation', /the plaintext is empty/);
    });

    it('refuses tampered ciphertext, a wrong or missing AAD and a truncated blob', async () => {
      const aad = Buffer.from('seal/v1');
      const sealed = await t.encryptAesGcm(key, Buffer.from('secret'), aad);
      for (const i of [0, 12, sealed.length - 1]) {
        const tampered = Buffer.from(sealed);
        tampered[i] ^= 1;
        await expectHsmError(
          t.decryptAesGcm(key, tampered, aad),
          'operation',
          /AES-GCM decryption with key 'seal-aes' \(id a1b2c3d4\) on token 'hsm-a'.*did not authenticate/,
        );
      }
      await expectHsmError(t.decryptAesGcm(key, sealed, Buffer.from('seal/v2')), 'operation', /did not authenticate/);
      await expectHsmError(t.decryptAesGcm(key, sealed), 'operation', /did not authenticate/);
      await expectHsmError(t.decryptAesGcm(key, sealed.subarray(0, 27), aad), 'operation', /shorter than IV and tag/);
      // The session is still usable after the failures.
      expect(await t.decryptAesGcm(key, sealed, aad)).toEqual(Buffer.from('secret'));
    });

    it('refuses RSA-OAEP with an AES key', async () => {
      await expectHsmError(t.encryptRsaOaep(key, Buffer.from('x'), 'sha1'), 'mechanism', /is a secret key: RSA-OAEP needs an RSA key/);
    });
  });

  describe('RSA-2048 with OAEP', () => {
    let t: Pkcs11Token;
    let key: Pkcs11KeyRef;

    beforeAll(async () => {
      t = token();
      await t.open();
      key = await t.generateRsaKeyPair('seal-rsa', 2048);
    });

    it('finds the private key, sensitive and not extractable', async () => {
      expect(await t.findKey({ label: 'seal-rsa' })).toEqual({ class: 'rsa', label: 'seal-rsa', id: key.id });
      expect(await t.keyInfo(key)).toEqual({ label: 'seal-rsa', id: key.id, keyType: 'rsa', sensitive: true, extractable: false, bits: 2048 });
    });

    it('round-trips OAEP with SHA-1 on the token, and from software encryption with its public key', async () => {
      const secret = Buffer.from('a 32-byte key to be wrapped.....');
      const encrypted = await t.encryptRsaOaep(key, secret, 'sha1');
      expect(encrypted).toHaveLength(256);
      expect(await t.decryptRsaOaep(key, encrypted, 'sha1')).toEqual(secret);
      const pub = await t.rsaPublicKey(key);
      const soft = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, secret);
      expect(await t.decryptRsaOaep(key, soft, 'sha1')).toEqual(secret);
      const broken = Buffer.from(encrypted);
      broken[10] ^= 1;
      await expectHsmError(t.decryptRsaOaep(key, broken, 'sha1'), 'operation', /does not decrypt/);
    });

    it('reports OAEP with SHA-256 as unsupported: SoftHSM 2.6.1 implements OAEP with SHA-1 only (CKR_ARGUMENTS_BAD, SoftHSMv2 #474)', async () => {
      const err = await expectHsmError(t.encryptRsaOaep(key, Buffer.from('x'), 'sha256'), 'mechanism', /does not support RSA-OAEP with sha256 and MGF1-sha256/);
      expect(err.code).toBe('CKR_ARGUMENTS_BAD');
      await expectHsmError(t.decryptRsaOaep(key, Buffer.alloc(256), 'sha256'), 'mechanism', /RSA-OAEP-sha256 decryption with key 'seal-rsa'/);
    });

    it('refuses AES-GCM with an RSA key', async () => {
      await expectHsmError(t.encryptAesGcm(key, Buffer.from('x')), 'mechanism', /is an RSA key: AES-GCM needs an AES key/);
    });

    it('says a label shared by an AES and an RSA key is ambiguous', async () => {
      await t.generateAesKey('shared-label');
      await expectHsmError(t.generateRsaKeyPair('shared-label', 2048), 'key-ambiguous');
    });
  });

  describe('configuration errors', () => {
    it('wrong PIN: pin-incorrect, the message without the PIN', async () => {
      const wrong = 'wrong-pin-31337';
      // hsm-b is not logged in by this process: the token itself refuses the PIN.
      const err = await expectHsmError(
        token({ tokenLabel: 'hsm-b', pin: wrong }).open(),
        'pin-incorrect',
        /login to token 'hsm-b' \(slot \d+\).*CKR_PIN_INCORRECT/,
      );
      expect(err.message).not.toContain(wrong);
      expect(err.stack).not.toContain(wrong);
      // hsm-a is logged in (other tests): the token answers CKR_USER_ALREADY_LOGGED_IN without checking the PIN, the layer does.
      const a2 = token({ pin: wrong });
      const err2 = await expectHsmError(a2.open(), 'pin-incorrect', /already logged in by this process with another PIN/);
      expect(err2.message).not.toContain(wrong);
      const right = token({ tokenLabel: 'hsm-b', pin: OTHER_PIN });
      await right.open();
      expect(await right.health()).toEqual({ ok: true });
      await right.close();
    });

    it('unknown token label, unknown slot: token-absent', async () => {
      await expectHsmError(token({ tokenLabel: 'no-such-token' }).open(), 'token-absent', /no token labelled 'no-such-token' in .*tokens present: .*'hsm-a'/);
      await expectHsmError(token({ slot: 123456789n }).open(), 'token-absent', /no slot 123456789/);
    });

    it('a token chosen by its slot id works like one chosen by label', async () => {
      const bySlot = token({ slot: a.slot });
      await bySlot.open();
      expect(bySlot.name).toBe(`token 'hsm-a' in slot ${a.slot} of ${SOFTHSM_LIB}`);
      const key = await bySlot.findKey({ label: 'seal-aes' });
      expect(key).toBeDefined();
      expect(await bySlot.decryptAesGcm(key!, await bySlot.encryptAesGcm(key!, Buffer.from('x')))).toEqual(Buffer.from('x'));
    });

    it('missing library: library', async () => {
      await expectHsmError(
        token({ lib: '/nonexistent/libpkcs11.so' }).open(),
        'library',
        /cannot load the PKCS#11 library \/nonexistent\/libpkcs11\.so: .*No such file/,
      );
    });

    it('shows the PIN neither in inspection nor in JSON', async () => {
      const t = token();
      await t.open();
      expect(inspect(t, { depth: 10, showHidden: true })).not.toContain(PIN);
      expect(JSON.stringify(t, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(PIN);
    });

    it('rejects options naming both or neither slot and label', () => {
      expect(() => new Pkcs11Token({ lib: SOFTHSM_LIB, pin: PIN })).toThrow(/exactly one of slot and tokenLabel/);
      expect(() => new Pkcs11Token({ lib: SOFTHSM_LIB, pin: PIN, slot: 1n, tokenLabel: 'x' })).toThrow(/exactly one of slot and tokenLabel/);
    });

    it('operations on a token that is not open: not-logged-in', async () => {
      const t = token();
      await expectHsmError(t.findKey({ label: 'seal-aes' }), 'not-logged-in', /is not open/);
      expect(await t.health()).toEqual({ ok: false, error: expect.objectContaining({ kind: 'not-logged-in' }) });
    });
  });

  describe('tokens sharing the library', () => {
    it('share one initialisation: both work, closing or reopening one does not break the other', async () => {
      const one = token();
      const two = token({ tokenLabel: 'hsm-b', pin: OTHER_PIN });
      const three = token();
      await one.open();
      await two.open();
      await three.open();
      const k1 = (await one.findKey({ label: 'seal-aes' }))!;
      const k2 = await two.generateAesKey('b-aes');
      const k3 = (await three.findKey({ label: 'seal-aes' }))!;
      await three.close();
      expect(await one.decryptAesGcm(k1, await one.encryptAesGcm(k1, Buffer.from('one')))).toEqual(Buffer.from('one'));
      await one.close();
      expect(await two.decryptAesGcm(k2, await two.encryptAesGcm(k2, Buffer.from('two')))).toEqual(Buffer.from('two'));
      await one.open();
      await three.open();
      // Reinitialising the library under `two` makes every session stale: the others open new ones.
      await two.reopen();
      expect(await one.decryptAesGcm(k1, await three.encryptAesGcm(k3, Buffer.from('three')))).toEqual(Buffer.from('three'));
      expect(await two.decryptAesGcm(k2, await two.encryptAesGcm(k2, Buffer.from('two')))).toEqual(Buffer.from('two'));
      expect(await one.health(k1)).toEqual({ ok: true });
      await Promise.all([one.close(), two.close(), three.close()]);
    });
  });

  // Last: moves every token of the directory away and back.
  describe('outage', () => {
    it('fails with HsmError while the token directory is gone, and works again after reopen()', async () => {
      const t = token();
      await t.open();
      const key = (await t.findKey({ label: 'seal-aes' }))!;
      const sealed = await t.encryptAesGcm(key, Buffer.from('before'));
      expect(await t.health(key)).toEqual({ ok: true });

      const tokens = join(a.dir, 'tokens');
      renameSync(tokens, `${tokens}.away`);
      try {
        await expectHsmError(t.encryptAesGcm(key, Buffer.from('x')), 'token-absent', /'hsm-a'/);
        await expectHsmError(t.decryptAesGcm(key, sealed), 'token-absent');
        const health = await t.health(key);
        expect(health).toEqual({ ok: false, error: expect.any(HsmError) });
        expect(!health.ok && health.error.kind).toBe('token-absent');
      } finally {
        renameSync(`${tokens}.away`, tokens);
      }
      expect(existsSync(tokens)).toBe(true);
      // SoftHSM does not see the token again until the library is reinitialised.
      expect(await t.health(key)).toEqual({ ok: false, error: expect.any(HsmError) });
      await expectHsmError(t.encryptAesGcm(key, Buffer.from('x')), 'token-absent');
      await t.reopen();
      expect(await t.health(key)).toEqual({ ok: true });
      expect(await t.decryptAesGcm(key, sealed)).toEqual(Buffer.from('before'));
      expect(await t.decryptAesGcm(key, await t.encryptAesGcm(key, Buffer.from('after')))).toEqual(Buffer.from('after'));
    });
  });
});
