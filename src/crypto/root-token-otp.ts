/**
 * The one-time-pad encoding of generated root tokens (Vault's sdk/helper/roottoken): the encoded
 * token is the unpadded standard base64 of (token bytes XOR OTP bytes), so it reveals nothing
 * without the OTP. Invariant: token and OTP have the same length in bytes, else nothing is encoded
 * (an OTP shorter than the token would leave part of it readable).
 * Pure: no I/O, safe for the CLI to load.
 */
import { randomBase62 } from './random';

/** `hvs.` + 24 base62: the length of root tokens, and so of the OTP (Vault's TokenLength + TokenPrefixLength). */
export const ROOT_TOKEN_OTP_LENGTH = 28;

export class RootTokenEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RootTokenEncodingError';
  }
}

/** A fresh OTP of `length` base62 characters (`-generate-otp`; the server's own when the client sends none). */
export function generateRootTokenOtp(length = ROOT_TOKEN_OTP_LENGTH): string {
  return randomBase62(length);
}

function xorBytes(a: Buffer, b: Buffer): Buffer {
  if (a.length !== b.length) throw new RootTokenEncodingError(`length of byte slices is not equivalent: ${a.length} != ${b.length}`);
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** Unpadded standard base64 only, as Go's RawStdEncoding: no padding, no URL alphabet, no whitespace. */
function decodeRawBase64(text: string): Buffer {
  if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1) throw new RootTokenEncodingError("error decoding base64'd token: illegal base64 data");
  return Buffer.from(text, 'base64');
}

export function encodeRootToken(token: string, otp: string): string {
  if (token.length === 0) throw new RootTokenEncodingError('no token provided');
  if (otp.length === 0) throw new RootTokenEncodingError('no otp provided');
  try {
    return xorBytes(Buffer.from(otp, 'utf8'), Buffer.from(token, 'utf8')).toString('base64').replace(/=+$/, '');
  } catch (err) {
    if (err instanceof RootTokenEncodingError) throw new RootTokenEncodingError(`xor of root token failed: ${err.message}`);
    throw err;
  }
}

/**
 * Vault's DecodeToken. `otpLength` is the server's `otp_length`: 0 means the legacy scheme (the OTP
 * is base64 of 16 bytes, the token a UUID); otherwise raw base64 XOR the OTP text.
 */
export function decodeRootToken(encoded: string, otp: string, otpLength: number): string {
  const text = encoded.trim();
  if (otpLength === 0) {
    const a = Buffer.from(text, 'base64');
    const b = Buffer.from(otp, 'base64');
    if (a.length === 0 || b.length === 0) throw new RootTokenEncodingError('error xoring token: decoded base64 value is nil or empty');
    let bytes: Buffer;
    try {
      bytes = xorBytes(a, b);
    } catch (err) {
      throw new RootTokenEncodingError(`error xoring token: ${(err as Error).message}`);
    }
    if (bytes.length !== 16) throw new RootTokenEncodingError(`error formatting base64 token value: wrong length byte slice (${bytes.length})`);
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  const bytes = decodeRawBase64(text);
  try {
    return xorBytes(bytes, Buffer.from(otp, 'utf8')).toString('utf8');
  } catch (err) {
    throw new RootTokenEncodingError(`error xoring token: ${(err as Error).message}`);
  }
}
