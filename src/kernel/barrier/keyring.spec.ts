import { randomBytes } from 'node:crypto';
import { Keyring } from './keyring';

describe('Keyring', () => {
  it('serialises and restores every term; the highest is active', () => {
    const k1 = randomBytes(32);
    const ring = new Keyring([{ term: 1, installedAt: new Date(1000), key: k1 }]).withNewTerm(randomBytes(32), new Date(2000));
    const back = Keyring.deserialize(ring.serialize());
    expect(back.active.term).toBe(2);
    expect(back.keyFor(1)?.equals(k1)).toBe(true);
    expect(back.terms.map((t) => t.installedAt.getTime())).toEqual([1000, 2000]);
  });

  it('refuses malformed input and zeroes keys', () => {
    expect(() => Keyring.deserialize(Buffer.from('nope'))).toThrow('malformed keyring');
    const key = randomBytes(32);
    const ring = new Keyring([{ term: 1, installedAt: new Date(), key }]);
    ring.zero();
    expect(key.every((b) => b === 0)).toBe(true);
  });
});
