/** Random identifiers from the CSPRNG. */
import { randomBytes, randomInt } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Uniform base62 string (randomInt is unbiased). */
export function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(62)];
  return out;
}

export function randomKey(bytes = 32): Buffer {
  return randomBytes(bytes);
}

export function randomPassword(length = 32): string {
  return randomBase62(length);
}
