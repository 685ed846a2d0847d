/**
 * Shamir secret sharing over GF(2^8), wrapping the audited `shamir-secret-sharing` library
 * (same share layout as Vault: the y bytes followed by one x-coordinate byte).
 *
 * Rules enforced here, beyond the library:
 * - shares ≤ 255; threshold ≥ 2 when shares > 1; 1-of-1 is allowed and is the secret itself, unsplit;
 * - a share with x = 0 is refused (it would let one holder choose the combined value);
 * - duplicate x coordinates and unequal lengths are refused before combining;
 * - the combined value is NOT trusted: callers must authenticate it (the seal decrypts the root key).
 */
import { combine, split } from 'shamir-secret-sharing';

export const SHARE_OVERHEAD = 1;

export class ShamirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShamirError';
  }
}

/** Vault's messages for invalid share configurations. Returns null when valid. */
export function shareConfigError(shares: number, threshold: number): string | null {
  if (!Number.isInteger(shares) || shares < 1) return 'shares must be at least one';
  if (!Number.isInteger(threshold) || threshold < 1) return 'threshold must be at least one';
  if (shares > 1 && threshold === 1) return 'threshold must be greater than one for multiple shares';
  if (shares > 255) return 'shares must be less than 256';
  if (threshold > 255) return 'threshold must be less than 256';
  if (threshold > shares) return 'threshold cannot be larger than shares';
  return null;
}

export async function splitSecret(secret: Buffer, shares: number, threshold: number): Promise<Buffer[]> {
  const problem = shareConfigError(shares, threshold);
  if (problem) throw new ShamirError(problem);
  if (secret.length === 0) throw new ShamirError('secret must not be empty');
  if (shares === 1) return [Buffer.from(secret)];
  const parts = await split(new Uint8Array(secret), shares, threshold);
  return parts.map((p) => Buffer.from(p));
}

export function shareX(share: Buffer): number {
  return share[share.length - 1];
}

/** Checks one submitted share of a secret of `secretLength` bytes. Returns null when well-formed. */
export function shareFormatError(share: Buffer, secretLength: number): string | null {
  if (share.length !== secretLength + SHARE_OVERHEAD) return 'invalid key length';
  if (shareX(share) === 0) return 'invalid key share (x coordinate 0)';
  return null;
}

export async function combineShares(shares: Buffer[]): Promise<Buffer> {
  if (shares.length < 2) throw new ShamirError('at least two shares are required');
  const length = shares[0].length;
  const seen = new Set<number>();
  for (const share of shares) {
    if (share.length !== length || length < 2) throw new ShamirError('shares have unequal or invalid lengths');
    const x = shareX(share);
    if (x === 0) throw new ShamirError('share with x coordinate 0');
    if (seen.has(x)) throw new ShamirError('duplicate share');
    seen.add(x);
  }
  const secret = await combine(shares.map((s) => new Uint8Array(s)));
  return Buffer.from(secret);
}
