import { packShares, unpackShares } from './share-list';

describe('share list', () => {
  it('round-trips shares of any length, none included', () => {
    const shares = [Buffer.from('a'), Buffer.alloc(33, 7), Buffer.alloc(0)];
    expect(unpackShares(packShares(shares))).toEqual(shares);
    expect(unpackShares(packShares([]))).toEqual([]);
  });

  it('refuses a truncated or padded list', () => {
    const packed = packShares([Buffer.alloc(33, 1), Buffer.alloc(33, 2)]);
    expect(() => unpackShares(packed.subarray(0, packed.length - 1))).toThrow('malformed share list');
    expect(() => unpackShares(Buffer.concat([packed, Buffer.from([0])]))).toThrow('malformed share list');
    expect(() => unpackShares(Buffer.alloc(0))).toThrow('malformed share list');
  });
});
