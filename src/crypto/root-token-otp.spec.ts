import { decodeRootToken, encodeRootToken, generateRootTokenOtp, ROOT_TOKEN_OTP_LENGTH } from './root-token-otp';

describe('root token OTP encoding', () => {
  it('is unpadded standard base64 of token XOR otp (a vector worked by hand)', () => {
    // 'a' ^ 'b' = 0x03 twice: base64 "AwM=" without its padding.
    expect(encodeRootToken('ab', 'ba')).toBe('AwM');
    expect(decodeRootToken('AwM', 'ba', 2)).toBe('ab');
  });

  it('round-trips a root token with a generated 28-character base62 OTP', () => {
    const token = 'hvs.' + 'Ab3'.repeat(8);
    const otp = generateRootTokenOtp();
    expect(otp).toMatch(/^[0-9A-Za-z]{28}$/);
    expect(ROOT_TOKEN_OTP_LENGTH).toBe(token.length);
    const encoded = encodeRootToken(token, otp);
    expect(encoded).not.toContain('=');
    expect(encoded).not.toContain(token);
    expect(decodeRootToken(encoded, otp, otp.length)).toBe(token);
    expect(decodeRootToken(`${encoded}\n`, otp, otp.length)).toBe(token);
  });

  it('refuses lengths that differ, empty inputs and padded or foreign base64, with Vault texts', () => {
    expect(() => encodeRootToken('someToken', 'x'.repeat(10))).toThrow('xor of root token failed: length of byte slices is not equivalent: 10 != 9');
    expect(() => encodeRootToken('', 'x')).toThrow('no token provided');
    expect(() => encodeRootToken('t', '')).toThrow('no otp provided');
    const encoded = encodeRootToken('someToken', 'abcdefghi');
    expect(() => decodeRootToken(encoded, 'abcdefgh', 8)).toThrow('error xoring token: length of byte slices is not equivalent: 9 != 8');
    expect(() => decodeRootToken('AwM=', 'ba', 2)).toThrow("error decoding base64'd token");
    expect(() => decodeRootToken('Aw-_', 'ba', 2)).toThrow("error decoding base64'd token");
  });

  it('decodes the legacy scheme (otp_length 0): base64 OTP of 16 bytes, token formatted as a UUID', () => {
    const token = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const otp = Buffer.alloc(16, 0x5a);
    const encoded = Buffer.from(token.map((b, i) => b ^ otp[i])).toString('base64');
    expect(decodeRootToken(encoded, otp.toString('base64'), 0)).toBe('00112233-4455-6677-8899-aabbccddeeff');
  });
});
