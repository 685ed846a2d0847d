import { checkIpSan, checkName, checkUriSan, globMatches, type NamePolicy } from './name-policy';

const base: NamePolicy = {
  allowedDomains: ['example.com'],
  allowBareDomains: false,
  allowSubdomains: true,
  allowGlobDomains: false,
  allowWildcardCertificates: true,
  allowAnyName: false,
  allowLocalhost: true,
  enforceHostnames: true,
  allowIpSans: true,
  allowedUriSans: [],
};
const ok = (p: NamePolicy, n: string) => checkName(p, n) === undefined;

describe('PKI role name policy', () => {
  it('allowed_domains + subdomains: subdomains yes; look-alikes, suffix tricks, trailing dots no', () => {
    for (const n of ['a.example.com', 'b.a.example.com', 'A.Example.COM', 'x-1.example.com']) expect(ok(base, n)).toBe(true);
    for (const n of [
      'example.com',
      'evil-example.com',
      'example.com.evil.com',
      'aexample.com',
      'a.example.com.',
      'a..example.com',
      '.example.com',
      '-a.example.com',
      'a_b.example.com',
      'a.example.co',
    ])
      expect(ok(base, n)).toBe(false);
  });

  it('no Unicode or case-folding look-alikes (Kelvin sign, fullwidth, ideographic full stop, dotless i)', () => {
    const key = { ...base, allowedDomains: ['key.com'] };
    expect(ok(key, 'a.key.com')).toBe(true);
    // U+212A KELVIN SIGN lower-cases to an ASCII "k".
    expect('\u212a'.toLowerCase()).toBe('k');
    expect(ok(key, 'a.\u212aey.com')).toBe(false);
    for (const n of ['a.\uff45xample.com', 'a.example.com\u3002', 'a.\u0131xample.com']) expect(ok(base, n)).toBe(false);
  });

  it('bare domains only with allow_bare_domains; wildcards only as a whole leftmost label and through subdomains or globs', () => {
    expect(ok({ ...base, allowBareDomains: true }, 'example.com')).toBe(true);
    expect(ok({ ...base, allowBareDomains: true }, 'EXAMPLE.com')).toBe(true);
    expect(ok(base, '*.example.com')).toBe(true);
    expect(ok({ ...base, allowWildcardCertificates: false }, '*.example.com')).toBe(false);
    // Undeclared wildcards: bare domains alone do not vouch for *.example.com.
    expect(ok({ ...base, allowSubdomains: false, allowBareDomains: true }, '*.example.com')).toBe(false);
    for (const n of ['a*.example.com', '*a.example.com', 'a.*.example.com', '*.*.example.com', '*', '*.com']) expect(ok(base, n)).toBe(false);
  });

  it('globs (allow_glob_domains): * spans any characters, but the name must still be a hostname', () => {
    const glob = { ...base, allowSubdomains: false, allowGlobDomains: true, allowedDomains: ['*.svc.example.com', 'db-*.example.com'] };
    for (const n of ['a.svc.example.com', 'x.y.svc.example.com', 'db-1.example.com']) expect(ok(glob, n)).toBe(true);
    for (const n of ['svc.example.com', 'db.example.com', 'a.svc.example.com.evil.com', 'a.svc.example.com.']) expect(ok(glob, n)).toBe(false);
    expect(ok({ ...glob, allowGlobDomains: false }, 'a.svc.example.com')).toBe(false);
  });

  it('emails: the domain part is checked; wildcard emails are refused', () => {
    expect(ok(base, 'alice@a.example.com')).toBe(true);
    expect(ok({ ...base, allowBareDomains: true }, 'alice@example.com')).toBe(true);
    for (const n of ['alice@evil.com', 'alice@*.example.com', '@a.example.com', 'a@b@a.example.com']) expect(ok(base, n)).toBe(false);
  });

  it('localhost; allow_any_name still enforces hostnames unless told not to', () => {
    expect(ok(base, 'localhost')).toBe(true);
    expect(ok({ ...base, allowLocalhost: false }, 'localhost')).toBe(false);
    expect(ok({ ...base, allowAnyName: true }, 'anything.org')).toBe(true);
    expect(ok({ ...base, allowAnyName: true }, 'not a host')).toBe(false);
    expect(ok({ ...base, allowAnyName: true, enforceHostnames: false }, 'My Service')).toBe(true);
    expect(ok({ ...base, enforceHostnames: false }, 'My Service')).toBe(false);
  });

  it('IP and URI SANs', () => {
    expect(checkIpSan(base, '10.0.0.1')).toBeUndefined();
    expect(checkIpSan(base, '::1')).toBeUndefined();
    expect(checkIpSan(base, '2001:db8::1')).toBeUndefined();
    expect(checkIpSan(base, '10.0.0.256')).toMatch(/not a valid IP/);
    expect(checkIpSan(base, 'example.com')).toMatch(/not a valid IP/);
    expect(checkIpSan({ ...base, allowIpSans: false }, '10.0.0.1')).toMatch(/not allowed/);
    const uris = { ...base, allowedUriSans: ['spiffe://example.org/*'] };
    expect(checkUriSan(uris, 'spiffe://example.org/ns/a')).toBeUndefined();
    expect(checkUriSan(uris, 'spiffe://evil.org/ns/a')).toMatch(/not allowed/);
    expect(checkUriSan(base, 'spiffe://example.org/a')).toMatch(/not allowed/);
  });

  it('glob matching', () => {
    expect(globMatches('a*c', 'abc')).toBe(true);
    expect(globMatches('a*c', 'ac')).toBe(true);
    expect(globMatches('a*c*e', 'abcde')).toBe(true);
    expect(globMatches('a*c', 'abd')).toBe(false);
    expect(globMatches('*b*', 'b')).toBe(true);
    expect(globMatches('ab*ba', 'aba')).toBe(false);
  });
});
