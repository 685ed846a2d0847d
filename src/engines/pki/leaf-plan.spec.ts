import { planLeaf, type CsrNames, type LeafRequest } from './leaf-plan';
import { roleFrom } from './pki-role';

const role = roleFrom({ allowed_domains: ['example.com'], allow_subdomains: true, max_ttl: 86400, ttl: 3600 });
const req = (r: Partial<LeafRequest> = {}): LeafRequest => ({ altNames: [], ipSans: [], uriSans: [], ttl: 0, excludeCnFromSans: false, ...r });
const csr = (c: Partial<CsrNames> = {}): CsrNames => ({ dnsNames: [], emails: [], ipAddresses: [], uris: [], requestsCa: false, ...c });
const issuerEnd = new Date(Date.now() + 365 * 86400_000);
const limits = { mountDefault: 768 * 3600, mountMax: 768 * 3600 };
const now = new Date('2026-11-23T00:00:00Z');

describe('leaf certificate plan', () => {
  it('CN goes into the DNS SANs; TTL from the role; usages from the flags', () => {
    const p = planLeaf(
      role,
      req({ commonName: 'a.example.com', altNames: ['b.example.com', 'ops@a.example.com'], ipSans: ['10.0.0.1'] }),
      undefined,
      issuerEnd,
      limits,
      now,
    );
    expect(p).toMatchObject({
      commonName: 'a.example.com',
      dnsNames: ['a.example.com', 'b.example.com'],
      emails: ['ops@a.example.com'],
      ipAddresses: ['10.0.0.1'],
      extKeyUsage: ['ServerAuth', 'ClientAuth'],
    });
    expect(p.notAfter.getTime() - now.getTime()).toBe(3600_000);
    expect(now.getTime() - p.notBefore.getTime()).toBe(30_000);
    expect(planLeaf(role, req({ commonName: 'a.example.com', excludeCnFromSans: true }), undefined, issuerEnd, limits, now).dnsNames).toEqual([]);
  });

  it('CSR SANs outside the role are refused even when the request names nothing; CA:true CSRs are refused', () => {
    expect(() => planLeaf(role, req(), csr({ commonName: 'a.example.com', dnsNames: ['evil.com'] }), issuerEnd, limits, now)).toThrow(
      '"evil.com" is not an allowed name',
    );
    expect(() => planLeaf(role, req(), csr({ commonName: 'a.example.com', emails: ['x@evil.com'] }), issuerEnd, limits, now)).toThrow('not an allowed name');
    expect(() =>
      planLeaf(
        roleFrom({ ...{ allowed_domains: ['example.com'], allow_subdomains: true }, allowed_uri_sans: [] }),
        req(),
        csr({ commonName: 'a.example.com', uris: ['spiffe://x/y'] }),
        issuerEnd,
        limits,
        now,
      ),
    ).toThrow('URI Subject Alternative Name');
    expect(() => planLeaf(role, req(), csr({ commonName: 'evil.com' }), issuerEnd, limits, now)).toThrow('"evil.com" is not an allowed name');
    expect(() => planLeaf(role, req(), csr({ commonName: 'a.example.com', requestsCa: true }), issuerEnd, limits, now)).toThrow('CA:TRUE');
    // use_csr_sans=false: the CSR's SANs are not copied, so they cannot sneak in.
    const noCsrSans = roleFrom({ allowed_domains: ['example.com'], allow_subdomains: true, use_csr_sans: false });
    expect(planLeaf(noCsrSans, req(), csr({ commonName: 'a.example.com', dnsNames: ['evil.com'] }), issuerEnd, limits, now).dnsNames).toEqual([
      'a.example.com',
    ]);
  });

  it('a common name is required unless require_cn=false; the CSR common name is used unless use_csr_common_name=false', () => {
    expect(() => planLeaf(role, req(), undefined, issuerEnd, limits, now)).toThrow('the common_name field is required');
    expect(planLeaf(role, req(), csr({ commonName: 'c.example.com' }), issuerEnd, limits, now).commonName).toBe('c.example.com');
    expect(() =>
      planLeaf(
        roleFrom({ allowed_domains: ['example.com'], allow_subdomains: true, use_csr_common_name: false }),
        req(),
        csr({ commonName: 'c.example.com' }),
        issuerEnd,
        limits,
        now,
      ),
    ).toThrow('the common_name field is required');
    expect(
      planLeaf(
        roleFrom({ require_cn: false, allowed_domains: ['example.com'], allow_subdomains: true }),
        req({ altNames: ['d.example.com'] }),
        undefined,
        issuerEnd,
        limits,
        now,
      ).commonName,
    ).toBeUndefined();
  });

  it('TTL beyond max_ttl is capped with a warning; validity beyond the issuer is an error', () => {
    const p = planLeaf(role, req({ commonName: 'a.example.com', ttl: 10 * 86400 }), undefined, issuerEnd, limits, now);
    expect(p.notAfter.getTime() - now.getTime()).toBe(86400_000);
    expect(p.warnings[0]).toContain('maxTTL is being used');
    expect(() => planLeaf(role, req({ commonName: 'a.example.com' }), undefined, new Date(now.getTime() + 1800_000), limits, now)).toThrow(
      'beyond the expiration of the CA certificate',
    );
  });

  it('beyond the issuer: its leaf_not_after_behavior decides (err refuses, truncate cuts to it, permit lets through)', () => {
    const soon = new Date(now.getTime() + 1800_000);
    const ask = (behavior: 'err' | 'truncate' | 'permit') =>
      planLeaf(role, req({ commonName: 'a.example.com' }), undefined, { notAfter: soon, behavior }, limits, now);
    expect(() => ask('err')).toThrow('beyond the expiration of the CA certificate');
    expect(ask('truncate').notAfter).toEqual(soon);
    expect(ask('permit').notAfter.getTime() - now.getTime()).toBe(3600_000);
  });
});
