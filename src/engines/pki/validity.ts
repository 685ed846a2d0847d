/**
 * How long a certificate this engine signs is valid (pure), as Vault's
 * `issuing.GetCertificateNotAfter` and `ApplyIssuerLeafNotAfterBehavior` decide it, for roots,
 * intermediates and leaves alike.
 *
 * Invariants: a TTL of 0 means the role's TTL, else the mount's default; a TTL above the maximum
 * (the role's max_ttl, else the mount's max) is capped to it with Vault's warning, never refused;
 * a root has no issuer to stay within; a certificate that would outlive its issuer is refused,
 * truncated to the issuer's notAfter or let through as the issuer's leaf_not_after_behavior says;
 * root/sign-intermediate truncates unless asked to enforce that behavior (Vault 1.17 on).
 */
import { SYSTEM_DEFAULT_LEASE_TTL, SYSTEM_MAX_LEASE_TTL, type MountEntry } from '../../framework/backend';
import { goDuration } from '../../framework/field-types';
import { badRequest } from '../../kernel/errors';

/** Vault's issuer `leaf_not_after_behavior` values (certutil.NotAfterBehavior). */
export type LeafNotAfterBehavior = 'err' | 'truncate' | 'permit' | 'always_enforce_err';

/** Vault's leaf_not_after_behavior of a new issuer. */
export const ISSUER_LEAF_NOT_AFTER_BEHAVIOR: LeafNotAfterBehavior = 'err';

/** Vault's warning when root/sign-intermediate cut the intermediate's validity to its issuer's (path_root.go). */
export const INTERMEDIATE_TRUNCATED_WARNING = "the signed intermediary CA certificate's notAfter was truncated to the issuer's notAfter";
/** Vault's warning when a signed intermediate outlives its issuer (leaf_not_after_behavior permit, enforced). */
export const INTERMEDIATE_OUTLIVES_ISSUER_WARNING =
  "The expiration time for the signed certificate is after the CA's expiration time. If the new certificate is not treated as a root, validation paths with the certificate past the issuing CA's expiration time will fail.";

/** Seconds: the mount's effective default and max lease TTL (0 in its config: the system's 768h). */
export interface TtlLimits {
  mountDefault: number;
  mountMax: number;
}

export const mountTtlLimits = (mount: MountEntry): TtlLimits => ({
  mountDefault: mount.config.defaultLeaseTtl || SYSTEM_DEFAULT_LEASE_TTL,
  mountMax: mount.config.maxLeaseTtl || SYSTEM_MAX_LEASE_TTL,
});

/** The TTL to sign with, in seconds, and Vault's warning when the requested one was capped. */
export function resolveTtl(
  requested: number,
  limits: TtlLimits,
  role: { ttl: number; maxTtl: number } = { ttl: 0, maxTtl: 0 },
): { ttl: number; warnings: string[] } {
  const max = role.maxTtl || limits.mountMax;
  const ttl = requested || role.ttl || limits.mountDefault;
  if (ttl <= max) return { ttl, warnings: [] };
  return { ttl: max, warnings: [`TTL "${goDuration(ttl)}" is longer than permitted maxTTL "${goDuration(max)}", so maxTTL is being used`] };
}

/**
 * `now` plus the TTL, judged against the issuer to the millisecond as Vault judges it (to the
 * nanosecond), then cut to the second, as the certificate holds it.
 */
export function notAfterWithin(ttl: number, now: Date, issuerNotAfter: Date, behavior: LeafNotAfterBehavior): Date {
  return toSecond(applyLeafNotAfterBehavior(new Date(now.getTime() + ttl * 1000), issuerNotAfter, behavior));
}

const toSecond = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

/** Go's time.RFC3339Nano of a UTC time: the fraction without trailing zeros, none when whole. */
export function rfc3339Nano(d: Date): string {
  return d.toISOString().replace(/\.(\d*?)0*Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

/** The notAfter the issuer allows for `notAfter`: itself, the issuer's own (truncate), or a 400. */
export function applyLeafNotAfterBehavior(notAfter: Date, issuerNotAfter: Date, behavior: LeafNotAfterBehavior): Date {
  if (notAfter <= issuerNotAfter || behavior === 'permit') return notAfter;
  if (behavior === 'truncate') return issuerNotAfter;
  throw badRequest(
    `cannot satisfy request, as TTL would result in notAfter of ${rfc3339Nano(notAfter)} that is beyond the expiration of the CA certificate at ${rfc3339Nano(issuerNotAfter)}`,
  );
}

/** A root's validity: the TTL resolved against the mount; nothing above it to stay within. */
export function rootValidity(requestedTtl: number, limits: TtlLimits, now: Date): { notAfter: Date; warnings: string[] } {
  const { ttl, warnings } = resolveTtl(requestedTtl, limits);
  return { notAfter: toSecond(new Date(now.getTime() + ttl * 1000)), warnings };
}

/**
 * An intermediate's validity under root/sign-intermediate: the TTL resolved against the mount,
 * then truncated to the issuer's notAfter unless `enforce` (enforce_leaf_not_after_behavior) asks
 * for the issuer's own behavior, which always_enforce_err imposes regardless. Warnings in Vault's
 * order: the cap, then the truncation or the outliving.
 */
export function intermediateValidity(
  requestedTtl: number,
  enforce: boolean,
  issuer: { notAfter: Date; behavior: LeafNotAfterBehavior },
  limits: TtlLimits,
  now: Date,
): { notAfter: Date; warnings: string[] } {
  const { ttl, warnings } = resolveTtl(requestedTtl, limits);
  const truncating = !enforce && issuer.behavior !== 'always_enforce_err';
  const notAfter = notAfterWithin(ttl, now, issuer.notAfter, truncating ? 'truncate' : issuer.behavior);
  if (notAfter > issuer.notAfter) warnings.unshift(INTERMEDIATE_OUTLIVES_ISSUER_WARNING);
  if (truncating && notAfter.getTime() === issuer.notAfter.getTime()) warnings.push(INTERMEDIATE_TRUNCATED_WARNING);
  return { notAfter, warnings };
}
