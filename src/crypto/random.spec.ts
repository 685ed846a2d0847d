import { randomNonce } from './random';

describe('randomNonce', () => {
  it('hands out every nonce once, across pool refills, and never changes one it handed out', () => {
    const first = randomNonce(12);
    const copy = Buffer.from(first);
    const seen = new Set<string>([copy.toString('hex')]);
    // Three pools' worth: refills happen, and the first nonce's pool is long spent.
    for (let i = 0; i < 3 * 4096; i++) {
      const n = randomNonce(12);
      expect(n).toHaveLength(12);
      seen.add(n.toString('hex'));
    }
    expect(seen.size).toBe(3 * 4096 + 1);
    expect(first).toEqual(copy);
  });

  it('gives nonces of the asked length, larger than a pool too', () => {
    expect(randomNonce(16)).toHaveLength(16);
    expect(randomNonce(12 * 4096 + 1)).toHaveLength(12 * 4096 + 1);
    expect(randomNonce(12).equals(randomNonce(12))).toBe(false);
  });
});
