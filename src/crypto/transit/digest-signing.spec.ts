import { createHash, generateKeyPairSync, sign, verify, constants } from 'node:crypto';
import {
  bigintBytes,
  bigintFrom,
  curve,
  ecdsaSignDigest,
  ecdsaVerifyDigest,
  maxPssSaltLength,
  rsaPkcs1SignDigest,
  rsaPkcs1VerifyDigest,
  rsaPssSignDigest,
  rsaPssVerifyDigest,
} from './digest-signing';

const MESSAGE = Buffer.from('digest signing');

describe('ECDSA over a digest', () => {
  it.each([
    ['P-256', 'sha256'],
    ['P-384', 'sha384'],
    ['P-521', 'sha512'],
    ['P-521', 'sha256'],
    ['P-256', 'sha512'],
  ] as const)('%s with %s: our signature verifies in node, node’s verifies here, wrong ones do not', (name, hash) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: name });
    const jwk = privateKey.export({ format: 'jwk' });
    const [d, x, y] = [jwk.d, jwk.x, jwk.y].map((v) => Buffer.from(v as string, 'base64url'));
    const digest = createHash(hash).update(MESSAGE).digest();
    const { r, s } = ecdsaSignDigest(name, d, digest);
    expect(verify(hash, MESSAGE, { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.concat([r, s]))).toBe(true);

    const theirs = sign(hash, MESSAGE, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const half = theirs.length / 2;
    const [tr, ts] = [bigintFrom(theirs.subarray(0, half)), bigintFrom(theirs.subarray(half))];
    expect(ecdsaVerifyDigest(name, x, y, digest, tr, ts)).toBe(true);
    expect(ecdsaVerifyDigest(name, x, y, digest, tr, ts + 1n)).toBe(false);
    expect(ecdsaVerifyDigest(name, x, y, Buffer.alloc(digest.length), tr, ts)).toBe(false);
    expect(ecdsaVerifyDigest(name, x, y, digest, 0n, ts)).toBe(false);
    expect(ecdsaVerifyDigest(name, x, y, digest, tr, curve(name).n)).toBe(false);
    // a point off the curve is never a valid key
    expect(ecdsaVerifyDigest(name, x, bigintBytes(bigintFrom(y) ^ 1n, curve(name).size), digest, tr, ts)).toBe(false);
  });
});

describe('RSA over a digest', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const digest = createHash('sha256').update(MESSAGE).digest();

  it('PKCS#1 v1.5 equals node’s signature of the message; the wrong digest or length fails', () => {
    const sig = rsaPkcs1SignDigest(privateKey, 'sha256', digest);
    expect(sig.equals(sign('sha256', MESSAGE, { key: privateKey, padding: constants.RSA_PKCS1_PADDING }))).toBe(true);
    expect(rsaPkcs1VerifyDigest(publicKey, 'sha256', digest, sig)).toBe(true);
    expect(rsaPkcs1VerifyDigest(publicKey, 'sha384', createHash('sha384').update(MESSAGE).digest(), sig)).toBe(false);
    expect(rsaPkcs1VerifyDigest(publicKey, 'sha256', digest, sig.subarray(1))).toBe(false);
    expect(rsaPkcs1VerifyDigest(publicKey, 'sha256', digest.subarray(1), sig)).toBe(false);
  });

  it('PSS: node verifies ours with the same salt length and we verify node’s', () => {
    const max = maxPssSaltLength(2048, 'sha256');
    expect(max).toBe(222);
    for (const [ours, nodeSalt] of [
      [0, max],
      [-1, 32],
      [5, 5],
    ]) {
      const sig = rsaPssSignDigest(privateKey, 'sha256', digest, ours);
      expect(verify('sha256', MESSAGE, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: nodeSalt }, sig)).toBe(true);
      const theirs = sign('sha256', MESSAGE, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: nodeSalt });
      expect(rsaPssVerifyDigest(publicKey, 'sha256', digest, theirs, 0)).toBe(true);
      expect(rsaPssVerifyDigest(publicKey, 'sha256', digest, theirs, ours)).toBe(true);
      expect(rsaPssVerifyDigest(publicKey, 'sha256', digest, theirs, nodeSalt === 5 ? 6 : 5)).toBe(false);
      const flipped = Buffer.from(theirs);
      flipped[100] ^= 0x80;
      expect(rsaPssVerifyDigest(publicKey, 'sha256', digest, flipped, 0)).toBe(false);
    }
    expect(rsaPssVerifyDigest(publicKey, 'sha256', digest, Buffer.alloc(256), 0)).toBe(false);
    expect(rsaPssVerifyDigest(publicKey, 'sha256', digest, Buffer.alloc(256, 0xff), 0)).toBe(false);
  });
});
