import { ApiError } from '../../kernel/errors';
import { issuerName, issuerUsage, leafNotAfterBehavior } from './issuer-fields';

const message = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return [(err as ApiError).status, ...(err as ApiError).errors];
  }
  return 'no error';
};

describe('issuer and key fields (Vault messages)', () => {
  it('names: trimmed; default reserved (any case); only \\w . - inside, \\w at the ends', () => {
    expect(issuerName('  root-2024.a_b ')).toBe('root-2024.a_b');
    expect(issuerName(undefined)).toBe('');
    expect(issuerName('x')).toBe('x');
    expect(message(() => issuerName('Default'))).toEqual([400, "reserved keyword 'default' can not be used as issuer name"]);
    expect(message(() => issuerName('default', 'key'))).toEqual([400, "reserved keyword 'default' can not be used as key name"]);
    for (const bad of ['-a', 'a-', 'a b', 'a/b', 'é', '.a']) expect(message(() => issuerName(bad))).toEqual([400, 'issuer name contained invalid characters']);
  });

  it('usage: known names only, read-only always kept, answered sorted', () => {
    expect(issuerUsage(['issuing-certificates'])).toEqual(['read-only', 'issuing-certificates']);
    expect(issuerUsage(['read-only', 'crl-signing', 'ocsp-signing', 'issuing-certificates'])).toEqual([
      'read-only',
      'issuing-certificates',
      'crl-signing',
      'ocsp-signing',
    ]);
    expect(message(() => issuerUsage(['issuing-certificates', 'bogus']))).toEqual([
      400,
      'Unable to parse specified usages: [issuing-certificates bogus] - valid values are crl-signing,issuing-certificates,ocsp-signing,read-only',
    ]);
  });

  it('leaf_not_after_behavior: err, truncate, permit (and always_enforce_err)', () => {
    for (const b of ['err', 'truncate', 'permit', 'always_enforce_err']) expect(leafNotAfterBehavior(b)).toBe(b);
    expect(message(() => leafNotAfterBehavior('later'))).toEqual([
      400,
      'Unknown value for field `leaf_not_after_behavior`. Possible values are `err`, `truncate`, and `permit`.',
    ]);
  });
});
