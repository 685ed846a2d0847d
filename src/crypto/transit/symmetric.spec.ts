/**
 * Transit's symmetric scheme against vectors made by an independent implementation (Python's
 * `cryptography` 48: HKDF(SHA256, salt=None), AESGCM, ChaCha20Poly1305, HMAC), following Vault's
 * keysutil steps (see symmetric.ts): key = bytes 0..31, nonce = bytes 0..11, context
 * "vault context", plaintext "the quick brown fox". Then properties over random inputs.
 */
import fc from 'fast-check';
import { createPublicKey } from 'node:crypto';
import { ed25519FromSeed, SYMMETRIC_TYPES, symmetricKeyBytes } from './key-types';
import { deriveKey, MISSING_CONTEXT, symmetricDecrypt, symmetricEncrypt, TransitCryptoError } from './symmetric';

const K = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const K16 = K.subarray(0, 16);
const N = Buffer.from('000102030405060708090a0b', 'hex');
const CTX = Buffer.from('vault context');
const P = Buffer.from('the quick brown fox');
const b64 = (s: string) => Buffer.from(s, 'base64');

describe('transit symmetric crypto (independent vectors)', () => {
  it('derives with HKDF-SHA256, no salt, the context as info', () => {
    expect(deriveKey(K, CTX, 32).toString('hex')).toBe('6a87d552215f80011b8d544659efc3614d753715baa45cd25131f7dcc88c1ed9');
    expect(deriveKey(K, CTX, 64).toString('hex')).toBe(
      '6a87d552215f80011b8d544659efc3614d753715baa45cd25131f7dcc88c1ed9a22590fedfed685421c6e1a4de1f13dd0493c4437e80c6d95a4f19ee29ffe53d',
    );
    expect(() => deriveKey(K, Buffer.alloc(0), 32)).toThrow(MISSING_CONTEXT);
  });

  it('opens nonce ‖ ciphertext ‖ tag from another implementation for every AEAD type, with and without AAD', () => {
    expect(symmetricDecrypt('aes256-gcm96', K, b64('AAECAwQFBgcICQoLM2qzO7SQq3jmYfX53p4WTeW5/w/KdcvN6/BO3Zfwl6AY5AI='))).toEqual(P);
    expect(symmetricDecrypt('aes128-gcm96', K16, b64('AAECAwQFBgcICQoL5wTC7hdunjcg8gP4WdQeKNVJYiF1QkG3WkpHHLvJj3mnGGQ='))).toEqual(P);
    expect(symmetricDecrypt('chacha20-poly1305', K, b64('AAECAwQFBgcICQoL/ZNtIFhizCPco12B92pgQ68fyk3lD53gkRTlfp1ZlaBPLcA='))).toEqual(P);
    const withAad = b64('AAECAwQFBgcICQoLM2qzO7SQq3jmYfX53p4WTeW5/xFyoOhOsc0Ac7Qe8g+oaL4=');
    expect(symmetricDecrypt('aes256-gcm96', K, withAad, { associatedData: Buffer.from('header') })).toEqual(P);
    expect(() => symmetricDecrypt('aes256-gcm96', K, withAad)).toThrow('cipher: message authentication failed');
  });

  it('derived keys open only with their context', () => {
    const derived = b64('AAECAwQFBgcICQoLJyLEWeZhwYolXCxY6ai0VH9VZs7I6IwBo9druU5ZTrQAxGM=');
    expect(symmetricDecrypt('aes256-gcm96', K, derived, { derived: { context: CTX } })).toEqual(P);
    expect(() => symmetricDecrypt('aes256-gcm96', K, derived, { derived: { context: Buffer.from('other') } })).toThrow(TransitCryptoError);
    expect(() => symmetricDecrypt('aes256-gcm96', K, derived, { derived: { context: Buffer.alloc(0) } })).toThrow(MISSING_CONTEXT);
  });

  it('convergent versions 3, 2 and 1 give exactly the other implementation’s ciphertexts', () => {
    const derived = { context: CTX };
    expect(symmetricEncrypt('aes256-gcm96', K, P, { derived, convergent: { version: 3 } }).toString('base64')).toBe(
      'GjI8bc4U6YtJ1gfyeJDB/RIByKsvG/ar8AA/hRwrS05afyk+zMMBtJ2tcOgfdTo=',
    );
    expect(symmetricEncrypt('aes256-gcm96', K, P, { derived, convergent: { version: 2 } }).toString('base64')).toBe(
      'F3lmwG48aQrQHKfspjd9ap16dXpxLuDZu2RRVE/1ewFUREfXqYxjG5WZr90NfOI=',
    );
    const v1 = symmetricEncrypt('aes256-gcm96', K, P, { derived, convergent: { version: 1 }, nonce: N });
    expect(v1.toString('base64')).toBe('JyLEWeZhwYolXCxY6ai0VH9VZs7I6IwBo9druU5ZTrQAxGM=');
    expect(symmetricDecrypt('aes256-gcm96', K, v1, { derived, convergent: { version: 1 }, nonce: N })).toEqual(P);
    expect(() => symmetricDecrypt('aes256-gcm96', K, v1, { derived, convergent: { version: 1 } })).toThrow('invalid convergent nonce supplied');
    expect(() => symmetricEncrypt('aes256-gcm96', K, P, { derived, convergent: { version: 1 }, nonce: N.subarray(1) })).toThrow(
      'base64-decoded nonce must be 12 bytes long when using convergent encryption with this key',
    );
  });

  it('a derived ed25519 seed gives the other implementation’s public key', () => {
    const goKey = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
    const jwk = createPublicKey(ed25519FromSeed(deriveKey(goKey, CTX, 32))).export({ format: 'jwk' });
    expect(Buffer.from(jwk.x as string, 'base64url').toString('base64')).toBe('s6ib/RwZlZMnTLLLx3X8b1MwMo8gdXbcZk9HxvB65uU=');
  });

  it('refuses short bodies and non-AEAD types with Vault’s messages', () => {
    expect(() => symmetricDecrypt('aes256-gcm96', K, Buffer.alloc(5))).toThrow('invalid ciphertext length');
    expect(() => symmetricEncrypt('ed25519', K, P)).toThrow('message encryption not supported for key type ed25519');
    expect(() => symmetricEncrypt('aes256-gcm96', K, P, { nonce: Buffer.alloc(5) })).toThrow('base64-decoded nonce must be 12 bytes long but given 5 bytes');
  });
});

describe('transit symmetric crypto (properties)', () => {
  const typeArb = fc.constantFrom(...SYMMETRIC_TYPES);
  const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
  const nonEmpty = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.from(a));

  it('decrypt ∘ encrypt is the identity for every type, derived or not, convergent or not, with any AAD', () => {
    fc.assert(
      fc.property(
        typeArb,
        bytes(300),
        fc.option(nonEmpty, { nil: undefined }),
        fc.constantFrom(0, 2, 3),
        bytes(20),
        (type, plaintext, context, convergent, aad) => {
          const key = Buffer.alloc(symmetricKeyBytes(type), 7);
          const options = {
            derived: context ? { context } : undefined,
            convergent: context && convergent ? { version: convergent } : undefined,
            associatedData: aad,
          };
          const body = symmetricEncrypt(type, key, plaintext, options);
          expect(symmetricDecrypt(type, key, body, options)).toEqual(plaintext);
          if (options.convergent) expect(symmetricEncrypt(type, key, plaintext, options)).toEqual(body);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('another key, context, AAD or a flipped bit never opens', () => {
    fc.assert(
      fc.property(typeArb, bytes(100), nonEmpty, fc.nat(), (type, plaintext, context, flip) => {
        const key = Buffer.alloc(symmetricKeyBytes(type), 1);
        const body = symmetricEncrypt(type, key, plaintext, { derived: { context } });
        const other = Buffer.alloc(key.length, 2);
        expect(() => symmetricDecrypt(type, other, body, { derived: { context } })).toThrow(TransitCryptoError);
        expect(() => symmetricDecrypt(type, key, body, { derived: { context: Buffer.concat([context, Buffer.from([0])]) } })).toThrow(TransitCryptoError);
        expect(() => symmetricDecrypt(type, key, body, { derived: { context }, associatedData: Buffer.from('x') })).toThrow(TransitCryptoError);
        const tampered = Buffer.from(body);
        tampered[flip % tampered.length] ^= 1 << (flip % 8);
        expect(() => symmetricDecrypt(type, key, tampered, { derived: { context } })).toThrow(TransitCryptoError);
      }),
      { numRuns: 150 },
    );
  });
});
