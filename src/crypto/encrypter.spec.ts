import { constants, createDecipheriv, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { IntegrityError } from './aead';
import { GCM_IV_BYTES, GCM_TAG_BYTES, oaepMaxPlaintextBytes, softwareAesGcmEncrypter, softwareRsaOaepEncrypter } from './encrypter';

describe('softwareAesGcmEncrypter', () => {
  const key = randomBytes(32);
  const enc = softwareAesGcmEncrypter(key);

  it('needs a 32-byte key', () => {
    expect(enc.algorithm).toBe('aes-256-gcm');
    expect(enc.publicKey).toBeUndefined();
    expect(() => softwareAesGcmEncrypter(randomBytes(16))).toThrow(/32 bytes/);
    expect(() => softwareAesGcmEncrypter('k'.repeat(32) as unknown as Buffer)).toThrow(/32 bytes/);
  });

  it('round-trips, with and without AAD, empty plaintext included', async () => {
    for (const plaintext of [Buffer.alloc(0), Buffer.from('x'), randomBytes(1000)]) {
      expect(await enc.decrypt(await enc.encrypt(plaintext))).toEqual(plaintext);
      const aad = Buffer.from('transit/keys/k1 v1');
      expect(await enc.decrypt(await enc.encrypt(plaintext, aad), aad)).toEqual(plaintext);
    }
  });

  it('writes iv (12) ‖ ciphertext ‖ tag (16), a fresh IV each time, readable with node directly', async () => {
    const plaintext = Buffer.from('the layout of Pkcs11Token.encryptAesGcm');
    const aad = Buffer.from('ctx');
    const a = await enc.encrypt(plaintext, aad);
    const b = await enc.encrypt(plaintext, aad);
    expect(a.length).toBe(GCM_IV_BYTES + plaintext.length + GCM_TAG_BYTES);
    expect(a.subarray(0, GCM_IV_BYTES)).not.toEqual(b.subarray(0, GCM_IV_BYTES));
    const decipher = createDecipheriv('aes-256-gcm', key, a.subarray(0, GCM_IV_BYTES), { authTagLength: GCM_TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(a.subarray(a.length - GCM_TAG_BYTES));
    expect(Buffer.concat([decipher.update(a.subarray(GCM_IV_BYTES, a.length - GCM_TAG_BYTES)), decipher.final()])).toEqual(plaintext);
  });

  it('binds the AAD: another AAD, or none, fails; an empty AAD is the same as none', async () => {
    const plaintext = Buffer.from('bound');
    const sealed = await enc.encrypt(plaintext, Buffer.from('context-a'));
    await expect(enc.decrypt(sealed, Buffer.from('context-b'))).rejects.toThrow(IntegrityError);
    await expect(enc.decrypt(sealed)).rejects.toThrow(/did not authenticate/);
    expect(await enc.decrypt(await enc.encrypt(plaintext), Buffer.alloc(0))).toEqual(plaintext);
  });

  it('refuses any changed byte, a truncated blob and another key with IntegrityError', async () => {
    const sealed = await enc.encrypt(Buffer.from('tamper me'));
    for (let i = 0; i < sealed.length; i++) {
      const changed = Buffer.from(sealed);
      changed[i] ^= 0x01;
      await expect(enc.decrypt(changed)).rejects.toThrow(IntegrityError);
    }
    await expect(enc.decrypt(sealed.subarray(0, GCM_IV_BYTES + GCM_TAG_BYTES - 1))).rejects.toThrow(/shorter than IV and tag/);
    await expect(softwareAesGcmEncrypter(randomBytes(32)).decrypt(sealed)).rejects.toThrow(IntegrityError);
  });

  it('keeps its own copy of the key', async () => {
    const mutable = randomBytes(32);
    const own = softwareAesGcmEncrypter(mutable);
    const sealed = await own.encrypt(Buffer.from('copy'));
    mutable.fill(0);
    expect(await own.decrypt(sealed)).toEqual(Buffer.from('copy'));
  });
});

describe('softwareRsaOaepEncrypter', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

  it.each(['sha1', 'sha256', 'sha512'] as const)('with %s: encrypts with the public key only, decrypts with the private key', async (hash) => {
    const sender = softwareRsaOaepEncrypter({ publicKey }, hash);
    const receiver = softwareRsaOaepEncrypter({ privateKey, publicKey }, hash);
    expect(sender.algorithm).toBe('rsa-oaep');
    expect(sender.publicKey).toBe(publicKey);
    const plaintext = randomBytes(32);
    const sealed = await sender.encrypt(plaintext);
    expect(sealed.length).toBe(256);
    expect(await receiver.decrypt(sealed)).toEqual(plaintext);
    await expect(sender.decrypt(sealed)).rejects.toThrow(/needs the private key/);
    // The standard OAEP block: node's own functions with the same hash agree both ways.
    expect(privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, sealed)).toEqual(plaintext);
    const theirs = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, plaintext);
    expect(await receiver.decrypt(theirs)).toEqual(plaintext);
  });

  it('refuses AAD, with a message saying so; an empty AAD is none', async () => {
    const enc = softwareRsaOaepEncrypter({ privateKey, publicKey }, 'sha256');
    await expect(enc.encrypt(Buffer.from('x'), Buffer.from('ctx'))).rejects.toThrow(/RSA-OAEP takes no additional authenticated data/);
    const sealed = await enc.encrypt(Buffer.from('x'), Buffer.alloc(0));
    await expect(enc.decrypt(sealed, Buffer.from('ctx'))).rejects.toThrow(TypeError);
    expect(await enc.decrypt(sealed, Buffer.alloc(0))).toEqual(Buffer.from('x'));
  });

  it('refuses a tampered ciphertext, another hash and another key with IntegrityError', async () => {
    const enc = softwareRsaOaepEncrypter({ privateKey, publicKey }, 'sha256');
    const sealed = await enc.encrypt(Buffer.from('secret'));
    const changed = Buffer.from(sealed);
    changed[100] ^= 0x01;
    await expect(enc.decrypt(changed)).rejects.toThrow(IntegrityError);
    await expect(softwareRsaOaepEncrypter({ privateKey, publicKey }, 'sha1').decrypt(sealed)).rejects.toThrow(/RSA-OAEP-sha1 ciphertext does not decrypt/);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expect(softwareRsaOaepEncrypter(other, 'sha256').decrypt(sealed)).rejects.toThrow(IntegrityError);
  });

  it('takes at most modulus − 2·hash − 2 bytes, and says so', async () => {
    const enc = softwareRsaOaepEncrypter({ privateKey, publicKey }, 'sha256');
    expect(oaepMaxPlaintextBytes(publicKey, 'sha256')).toBe(256 - 64 - 2);
    expect(oaepMaxPlaintextBytes(publicKey, 'sha1')).toBe(256 - 40 - 2);
    const max = randomBytes(190);
    expect(await enc.decrypt(await enc.encrypt(max))).toEqual(max);
    await expect(enc.encrypt(randomBytes(191))).rejects.toThrow('the plaintext is 191 bytes; RSA-OAEP-sha256 with this key takes at most 190');
  });

  it('checks its keys and hash when made', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() => softwareRsaOaepEncrypter({ publicKey: ec.publicKey }, 'sha256')).toThrow(/RSA public key/);
    expect(() => softwareRsaOaepEncrypter({ publicKey: privateKey }, 'sha256')).toThrow(/RSA public key/);
    expect(() => softwareRsaOaepEncrypter({ privateKey: publicKey, publicKey }, 'sha256')).toThrow(/RSA private key/);
    expect(() => softwareRsaOaepEncrypter({ privateKey: other.privateKey, publicKey }, 'sha256')).toThrow(/not the one of the public key/);
    expect(() => softwareRsaOaepEncrypter({ publicKey }, 'md5' as 'sha1')).toThrow(/md5 is not supported/);
  });
});
