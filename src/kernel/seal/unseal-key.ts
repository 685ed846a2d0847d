/** Decoding of submitted unseal keys and shares, as Vault does it: hex when it decodes to a plausible length, else base64. */
import { AEAD_KEY_BYTES } from '../../crypto/aead';
import { SHARE_OVERHEAD } from '../../crypto/shamir';

const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = AEAD_KEY_BYTES + SHARE_OVERHEAD;

export function decodeUnsealKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]*$/.test(trimmed) && trimmed.length % 2 === 0) {
    const hex = Buffer.from(trimmed, 'hex');
    if (hex.length >= MIN_KEY_BYTES && hex.length <= MAX_KEY_BYTES) return hex;
  }
  if (/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) && trimmed.length % 4 === 0 && trimmed.length > 0) {
    return Buffer.from(trimmed, 'base64');
  }
  return null;
}

/** The expected length of one submitted key: the raw key for 1-of-1, else a share. */
export function expectedKeyBytes(threshold: number): number {
  return threshold === 1 ? AEAD_KEY_BYTES : AEAD_KEY_BYTES + SHARE_OVERHEAD;
}
