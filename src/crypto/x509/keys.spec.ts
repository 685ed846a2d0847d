import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { OpensslWorkspace } from '../../../test/support/x509-openssl';
import { generateKeyPair, keyInfo, privateKeyPem, type KeyType } from './keys';
import { subjectPublicKeyOf } from './public-key';

let workspace: OpensslWorkspace;
beforeAll(() => {
  workspace = new OpensslWorkspace();
});
afterAll(() => workspace.dispose());

describe('generateKeyPair', () => {
  it.each<[KeyType, number, string]>([
    ['rsa', 2048, 'rsa'],
    ['rsa', 3072, 'rsa'],
    ['rsa', 4096, 'rsa'],
    ['ec', 224, 'ec'],
    ['ec', 256, 'ec'],
    ['ec', 384, 'ec'],
    ['ec', 521, 'ec'],
    ['ed25519', 0, 'ed25519'],
  ])(
    'makes %s %d keys',
    async (type, bits, nodeType) => {
      const pair = await generateKeyPair(type, bits);
      expect(pair.type).toBe(type);
      expect(pair.bits).toBe(bits);
      expect(pair.privateKey.asymmetricKeyType).toBe(nodeType);
      expect(keyInfo(pair.privateKey)).toEqual({ type, bits });
      expect(keyInfo(pair.publicKey)).toEqual({ type, bits });
      if (type === 'rsa') expect(pair.publicKey.asymmetricKeyDetails?.publicExponent).toBe(65537n);
    },
    60_000,
  );

  it.each<[string, number, RegExp]>([
    ['rsa', 1024, /^unsupported RSA key size: use one of 2048, 3072, 4096$/],
    ['rsa', 8192, /^unsupported RSA key size: use one of/],
    ['rsa', 0, /^unsupported RSA key size: use one of/],
    ['ec', 255, /^unsupported EC key size: use one of 224, 256, 384, 521$/],
    ['ec', 0, /^unsupported EC key size: use one of/],
    ['ed25519', 256, /key bits must be 0/],
    ['dsa', 2048, /unsupported key type "dsa"/],
  ])('refuses %s %d', async (type, bits, message) => {
    await expect(generateKeyPair(type as KeyType, bits)).rejects.toThrow(message);
  });
});

describe('keyInfo', () => {
  it('refuses key kinds the engine does not use', () => {
    expect(() => keyInfo(generateKeyPairSync('ed448').publicKey)).toThrow(/unsupported key type ed448/);
    expect(() => keyInfo(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey)).toThrow(/unsupported EC curve secp256k1/);
  });
});

describe('privateKeyPem', () => {
  it.each<[KeyType, number, string]>([
    ['rsa', 2048, 'RSA PRIVATE KEY'],
    ['ec', 256, 'EC PRIVATE KEY'],
    ['ed25519', 0, 'PRIVATE KEY'],
  ])('writes %s keys as Vault does', async (type, bits, label) => {
    const pair = await generateKeyPair(type, bits);
    const pem = privateKeyPem(pair.privateKey);
    expect(pem.startsWith(`-----BEGIN ${label}-----\n`)).toBe(true);
    expect(pem.endsWith(`-----END ${label}-----\n`)).toBe(true);
    expect(privateKeyPem(pair.privateKey, 'pem')).toBe(pem);
    expect(createPrivateKey(pem).equals(pair.privateKey)).toBe(true);
    // OpenSSL reads it and finds the same public key.
    const file = workspace.file(`${type}.key`, pem);
    const opensslPublic = workspace.ok(['pkey', '-in', file, '-pubout']);
    expect(opensslPublic).toBe(pair.publicKey.export({ type: 'spki', format: 'pem' }).toString());

    const pkcs8 = privateKeyPem(pair.privateKey, 'pkcs8');
    expect(pkcs8.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
    expect(createPrivateKey(pkcs8).equals(pair.privateKey)).toBe(true);

    const der = privateKeyPem(pair.privateKey, 'der');
    expect(der).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const derType = type === 'rsa' ? 'pkcs1' : type === 'ec' ? 'sec1' : 'pkcs8';
    expect(createPrivateKey({ key: Buffer.from(der, 'base64'), format: 'der', type: derType }).equals(pair.privateKey)).toBe(true);
  });

  it('refuses public keys and unknown formats', async () => {
    const pair = await generateKeyPair('ec', 256);
    expect(() => privateKeyPem(pair.publicKey)).toThrow(/private key/);
    expect(() => privateKeyPem(pair.privateKey, 'jwk' as never)).toThrow(/unsupported private key format/);
  });
});

describe('subjectPublicKeyOf', () => {
  it.each<[KeyType, number]>([
    ['rsa', 2048],
    ['ec', 224],
    ['ec', 256],
    ['ec', 384],
    ['ec', 521],
    ['ed25519', 0],
  ])(
    "gives node's own SPKI for %s %d",
    async (type, bits) => {
      for (let i = 0; i < (type === 'rsa' ? 2 : 20); i++) {
        const { publicKey } = await generateKeyPair(type, bits);
        const { spkiDer, keyBits } = subjectPublicKeyOf(publicKey);
        const expected = publicKey.export({ type: 'spki', format: 'der' });
        expect(spkiDer.toString('hex')).toBe(expected.toString('hex'));
        expect(expected.subarray(expected.length - keyBits.length)).toEqual(keyBits);
      }
    },
    60_000,
  );

  it('keeps leading zero octets of EC coordinates', () => {
    // SPKI of P-256: 26 header octets, 0x04, x (32), y (32). Find a key whose x or y starts with 0.
    for (let attempt = 0; attempt < 5000; attempt++) {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const expected = publicKey.export({ type: 'spki', format: 'der' });
      if (expected[27] !== 0 && expected[59] !== 0) continue;
      expect(subjectPublicKeyOf(publicKey).spkiDer).toEqual(expected);
      return;
    }
    throw new Error('no P-256 key with a leading zero coordinate in 5000 tries');
  });

  it('falls back to node for other key kinds', () => {
    const { publicKey } = generateKeyPairSync('ed448');
    expect(subjectPublicKeyOf(publicKey).spkiDer).toEqual(publicKey.export({ type: 'spki', format: 'der' }));
  });
});
