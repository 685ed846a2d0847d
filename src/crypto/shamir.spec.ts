import { randomBytes } from 'node:crypto';
import { combineShares, shareConfigError, ShamirError, shareFormatError, splitSecret } from './shamir';

describe('shamir', () => {
  it('any threshold-many shares recover the secret; shares are 33 bytes with x last', async () => {
    const secret = randomBytes(32);
    const shares = await splitSecret(secret, 5, 3);
    expect(shares).toHaveLength(5);
    for (const s of shares) {
      expect(s.length).toBe(33);
      expect(s[32]).not.toBe(0);
    }
    expect((await combineShares([shares[0], shares[2], shares[4]])).equals(secret)).toBe(true);
    expect((await combineShares([shares[3], shares[1], shares[0]])).equals(secret)).toBe(true);
  });

  it('1-of-1 is the secret itself, unsplit', async () => {
    const secret = randomBytes(32);
    const [only] = await splitSecret(secret, 1, 1);
    expect(only.equals(secret)).toBe(true);
  });

  it.each([
    [5, 1, 'threshold must be greater than one for multiple shares'],
    [3, 4, 'threshold cannot be larger than shares'],
    [256, 3, 'shares must be less than 256'],
    [0, 0, 'shares must be at least one'],
    [3, 0, 'threshold must be at least one'],
  ])('refuses %i shares with threshold %i', async (n, t, message) => {
    expect(shareConfigError(n, t)).toBe(message);
    await expect(splitSecret(randomBytes(32), n, t)).rejects.toThrow(message);
  });

  it('refuses x = 0, duplicate x and unequal lengths before combining', async () => {
    const shares = await splitSecret(randomBytes(32), 3, 2);
    const zeroX = Buffer.from(shares[0]);
    zeroX[32] = 0;
    await expect(combineShares([zeroX, shares[1]])).rejects.toThrow(ShamirError);
    await expect(combineShares([shares[0], Buffer.from(shares[0])])).rejects.toThrow(ShamirError);
    await expect(combineShares([shares[0], shares[1].subarray(0, 20)])).rejects.toThrow(ShamirError);
    await expect(combineShares([shares[0]])).rejects.toThrow(ShamirError);
    expect(shareFormatError(zeroX, 32)).toMatch(/x coordinate 0/);
    expect(shareFormatError(shares[0].subarray(0, 32), 32)).toMatch(/length/);
  });

  it('threshold-1 good shares and one garbage share do not give the secret', async () => {
    const secret = randomBytes(32);
    const shares = await splitSecret(secret, 5, 3);
    const garbage = randomBytes(33);
    garbage[32] = shares[4][32];
    const combined = await combineShares([shares[0], shares[1], garbage]);
    expect(combined.equals(secret)).toBe(false);
  });
});
