import { randomBytes } from 'node:crypto';
import { decodeUnsealKey } from './unseal-key';

describe('decodeUnsealKey', () => {
  it('accepts hex and base64 of the same share', () => {
    const share = randomBytes(33);
    expect(decodeUnsealKey(share.toString('hex'))?.equals(share)).toBe(true);
    expect(decodeUnsealKey(share.toString('base64'))?.equals(share)).toBe(true);
  });
  it('refuses strings that are neither', () => {
    expect(decodeUnsealKey('not a key!')).toBeNull();
    expect(decodeUnsealKey('')).toBeNull();
  });
});
