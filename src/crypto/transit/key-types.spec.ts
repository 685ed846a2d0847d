import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import {
  decodeMaterial,
  ECDSA_TYPES,
  ed25519FromSeed,
  ed25519GoKey,
  encodeMaterial,
  generateKeyVersion,
  keyTypeSupports,
  privateKeyObject,
  RSA_TYPES,
  SYMMETRIC_TYPES,
  TRANSIT_KEY_TYPES,
} from './key-types';

const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64');

describe('transit key types', () => {
  it('supports what Vault’s KeyType says each type supports', () => {
    const row = (t: (typeof TRANSIT_KEY_TYPES)[number]) =>
      [keyTypeSupports.encryption(t), keyTypeSupports.decryption(t), keyTypeSupports.signing(t), keyTypeSupports.derivation(t)].map(Number).join('');
    expect(Object.fromEntries(TRANSIT_KEY_TYPES.map((t) => [t, row(t)]))).toEqual({
      'aes128-gcm96': '1101',
      'aes256-gcm96': '1101',
      'chacha20-poly1305': '1101',
      ed25519: '0011',
      'ecdsa-p256': '0010',
      'ecdsa-p384': '0010',
      'ecdsa-p521': '0010',
      'rsa-2048': '1110',
      'rsa-3072': '1110',
      'rsa-4096': '1110',
      hmac: '0000',
      managed_key: '0000',
    });
  });

  it('generates symmetric and hmac keys of the right length, each version with its own 32-byte HMAC key', () => {
    for (const t of SYMMETRIC_TYPES) {
      const a = generateKeyVersion(t);
      expect(a.material.key.length).toBe(t === 'aes128-gcm96' ? 16 : 32);
      expect(a.material.hmacKey?.length).toBe(32);
      expect(a.publicKey).toBeUndefined();
      expect(generateKeyVersion(t).material.key.equals(a.material.key)).toBe(false);
    }
    expect(generateKeyVersion('hmac', 64).material.key.length).toBe(64);
    expect(() => generateKeyVersion('hmac', 16)).toThrow('invalid key size for HMAC key, must be between 32 and 512 bytes');
  });

  it('keeps ed25519 as Go’s seed ‖ public key, whose public half is what the key read shows', () => {
    const v = generateKeyVersion('ed25519');
    expect(v.material.key.length).toBe(64);
    const privateKey = privateKeyObject('ed25519', v.material);
    const raw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x as string, 'base64url');
    expect(raw.toString('base64')).toBe(v.publicKey);
    expect(v.material.key.subarray(32)).toEqual(raw);
    expect(ed25519GoKey(ed25519FromSeed(v.material.key.subarray(0, 32)))).toEqual(v.material.key);
    const signature = sign(null, Buffer.from('m'), privateKey);
    const shown = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), b64(v.publicKey)]), format: 'der', type: 'spki' });
    expect(verify(null, Buffer.from('m'), shown, signature)).toBe(true);
  });

  it('keeps ECDSA and RSA as PKCS#8 with a PEM SPKI public key of the right curve and size', () => {
    const curves: Record<string, string> = { 'ecdsa-p256': 'prime256v1', 'ecdsa-p384': 'secp384r1', 'ecdsa-p521': 'secp521r1' };
    for (const t of ECDSA_TYPES) {
      const v = generateKeyVersion(t);
      const key = createPrivateKey({ key: v.material.key, format: 'der', type: 'pkcs8' });
      expect(key.asymmetricKeyDetails?.namedCurve).toBe(curves[t]);
      expect(v.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
      expect(createPublicKey(v.publicKey as string).equals(createPublicKey(key))).toBe(true);
    }
    const rsa = generateKeyVersion(RSA_TYPES[0]);
    expect(createPrivateKey({ key: rsa.material.key, format: 'der', type: 'pkcs8' }).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('stores material as JSON and still reads a version stored as a raw 32-byte AES key', () => {
    const v = generateKeyVersion('aes256-gcm96').material;
    expect(decodeMaterial(encodeMaterial(v))).toEqual(v);
    const legacy = Buffer.alloc(32, 9);
    expect(decodeMaterial(legacy)).toEqual({ key: legacy });
    // The JSON form is never 32 bytes long, so the two forms cannot be confused.
    for (let n = 0; n <= 600; n++) {
      expect(encodeMaterial({ key: Buffer.alloc(n) }).length).not.toBe(32);
      expect(encodeMaterial({ key: Buffer.alloc(n), hmacKey: Buffer.alloc(32) }).length).not.toBe(32);
    }
  });
});
