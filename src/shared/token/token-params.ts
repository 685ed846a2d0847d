/**
 * Vault's common token parameters (`tokenutil`) of login methods' users and roles: the `token_*`
 * fields (the token_* settings of token-fields.ts plus policies and TTLs), their read shape, and the
 * token a login with them gets.
 *
 * Invariants: policy names are normalised (a name that only becomes `root` by normalisation is
 * refused); token_ttl ≤ token_max_ttl; batch tokens are neither periodic nor limited in uses; a login
 * token never outlives token_max_ttl, token_explicit_max_ttl or the mount's max lease TTL.
 */
import type { MountEntry } from '../../framework/backend';
import type { FieldData, Fields } from '../../framework/fields';
import { smallerNonZero } from '../../framework/limits';
import { badRequest } from '../../kernel/errors';
import type { NewToken } from '../../kernel/token/token-store.service';
import { normaliseRequestedPolicies } from './token-create';
import { applyTokenSettings, TOKEN_SETTING_FIELDS, tokenSettingsOutput, type TokenSettings } from './token-fields';

export interface TokenParams extends TokenSettings {
  policies: string[];
  ttlSeconds: number;
  maxTtlSeconds: number;
  /** Set through the deprecated `policies` field: the read shows `policies` too, as Vault does. */
  legacyPolicies?: boolean;
}

export const TOKEN_PARAM_FIELDS = {
  ...TOKEN_SETTING_FIELDS,
  token_policies: { type: 'string-list', description: 'Policies of the tokens issued.' },
  policies: { type: 'string-list', description: 'Deprecated alias of token_policies.' },
  token_ttl: { type: 'duration', description: 'Initial TTL of the tokens issued (0: the mount default).' },
  token_max_ttl: { type: 'duration', description: 'Maximum lifetime of the tokens issued (0: the mount maximum).' },
} as const satisfies Fields;

export function defaultTokenParams(): TokenParams {
  return {
    policies: [],
    ttlSeconds: 0,
    maxTtlSeconds: 0,
    tokenExplicitMaxTtl: 0,
    tokenPeriod: 0,
    tokenBoundCidrs: [],
    tokenNumUses: 0,
    tokenType: 'default',
    tokenNoDefaultPolicy: false,
  };
}

/** Applies the declared fields present in `d` (a write changes only what it names); throws a 400 on bad values. */
export function applyTokenParams(params: TokenParams, d: FieldData<typeof TOKEN_PARAM_FIELDS, false>): TokenParams {
  const next = { ...params };
  const policies = d.token_policies ?? d.policies;
  if (policies) {
    next.policies = normaliseRequestedPolicies(policies);
    next.legacyPolicies = d.token_policies === undefined ? true : undefined;
  }
  if (typeof d.token_ttl === 'number') next.ttlSeconds = d.token_ttl;
  if (typeof d.token_max_ttl === 'number') next.maxTtlSeconds = d.token_max_ttl;
  applyTokenSettings(next, d, 'default');
  if (next.maxTtlSeconds > 0 && next.ttlSeconds > next.maxTtlSeconds) throw badRequest("'token_ttl' cannot be greater than 'token_max_ttl'");
  if (next.tokenType === 'default-batch' && (next.tokenPeriod || next.tokenNumUses))
    throw badRequest('batch tokens cannot be periodic or have a limited number of uses');
  return next;
}

/** Vault's read shape (tokenutil's PopulateTokenData). */
export function tokenParamsOutput(p: TokenParams): Record<string, unknown> {
  const out: Record<string, unknown> = { ...tokenSettingsOutput(p), token_max_ttl: p.maxTtlSeconds, token_policies: p.policies, token_ttl: p.ttlSeconds };
  if (p.legacyPolicies) out.policies = p.policies;
  return out;
}

/** `default*` token types resolve through the mount's tune `token_type`, then to service. */
function loginTokenType(p: TokenParams, mount: MountEntry): 'service' | 'batch' {
  const setting = p.tokenType === 'default' ? (mount.config.tokenType ?? 'default-service') : p.tokenType;
  return setting === 'batch' || setting === 'default-batch' ? 'batch' : 'service';
}

/** The policies a login token gets: the configured ones plus `default`, unless told not to (or root). */
export function loginPolicies(policies: readonly string[], noDefaultPolicy: boolean): string[] {
  const out = [...policies];
  if (!noDefaultPolicy && !out.includes('default') && !out.includes('root')) out.push('default');
  return out;
}

/**
 * The token a successful login gets (an orphan, as every login token). Vault prefixes the display
 * name with the mount path: `auth/userpass/` + `alice` gives `userpass-alice`.
 */
export function loginToken(p: TokenParams, mount: MountEntry, login: { name: string; creationPath: string; meta: Record<string, string> }): NewToken {
  const policies = loginPolicies(p.policies, p.tokenNoDefaultPolicy);
  const tokenType = loginTokenType(p, mount);
  const source = mount.path.replace(/^auth\//, '').replace(/\//g, '-');
  return {
    policies,
    orphan: true,
    displayName: `${source}${login.name}`,
    creationPath: login.creationPath,
    meta: login.meta,
    renewable: tokenType === 'service',
    ttlSeconds: p.ttlSeconds || mount.config.defaultLeaseTtl || undefined,
    explicitMaxTtlSeconds: smallerNonZero(smallerNonZero(p.tokenExplicitMaxTtl, p.maxTtlSeconds), mount.config.maxLeaseTtl) || undefined,
    periodSeconds: tokenType === 'service' && p.tokenPeriod ? p.tokenPeriod : undefined,
    numUses: tokenType === 'service' ? p.tokenNumUses : 0,
    boundCidrs: p.tokenBoundCidrs,
    tokenType,
  };
}

/** Vault's refusal when a login's policies no longer match its user, role or certificate entry. */
export const POLICIES_CHANGED = 'policies have changed, not renewing';

/** The same set of policies (Vault's EquivalentPolicies, after `default` was added at login). */
export function samePolicies(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((p) => set.has(p));
}
