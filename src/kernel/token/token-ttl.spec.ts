import { initialTtl, renewedExpiry, SYSTEM_MAX_TTL_SECONDS } from './token-ttl';

const now = 1_000_000_000_000;

describe('token TTLs', () => {
  it('defaults to the system TTL and caps at the system max', () => {
    expect(initialTtl({ now }).ttlSeconds).toBe(SYSTEM_MAX_TTL_SECONDS);
    expect(initialTtl({ now, ttlSeconds: 10 * SYSTEM_MAX_TTL_SECONDS }).ttlSeconds).toBe(SYSTEM_MAX_TTL_SECONDS);
  });
  it('a child never outlives its parent', () => {
    const r = initialTtl({ now, ttlSeconds: 3600, parentExpiresAt: now + 60_000 });
    expect(r).toMatchObject({ ttlSeconds: 60, expiresAt: now + 60_000, maxExpiresAt: now + 60_000 });
  });
  it('explicit max TTL caps creation and renewals', () => {
    const r = initialTtl({ now, ttlSeconds: 3600, explicitMaxTtlSeconds: 600 });
    expect(r.ttlSeconds).toBe(600);
    expect(renewedExpiry(now + 500_000, { ttlSeconds: 600, periodSeconds: 0, maxExpiresAt: r.maxExpiresAt }, 3600)).toBe(now + 600_000);
  });
  it('a max TTL below the system max caps creation and renewals', () => {
    const r = initialTtl({ now, ttlSeconds: 3600, maxTtlSeconds: 900 });
    expect(r).toMatchObject({ ttlSeconds: 900, maxExpiresAt: now + 900_000 });
    expect(renewedExpiry(now + 800_000, { ttlSeconds: 900, periodSeconds: 0, maxExpiresAt: r.maxExpiresAt }, 3600)).toBe(now + 900_000);
    expect(initialTtl({ now, maxTtlSeconds: 10 * SYSTEM_MAX_TTL_SECONDS }).ttlSeconds).toBe(SYSTEM_MAX_TTL_SECONDS);
  });
  it('periodic tokens renew to their period without the system max', () => {
    const r = initialTtl({ now, periodSeconds: 120 });
    expect(r).toMatchObject({ ttlSeconds: 120, maxExpiresAt: null });
    expect(renewedExpiry(now + 10 * SYSTEM_MAX_TTL_SECONDS * 1000, { ttlSeconds: 120, periodSeconds: 120, maxExpiresAt: null }, 5)).toBe(
      now + 10 * SYSTEM_MAX_TTL_SECONDS * 1000 + 120_000,
    );
  });
  it('renewal counts from now with the increment', () => {
    expect(renewedExpiry(now, { ttlSeconds: 60, periodSeconds: 0, maxExpiresAt: null }, 30)).toBe(now + 30_000);
    expect(renewedExpiry(now, { ttlSeconds: 60, periodSeconds: 0, maxExpiresAt: null }, 0)).toBe(now + 60_000);
  });
});
