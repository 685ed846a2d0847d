/**
 * Submitted key shares as one Buffer, for sealing at rest: count u8 | count × (length u16 | bytes).
 * No share passes through a string; callers zero both forms.
 */
import { zero } from '../../crypto/hmac';
import type { Ciphertext, SealedColumn } from '../barrier/sealed-column';

const MAX_SHARES = 255;

export function packShares(shares: readonly Buffer[]): Buffer {
  if (shares.length > MAX_SHARES) throw new Error('too many shares');
  const out = Buffer.alloc(1 + shares.reduce((n, s) => n + 2 + s.length, 0));
  out.writeUInt8(shares.length, 0);
  let at = 1;
  for (const s of shares) {
    out.writeUInt16BE(s.length, at);
    s.copy(out, at + 2);
    at += 2 + s.length;
  }
  return out;
}

export function unpackShares(packed: Buffer): Buffer[] {
  if (packed.length < 1) throw new Error('malformed share list');
  const count = packed.readUInt8(0);
  const shares: Buffer[] = [];
  let at = 1;
  for (let i = 0; i < count; i++) {
    if (at + 2 > packed.length) throw new Error('malformed share list');
    const length = packed.readUInt16BE(at);
    if (at + 2 + length > packed.length) throw new Error('malformed share list');
    shares.push(Buffer.from(packed.subarray(at + 2, at + 2 + length)));
    at += 2 + length;
  }
  if (at !== packed.length) throw new Error('malformed share list');
  return shares;
}

/** `shares` as one value of `column` under `key` (null when there are none); the packed form is zeroed. */
export async function sealShares<K>(column: SealedColumn<K>, key: K, shares: readonly Buffer[]): Promise<Buffer | null> {
  if (shares.length === 0) return null;
  const packed = packShares(shares);
  try {
    return await column.seal(key, packed);
  } finally {
    zero(packed);
  }
}

/** The shares `sealShares` sealed; the packed form is zeroed. */
export async function openShares<K>(column: SealedColumn<K>, key: K, ciphertext: Buffer): Promise<Buffer[]> {
  const packed = await column.open(key, ciphertext as Ciphertext);
  try {
    return unpackShares(packed);
  } finally {
    zero(packed);
  }
}
