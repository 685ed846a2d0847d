import { constants, generateKeyPairSync, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OpensslWorkspace } from '../../../test/support/x509-openssl';
import {
  WRAPPED_EPHEMERAL_KEY_BYTES,
  importHash,
  importedKeyVersion,
  importedPublicKeyVersion,
  isKeyPairOf,
  kwpUnwrap,
  kwpWrap,
  unwrapImportCiphertext,
  wrapForImport,
} from './byok';
import { ed25519FromSeed } from './key-types';
import { TransitCryptoError } from './symmetric';

const pkcs8 = (k: KeyObject) => k.export({ format: 'der', type: 'pkcs8' });

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TransitCryptoError);
    return e as Error;
  }
  throw new Error('expected a TransitCryptoError');
}

describe('kwpWrap / kwpUnwrap (RFC 5649)', () => {
  // RFC 5649 section 6, "Padded Key Wrap" with a 192-bit KEK.
  const kek = Buffer.from('5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8', 'hex');
  const key = Buffer.from('c37b7e6492584340bed12207808941155068f738', 'hex');
  const wrapped = Buffer.from('138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a', 'hex');

  it("matches RFC 5649's test vector both ways", () => {
    expect(kwpWrap(kek, key).toString('hex')).toBe(wrapped.toString('hex'));
    expect(kwpUnwrap(kek, wrapped).toString('hex')).toBe(key.toString('hex'));
  });

  it("refuses what tink's KWP refuses, with its messages", () => {
    expect(thrown(() => kwpWrap(kek, Buffer.from('466f7250617369', 'hex'))).message).toBe('kwp: key size to wrap too small');
    expect(thrown(() => kwpUnwrap(kek, wrapped.subarray(0, 16))).message).toBe('kwp: wrapped key size too small');
    expect(thrown(() => kwpUnwrap(kek, Buffer.concat([wrapped, Buffer.alloc(4)]))).message).toBe('kwp: wrapped key size must be a multiple of 8 bytes');
    const tampered = Buffer.from(wrapped);
    tampered[5] ^= 1;
    expect(thrown(() => kwpUnwrap(kek, tampered)).message).toBe('kwp: unwrap failed integrity check');
  });
});

describe('unwrapImportCiphertext', () => {
  const { privateKey: wrappingKey, publicKey: wrappingPublic } = generateKeyPairSync('rsa', { modulusLength: 4096 });
  const ws = new OpensslWorkspace();
  afterAll(() => ws.dispose());

  /** Vault's documented wrapping, done by the openssl CLI alone (pkeyutl OAEP, enc -id-aes256-wrap-pad). */
  function opensslWrap(target: Buffer, digest: string): Buffer {
    const ephemeral = randomBytes(32);
    ws.file('wrapping.pem', wrappingPublic.export({ format: 'pem', type: 'spki' }));
    ws.file('ephemeral.bin', ephemeral);
    ws.file('target.bin', target);
    ws.ok(['pkeyutl', '-encrypt', '-pubin', '-inkey', 'wrapping.pem', '-in', 'ephemeral.bin', '-out', 'ephemeral.enc',
      '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${digest}`, '-pkeyopt', `rsa_mgf1_md:${digest}`]); // prettier-ignore
    ws.ok(['enc', '-id-aes256-wrap-pad', '-K', ephemeral.toString('hex'), '-iv', 'A65959A6', '-in', 'target.bin', '-out', 'target.enc']);
    return Buffer.concat([readFileSync(ws.path('ephemeral.enc')), readFileSync(ws.path('target.enc'))]);
  }

  it.each(['SHA1', 'SHA224', 'SHA256', 'SHA384', 'SHA512'])('opens what openssl wrapped with OAEP %s', (name) => {
    const target = randomBytes(32);
    const ciphertext = opensslWrap(target, name.toLowerCase());
    expect(unwrapImportCiphertext(wrappingKey, ciphertext, importHash(name)).equals(target)).toBe(true);
  });

  it('opens a PKCS#8 key wrapped by wrapForImport (its own inverse)', () => {
    const target = pkcs8(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey);
    expect(unwrapImportCiphertext(wrappingKey, wrapForImport(wrappingPublic, target), 'sha256').equals(target)).toBe(true);
  });

  it("refuses with Vault's messages: short, wrong hash, tampered, not 32 bytes", () => {
    const ciphertext = wrapForImport(wrappingPublic, randomBytes(32), 'sha256');
    expect(thrown(() => unwrapImportCiphertext(wrappingKey, ciphertext.subarray(0, WRAPPED_EPHEMERAL_KEY_BYTES), 'sha256')).message).toBe(
      'provided ciphertext is too short',
    );
    expect(thrown(() => unwrapImportCiphertext(wrappingKey, ciphertext, 'sha1')).message).toBe('crypto/rsa: decryption error');
    const tampered = Buffer.from(ciphertext);
    tampered[tampered.length - 1] ^= 1;
    expect(thrown(() => unwrapImportCiphertext(wrappingKey, tampered, 'sha256')).message).toBe('kwp: unwrap failed integrity check');
    const shortEphemeral = publicEncrypt({ key: wrappingPublic, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(16));
    const withShortEphemeral = Buffer.concat([shortEphemeral, kwpWrap(randomBytes(16), randomBytes(32))]);
    expect(thrown(() => unwrapImportCiphertext(wrappingKey, withShortEphemeral, 'sha256')).message).toBe('expected ephemeral AES key to be 256-bit');
    expect(thrown(() => importHash('MD5')).message).toBe('unknown hash function: MD5');
    expect(importHash(undefined)).toBe('sha256');
    expect(importHash('sha384')).toBe('sha384');
  });
});

describe('importedKeyVersion / importedPublicKeyVersion', () => {
  it('takes raw symmetric and hmac keys of the right size; an hmac key is its own hmac key', () => {
    const aes = randomBytes(16);
    expect(importedKeyVersion('aes128-gcm96', aes).material.key.equals(aes)).toBe(true);
    const hmac = randomBytes(48);
    expect(importedKeyVersion('hmac', hmac).material).toEqual({ key: hmac, hmacKey: hmac });
    expect(importedKeyVersion('chacha20-poly1305', randomBytes(32)).material.hmacKey).toHaveLength(32);
    expect(thrown(() => importedKeyVersion('aes256-gcm96', aes)).message).toBe('invalid key size 16 bytes for key type aes256-gcm96');
    expect(thrown(() => importedKeyVersion('hmac', randomBytes(31))).message).toBe('invalid key size 31 bytes for key type hmac');
  });

  it('keeps ECDSA and RSA as PKCS#8 and ed25519 as Go’s 64-byte key, with the public key the read shows', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const v = importedKeyVersion('ecdsa-p256', pkcs8(ec.privateKey));
    expect(v.material.key.equals(pkcs8(ec.privateKey))).toBe(true);
    expect(v.publicKey).toBe(ec.publicKey.export({ format: 'pem', type: 'spki' }));
    const ed = generateKeyPairSync('ed25519');
    const e = importedKeyVersion('ed25519', pkcs8(ed.privateKey));
    expect(e.material.key).toHaveLength(64);
    expect(pkcs8(ed25519FromSeed(e.material.key)).equals(pkcs8(ed.privateKey))).toBe(true);
    expect(e.publicKey).toBe(Buffer.from(ed.publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('base64'));
  });

  it("refuses a key of another type, curve or size, and garbage, with Vault's messages", () => {
    const p384 = pkcs8(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey);
    expect(thrown(() => importedKeyVersion('ecdsa-p256', p384)).message).toBe('invalid curve: expected P-256, got P-384');
    expect(thrown(() => importedKeyVersion('rsa-2048', p384)).message).toBe('invalid key type: expected rsa-2048, got *ecdsa.PrivateKey');
    const rsa = pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    expect(thrown(() => importedKeyVersion('rsa-3072', rsa)).message).toBe('invalid key size: expected 384 bytes, got 256 bytes');
    expect(thrown(() => importedKeyVersion('ed25519', rsa)).message).toBe('invalid key type: expected ed25519, got *rsa.PrivateKey');
    expect(thrown(() => importedKeyVersion('ecdsa-p256', randomBytes(40))).message).toBe('error parsing asymmetric key: x509: failed to parse private key');
  });

  it('imports an ECDSA or RSA public key alone, and pairs it with its private key later', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const v = importedPublicKeyVersion('rsa-2048', pem);
    expect(v).toMatchObject({ publicKeyOnly: true, publicKey: pem });
    expect(isKeyPairOf(importedKeyVersion('rsa-2048', pkcs8(rsa.privateKey)), v.material.key)).toBe(true);
    const other = pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    expect(isKeyPairOf(importedKeyVersion('rsa-2048', other), v.material.key)).toBe(false);
    expect(thrown(() => importedPublicKeyVersion('ed25519', pem)).message).toBe('provided type does not support public_key import');
    expect(thrown(() => importedPublicKeyVersion('rsa-2048', 'MIIB')).message).toBe('error parsing public key: not in PEM format');
    expect(thrown(() => importedPublicKeyVersion('ecdsa-p256', pem)).message).toBe('invalid key type: expected ecdsa-p256, got *rsa.PublicKey');
    const privatePem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' });
    expect(thrown(() => importedPublicKeyVersion('rsa-2048', privatePem.toString())).message).toBe(
      'error parsing public key: x509: failed to parse public key',
    );
  });
});
