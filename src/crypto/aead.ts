/**
 * AES-256-GCM with a self-describing header.
 *
 * Layout: version (1 byte) | key term (4 bytes, big-endian) | nonce (12 bytes) | ciphertext | tag (16 bytes)
 *
 * Invariants:
 * - the nonce is 96 random bits per encryption, never reused by construction;
 * - the AAD is the header followed by the caller's location string, so a ciphertext only
 *   decrypts under the key, term and location it was written for (moving it fails);
 * - any change to any byte makes decryption throw IntegrityError.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { randomNonce } from './random';

export const AEAD_VERSION = 1;
export const AEAD_KEY_BYTES = 32;
const HEADER_BYTES = 5;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const AEAD_OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;

export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

function header(term: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt8(AEAD_VERSION, 0);
  h.writeUInt32BE(term, 1);
  return h;
}

function additionalData(head: Buffer, location: string): Buffer {
  return Buffer.concat([head, Buffer.from(location, 'utf8')]);
}

export function aeadEncrypt(key: Buffer, term: number, plaintext: Buffer, location: string): Buffer {
  if (key.length !== AEAD_KEY_BYTES) throw new Error('aead key must be 32 bytes');
  if (!Number.isInteger(term) || term < 0 || term > 0xffffffff) throw new Error('aead term out of range');
  const head = header(term);
  const nonce = randomNonce(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(head, location));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([head, nonce, body, cipher.getAuthTag()]);
}

/** Reads the key term from a ciphertext header without decrypting it. */
export function aeadTerm(blob: Buffer): number {
  if (blob.length < AEAD_OVERHEAD) throw new IntegrityError('ciphertext too short');
  if (blob.readUInt8(0) !== AEAD_VERSION) throw new IntegrityError('unknown ciphertext version');
  return blob.readUInt32BE(1);
}

export function aeadDecrypt(key: Buffer, blob: Buffer, location: string): Buffer {
  aeadTerm(blob);
  const head = blob.subarray(0, HEADER_BYTES);
  const nonce = blob.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  const body = blob.subarray(HEADER_BYTES + NONCE_BYTES, blob.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(additionalData(head, location));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new IntegrityError(`ciphertext failed authentication at ${location}`);
  }
}
