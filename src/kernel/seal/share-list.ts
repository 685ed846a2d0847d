/**
 * Submitted key shares as one Buffer, for sealing at rest: count u8 | count × (length u16 | bytes).
 * No share passes through a string; callers zero both forms.
 */
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
