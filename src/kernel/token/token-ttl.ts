/**
 * Token TTL arithmetic (pure). All times in milliseconds since the epoch, durations in seconds.
 *
 * Invariants: a token never outlives its hard cap (`maxExpiresAt`: the parent's expiry, the
 * explicit max TTL, the max TTL it was issued under and the system max, whichever is soonest); a renewal counts from now and is
 * capped the same way; periodic tokens renew to their period, capped only by the explicit max.
 */
export const SYSTEM_DEFAULT_TTL_SECONDS = 768 * 3600;
export const SYSTEM_MAX_TTL_SECONDS = 768 * 3600;

export interface TtlRequest {
  now: number;
  ttlSeconds?: number;
  explicitMaxTtlSeconds?: number;
  periodSeconds?: number;
  /** A cap below the system max (an auth role's or mount's max TTL); renewals stop there too. */
  maxTtlSeconds?: number;
  /** The parent's expiry (ms), when the parent expires. */
  parentExpiresAt?: number | null;
}

export interface TtlResult {
  ttlSeconds: number;
  expiresAt: number | null;
  maxExpiresAt: number | null;
}

function minDefined(...values: (number | null | undefined)[]): number | null {
  const defined = values.filter((v): v is number => typeof v === 'number');
  return defined.length ? Math.min(...defined) : null;
}

export function initialTtl(req: TtlRequest): TtlResult {
  const explicitCap = req.explicitMaxTtlSeconds ? req.now + req.explicitMaxTtlSeconds * 1000 : null;
  if (req.periodSeconds) {
    const maxExpiresAt = minDefined(explicitCap, req.parentExpiresAt);
    const expiresAt = minDefined(req.now + req.periodSeconds * 1000, maxExpiresAt) as number;
    return { ttlSeconds: req.periodSeconds, expiresAt, maxExpiresAt };
  }
  const systemCap = req.now + Math.min(req.maxTtlSeconds || SYSTEM_MAX_TTL_SECONDS, SYSTEM_MAX_TTL_SECONDS) * 1000;
  const maxExpiresAt = minDefined(explicitCap, req.parentExpiresAt, systemCap);
  const wanted = req.ttlSeconds && req.ttlSeconds > 0 ? req.ttlSeconds : SYSTEM_DEFAULT_TTL_SECONDS;
  const expiresAt = minDefined(req.now + wanted * 1000, maxExpiresAt) as number;
  return { ttlSeconds: Math.round((expiresAt - req.now) / 1000), expiresAt, maxExpiresAt };
}

/** The new expiry after a renewal with `incrementSeconds` (0: the token's own TTL or period). */
export function renewedExpiry(
  now: number,
  token: { ttlSeconds: number; periodSeconds: number; maxExpiresAt: number | null },
  incrementSeconds: number,
): number {
  const step = token.periodSeconds || incrementSeconds || token.ttlSeconds || SYSTEM_DEFAULT_TTL_SECONDS;
  const wanted = now + step * 1000;
  return token.maxExpiresAt === null ? wanted : Math.min(wanted, token.maxExpiresAt);
}
