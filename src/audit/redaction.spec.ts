import { memoisedHasher, redactData, redactValue, saltedHasher } from './redaction';
import { hmacSha256 } from '../crypto/hmac';

describe('audit redaction', () => {
  const salt = Buffer.alloc(32, 7);
  const hash = saltedHasher(salt);

  it('is Vault’s hmac-sha256:<hex> of the value under the salt', () => {
    expect(hash('s3cret')).toBe(`hmac-sha256:${hmacSha256(salt, 's3cret').toString('hex')}`);
    expect(saltedHasher(Buffer.alloc(32, 8))('s3cret')).not.toBe(hash('s3cret'));
  });

  it('hashes every string and number at any depth, keeps keys, booleans and null', () => {
    const out = redactValue({ password: 'canary', pin: 1234, nested: { list: ['a', { deep: 'canary' }] }, ok: true, none: null }, hash);
    const text = JSON.stringify(out);
    expect(text).not.toContain('canary');
    expect(text).not.toContain('1234');
    expect(out).toEqual({ password: hash('canary'), pin: hash('1234'), nested: { list: [hash('a'), { deep: hash('canary') }] }, ok: true, none: null });
  });

  it('keeps an operator-chosen top-level key in clear (audit_non_hmac_*_keys), nothing nested', () => {
    expect(redactData({ role: 'web', password: 'canary', nested: { role: 'x' } }, hash, ['role'])).toEqual({
      role: 'web',
      password: hash('canary'),
      nested: { role: hash('x') },
    });
    expect(redactData(undefined, hash, ['role'])).toBeUndefined();
  });

  it('hashes buffers and dates rather than printing them', () => {
    expect(redactValue(Buffer.from('canary'), hash)).toBe(hash(Buffer.from('canary').toString('base64')));
    expect(redactValue(new Date(0), hash)).toBe(hash('1970-01-01T00:00:00.000Z'));
  });

  it('a memoised hasher gives the same HMACs, computing a short value once and a long one every time', () => {
    const calls: string[] = [];
    const memo = memoisedHasher((v) => (calls.push(v), hash(v)));
    const long = 'x'.repeat(65);
    for (const v of ['1', '', '1', long, long, '']) expect(memo(v)).toBe(hash(v));
    expect(calls).toEqual(['1', '', long, long]);
  });
});
