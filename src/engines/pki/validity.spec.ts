import {
  applyLeafNotAfterBehavior,
  INTERMEDIATE_OUTLIVES_ISSUER_WARNING,
  INTERMEDIATE_TRUNCATED_WARNING,
  intermediateValidity,
  resolveTtl,
  rfc3339Nano,
  rootValidity,
} from './validity';

const H = 3600;
const now = new Date('2026-11-23T00:00:00.400Z');
const whole = new Date('2026-11-23T00:00:00Z').getTime();
const untuned = { mountDefault: 768 * H, mountMax: 768 * H };
const capWarning = 'TTL "8760h0m0s" is longer than permitted maxTTL "768h0m0s", so maxTTL is being used';

describe('certificate validity (Vault GetCertificateNotAfter)', () => {
  it("a TTL of 0 is the role TTL, else the mount default; above the max it is capped with Vault's warning", () => {
    expect(resolveTtl(0, untuned)).toEqual({ ttl: 768 * H, warnings: [] });
    expect(resolveTtl(0, { mountDefault: 2 * H, mountMax: 10 * H })).toEqual({ ttl: 2 * H, warnings: [] });
    expect(resolveTtl(8760 * H, untuned)).toEqual({ ttl: 768 * H, warnings: [capWarning] });
    // A default above a tuned-down max is capped too (Vault does not clamp the default when tuning).
    expect(resolveTtl(0, { mountDefault: 768 * H, mountMax: 90 })).toEqual({
      ttl: 90,
      warnings: ['TTL "768h0m0s" is longer than permitted maxTTL "1m30s", so maxTTL is being used'],
    });
    // The role's ttl and max_ttl come before the mount's; the role's max is not held to the mount's.
    expect(resolveTtl(0, untuned, { ttl: H, maxTtl: 0 }).ttl).toBe(H);
    expect(resolveTtl(1000 * H, untuned, { ttl: H, maxTtl: 900 * H })).toEqual({
      ttl: 900 * H,
      warnings: ['TTL "1000h0m0s" is longer than permitted maxTTL "900h0m0s", so maxTTL is being used'],
    });
  });

  it('a root: now (to the second) plus the resolved TTL, never refused', () => {
    expect(rootValidity(0, untuned, now).notAfter.getTime()).toBe(whole + 768 * H * 1000);
    expect(rootValidity(8760 * H, untuned, now)).toEqual({ notAfter: new Date(whole + 768 * H * 1000), warnings: [capWarning] });
  });

  it('leaf_not_after_behavior: err refuses, truncate cuts to the issuer, permit lets it outlive the issuer', () => {
    const issuerEnd = new Date(whole + H * 1000);
    const late = new Date(whole + 2 * H * 1000);
    for (const b of ['err', 'always_enforce_err'] as const) {
      expect(() => applyLeafNotAfterBehavior(late, issuerEnd, b)).toThrow(
        'cannot satisfy request, as TTL would result in notAfter of 2026-11-23T02:00:00Z that is beyond the expiration of the CA certificate at 2026-11-23T01:00:00Z',
      );
    }
    expect(applyLeafNotAfterBehavior(late, issuerEnd, 'truncate')).toEqual(issuerEnd);
    expect(applyLeafNotAfterBehavior(late, issuerEnd, 'permit')).toEqual(late);
    expect(applyLeafNotAfterBehavior(issuerEnd, issuerEnd, 'err')).toEqual(issuerEnd);
    // Judged to the millisecond before the cut to the second: 0.4 s past the issuer is past it.
    expect(() => intermediateValidity(H, true, { notAfter: issuerEnd, behavior: 'err' }, untuned, now)).toThrow(
      'notAfter of 2026-11-23T01:00:00.4Z that is beyond the expiration of the CA certificate at 2026-11-23T01:00:00Z',
    );
  });

  it("sign-intermediate truncates by default, with Vault's warning; enforce_leaf_not_after_behavior applies the issuer's", () => {
    const issuer = (behavior: 'err' | 'truncate' | 'permit' | 'always_enforce_err') => ({ notAfter: new Date(whole + 100 * H * 1000), behavior });
    const within = intermediateValidity(50 * H, false, issuer('err'), untuned, now);
    expect(within).toEqual({ notAfter: new Date(whole + 50 * H * 1000), warnings: [] });
    // No ttl: the mount's default (768h), beyond the issuer: cut to it.
    expect(intermediateValidity(0, false, issuer('err'), untuned, now)).toEqual({
      notAfter: issuer('err').notAfter,
      warnings: [INTERMEDIATE_TRUNCATED_WARNING],
    });
    expect(intermediateValidity(8760 * H, false, issuer('permit'), untuned, now)).toEqual({
      notAfter: issuer('err').notAfter,
      warnings: [capWarning, INTERMEDIATE_TRUNCATED_WARNING],
    });
    expect(() => intermediateValidity(0, false, issuer('always_enforce_err'), untuned, now)).toThrow('beyond the expiration of the CA certificate');
    expect(() => intermediateValidity(0, true, issuer('err'), untuned, now)).toThrow('beyond the expiration of the CA certificate');
    // Enforced truncate: cut, but without the warning (Vault warns only when it overrode the issuer).
    expect(intermediateValidity(0, true, issuer('truncate'), untuned, now)).toEqual({ notAfter: issuer('err').notAfter, warnings: [] });
    expect(intermediateValidity(0, true, issuer('permit'), untuned, now)).toEqual({
      notAfter: new Date(whole + 768 * H * 1000),
      warnings: [INTERMEDIATE_OUTLIVES_ISSUER_WARNING],
    });
  });

  it("times print as Go's RFC3339Nano: no fraction when whole, no trailing zeros", () => {
    expect(rfc3339Nano(new Date('2026-01-02T03:04:05Z'))).toBe('2026-01-02T03:04:05Z');
    expect(rfc3339Nano(new Date('2026-01-02T03:04:05.120Z'))).toBe('2026-01-02T03:04:05.12Z');
    expect(rfc3339Nano(new Date('2026-01-02T03:04:05.007Z'))).toBe('2026-01-02T03:04:05.007Z');
  });
});
