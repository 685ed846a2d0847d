/**
 * Checks of the issuer and key fields a request writes (pure), with Vault's messages
 * (path_fetch_issuers.go, path_fetch_keys.go, issuing/issuers.go).
 */
import { badRequest } from '../../kernel/errors';
import { ALL_USAGES, usageNames, type IssuerUsage } from './issuers';
import type { LeafNotAfterBehavior } from './validity';

/** Vault's framework.GenericNameRegex: what issuer and key names may be. */
const NAME = /^\w(?:[\w.-]*\w)?$/;

/** A new issuer name, trimmed ('' when none is given); throws Vault's 400 for `default` and bad characters. */
export function issuerName(raw: unknown, what: 'issuer' | 'key' = 'issuer'): string {
  const name = typeof raw === 'string' ? raw.trim() : '';
  if (!name) return '';
  if (name.toLowerCase() === 'default') throw badRequest(`reserved keyword 'default' can not be used as ${what} name`);
  if (!NAME.test(name)) throw badRequest(`${what} name contained invalid characters`);
  return name;
}

export const nameInUse = (what: 'issuer' | 'key') => badRequest(`${what} name already in use`);

const BEHAVIORS: readonly LeafNotAfterBehavior[] = ['err', 'truncate', 'permit', 'always_enforce_err'];

export function leafNotAfterBehavior(raw: unknown): LeafNotAfterBehavior {
  if (typeof raw === 'string' && (BEHAVIORS as readonly string[]).includes(raw)) return raw as LeafNotAfterBehavior;
  throw badRequest('Unknown value for field `leaf_not_after_behavior`. Possible values are `err`, `truncate`, and `permit`.');
}

/** Usages from names (read-only is implicit); Vault's message lists what was given as Go prints a slice. */
export function issuerUsage(raw: string[]): IssuerUsage[] {
  const names = raw.map((n) => n.trim()).filter((n) => n !== '');
  if (names.some((n) => !(ALL_USAGES as string[]).includes(n)))
    throw badRequest(`Unable to parse specified usages: [${raw.join(' ')}] - valid values are ${usageNames(ALL_USAGES)}`);
  return ALL_USAGES.filter((u) => u === 'read-only' || names.includes(u));
}
