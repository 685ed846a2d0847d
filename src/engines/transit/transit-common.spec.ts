import { randomBytes, randomInt } from 'node:crypto';
import { decodeBase64 } from './transit-common';

/** Go's base64.StdEncoding as a pattern: whole quanta, '=' padding only at the end. */
const STD_ENCODING = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ .!\u00e9';

describe('decodeBase64', () => {
  it('decodes what Go accepts, line breaks ignored', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = randomBytes(n);
      expect(decodeBase64(bytes.toString('base64'))).toEqual(bytes);
    }
    expect(decodeBase64('aGVs\r\nbG8=')).toEqual(Buffer.from('hello'));
    expect(decodeBase64('QR==')).toEqual(Buffer.from('QR==', 'base64'));
  });

  it.each(['aGVsbG8', 'aGVsbG8==', 'aGVs=G8=', 'a===', '====', 'aGVs bG8=', 'aGVs-G8=', 'aGVs_G8=', 'aGVs!G8=', 'aGVsbG8=\t'])('refuses %j', (value) => {
    expect(decodeBase64(value)).toBeUndefined();
  });

  it('agrees with the StdEncoding pattern on random strings', () => {
    for (let i = 0; i < 20000; i++) {
      const length = randomInt(0, 13);
      let value = '';
      for (let j = 0; j < length; j++) value += ALPHABET[randomInt(0, ALPHABET.length)];
      const decoded = decodeBase64(value);
      expect({ value, accepted: decoded !== undefined }).toEqual({ value, accepted: STD_ENCODING.test(value) });
      if (decoded) expect(decoded).toEqual(Buffer.from(value, 'base64'));
    }
  });
});
