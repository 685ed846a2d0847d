import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { aeadDecrypt, aeadEncrypt, aeadTerm, AEAD_OVERHEAD, IntegrityError } from './aead';

describe('aead', () => {
  const key = randomBytes(32);

  it('round-trips and records the term', () => {
    const blob = aeadEncrypt(key, 7, Buffer.from('hello'), 'secrets/value/a');
    expect(aeadTerm(blob)).toBe(7);
    expect(blob.length).toBe(5 + AEAD_OVERHEAD);
    expect(aeadDecrypt(key, blob, 'secrets/value/a').toString()).toBe('hello');
  });

  it('uses a fresh nonce every time', () => {
    const a = aeadEncrypt(key, 1, Buffer.from('same'), 'x');
    const b = aeadEncrypt(key, 1, Buffer.from('same'), 'x');
    expect(a.equals(b)).toBe(false);
  });

  it('refuses a ciphertext read at another location (copied to another row)', () => {
    const blob = aeadEncrypt(key, 1, Buffer.from('v'), 'tokens/accessor/row-a');
    expect(() => aeadDecrypt(key, blob, 'tokens/accessor/row-b')).toThrow(IntegrityError);
  });

  it('detects a flip of any single byte', () => {
    const blob = aeadEncrypt(key, 3, Buffer.from('tamper me'), 'loc');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: blob.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, mask) => {
        const copy = Buffer.from(blob);
        copy[index] ^= mask;
        expect(() => aeadDecrypt(key, copy, 'loc')).toThrow(IntegrityError);
      }),
    );
  });

  it('refuses the wrong key and truncated input', () => {
    const blob = aeadEncrypt(key, 1, Buffer.from('v'), 'loc');
    expect(() => aeadDecrypt(randomBytes(32), blob, 'loc')).toThrow(IntegrityError);
    expect(() => aeadDecrypt(key, blob.subarray(0, 10), 'loc')).toThrow(IntegrityError);
  });
});
