/**
 * Encryption with keys on a PKCS#11 token (src/hsm/pkcs11-encrypter.ts) against SoftHSM2: the
 * token's Encrypter writes the software encrypters' formats (AES-GCM's iv ‖ ciphertext ‖ tag; the
 * standard OAEP block: the token opens what software encrypted with its public key), binds AAD, and
 * fails on tampering with HsmError. Neither an AES key nor an RSA private key leaves the token, so the
 * token's output is compared with software's by layout and size, not by decrypting in software. SoftHSM 2.6 implements OAEP with SHA-1 only. No database.
 */
import { randomBytes } from 'node:crypto';
import { GCM_IV_BYTES, GCM_TAG_BYTES, IntegrityError, softwareAesGcmEncrypter, softwareRsaOaepEncrypter, type Encrypter } from '../../src/crypto/encrypter';
import { HsmError } from '../../src/hsm/hsm-error';
import { pkcs11Encrypter } from '../../src/hsm/pkcs11-encrypter';
import { Pkcs11Token, type Pkcs11KeyRef } from '../../src/hsm/pkcs11-token';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, useSoftHsmConf, type SoftHsmToken } from '../support/softhsm';

const PIN = 'encrypter-pin-1234';
const SO_PIN = 'encrypter-so-5678';

async function expectHsmError(promise: Promise<unknown>, kind: HsmError['kind'], message: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HsmError);
  expect(err).toMatchObject({ kind, message: expect.stringMatching(message) });
  expect((err as Error).message).not.toContain(PIN);
  expect((err as Error).message).not.toContain('\n');
}

describeWithSoftHsm('Encrypter over PKCS#11 keys on SoftHSM2', () => {
  let hsm: SoftHsmToken;
  let token: Pkcs11Token;

  beforeAll(async () => {
    hsm = createSoftHsmToken({ label: 'hsm-encrypter', pin: PIN, soPin: SO_PIN });
    useSoftHsmConf(hsm.conf);
    token = new Pkcs11Token({ lib: SOFTHSM_LIB, tokenLabel: 'hsm-encrypter', pin: PIN });
    await token.open();
  });

  afterAll(async () => {
    await token?.close();
    hsm?.cleanup();
  });

  describe('AES-256-GCM', () => {
    let ref: Pkcs11KeyRef;
    let enc: Encrypter;

    beforeAll(async () => {
      ref = await token.generateAesKey('transit-aes');
      enc = await pkcs11Encrypter(token, ref);
    });

    it('encrypts on the token and decrypts with the same key, with and without AAD', async () => {
      expect(enc.algorithm).toBe('aes-256-gcm');
      expect(enc.publicKey).toBeUndefined();
      const plaintext = randomBytes(100);
      expect(await enc.decrypt(await enc.encrypt(plaintext))).toEqual(plaintext);
      const aad = Buffer.from('transit/keys/k1 v1');
      expect(await enc.decrypt(await enc.encrypt(plaintext, aad), aad)).toEqual(plaintext);
      // A second encrypter over the key found again by label opens the first one's output.
      const again = await pkcs11Encrypter(token, (await token.findKey({ label: 'transit-aes' }))!);
      expect(await again.decrypt(await enc.encrypt(plaintext, aad), aad)).toEqual(plaintext);
    });

    it('writes the software layout: iv (12) ‖ ciphertext ‖ tag (16), a fresh IV each time', async () => {
      const software = softwareAesGcmEncrypter(randomBytes(32));
      for (const length of [1, 16, 17, 1000]) {
        const plaintext = randomBytes(length);
        const fromToken = await enc.encrypt(plaintext);
        const fromSoftware = await software.encrypt(plaintext);
        expect(fromToken.length).toBe(GCM_IV_BYTES + length + GCM_TAG_BYTES);
        expect(fromToken.length).toBe(fromSoftware.length);
      }
      const a = await enc.encrypt(Buffer.from('same'));
      const b = await enc.encrypt(Buffer.from('same'));
      expect(a.subarray(0, GCM_IV_BYTES)).not.toEqual(b.subarray(0, GCM_IV_BYTES));
      // The layouts are parsed alike: a token ciphertext given to a software key fails authentication, not parsing.
      await expect(software.decrypt(a)).rejects.toThrow(IntegrityError);
    });

    it('fails with HsmError on a changed IV, body or tag, another AAD, or a truncated blob', async () => {
      const aad = Buffer.from('context-a');
      const sealed = await enc.encrypt(Buffer.from('tamper me'), aad);
      for (const i of [0, GCM_IV_BYTES - 1, GCM_IV_BYTES, sealed.length - GCM_TAG_BYTES - 1, sealed.length - GCM_TAG_BYTES, sealed.length - 1]) {
        const changed = Buffer.from(sealed);
        changed[i] ^= 0x01;
        await expectHsmError(enc.decrypt(changed, aad), 'operation', /did not authenticate/);
      }
      await expectHsmError(enc.decrypt(sealed, Buffer.from('context-b')), 'operation', /did not authenticate/);
      await expectHsmError(enc.decrypt(sealed), 'operation', /did not authenticate/);
      await expectHsmError(enc.decrypt(sealed.subarray(0, GCM_IV_BYTES + GCM_TAG_BYTES - 1), aad), 'operation', /shorter than IV and tag/);
      expect(await enc.decrypt(sealed, aad)).toEqual(Buffer.from('tamper me'));
    });

    it('refuses an empty plaintext and a hash, with one-line HsmErrors', async () => {
      await expectHsmError(enc.encrypt(Buffer.alloc(0)), 'operation', /the plaintext is empty/);
      await expectHsmError(pkcs11Encrypter(token, ref, { hash: 'sha1' }), 'mechanism', /is an AES key: a hash applies to RSA-OAEP only/);
    });
  });

  describe('RSA-2048 with OAEP-SHA-1', () => {
    let ref: Pkcs11KeyRef;
    let enc: Encrypter;

    beforeAll(async () => {
      ref = await token.generateRsaKeyPair('transit-rsa', 2048);
      enc = await pkcs11Encrypter(token, ref, { hash: 'sha1' });
    });

    it('round-trips on the token; its publicKey is the token public key', async () => {
      expect(enc.algorithm).toBe('rsa-oaep');
      expect(enc.publicKey!.equals(await token.rsaPublicKey(ref))).toBe(true);
      const plaintext = randomBytes(32);
      const sealed = await enc.encrypt(plaintext);
      expect(sealed.length).toBe(256);
      expect(await enc.decrypt(sealed)).toEqual(plaintext);
    });

    it('decrypts on the token what software encrypted with the token public key', async () => {
      const software = softwareRsaOaepEncrypter({ publicKey: await token.publicKey(ref) }, 'sha1');
      const plaintext = randomBytes(64);
      expect(await enc.decrypt(await software.encrypt(plaintext))).toEqual(plaintext);
    });

    it('encrypts on the token the block software makes with the same public key (the private key stays on the token)', async () => {
      // Software cannot open the token's output (no private key leaves the token, nor can one be
      // imported), so the token-made block is checked by size and by the token decrypting both kinds.
      const software = softwareRsaOaepEncrypter({ publicKey: enc.publicKey! }, 'sha1');
      const plaintext = randomBytes(64);
      const fromToken = await enc.encrypt(plaintext);
      const fromSoftware = await software.encrypt(plaintext);
      expect(fromToken.length).toBe(fromSoftware.length);
      expect(fromToken).not.toEqual(fromSoftware);
      expect(await enc.decrypt(fromToken)).toEqual(plaintext);
      expect(await enc.decrypt(fromSoftware)).toEqual(plaintext);
      await expect(software.decrypt(fromToken)).rejects.toThrow(/needs the private key/);
    });

    it('refuses AAD, a too long plaintext and a tampered ciphertext with HsmError', async () => {
      await expectHsmError(enc.encrypt(Buffer.from('x'), Buffer.from('ctx')), 'mechanism', /RSA-OAEP takes no additional authenticated data/);
      await expectHsmError(enc.decrypt(Buffer.alloc(256), Buffer.from('ctx')), 'mechanism', /RSA-OAEP decryption with key 'transit-rsa'.*no additional/);
      await expectHsmError(enc.encrypt(randomBytes(215)), 'operation', /the plaintext is 215 bytes; RSA-OAEP-sha1 with this key takes at most 214/);
      const maximal = randomBytes(214);
      expect(await enc.decrypt(await enc.encrypt(maximal))).toEqual(maximal);
      const sealed = await enc.encrypt(Buffer.from('secret'));
      sealed[10] ^= 0x01;
      await expectHsmError(enc.decrypt(sealed), 'operation', /does not decrypt/);
    });

    it('defaults to sha256, which SoftHSM 2.6 reports as unsupported', async () => {
      const sha256 = await pkcs11Encrypter(token, ref);
      await expectHsmError(sha256.encrypt(Buffer.from('x')), 'mechanism', /does not support RSA-OAEP with sha256/);
    });
  });

  it('refuses an EC key', async () => {
    const ec = await token.generateEcKeyPair('not-for-encryption', 'P-256');
    await expectHsmError(pkcs11Encrypter(token, ec), 'mechanism', /is an EC key: encryption needs an AES secret key or an RSA key/);
  });
});
