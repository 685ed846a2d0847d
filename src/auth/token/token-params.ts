/**
 * Vault's common token parameters (`tokenutil`) of login methods' users and roles: the `token_*`
 * fields, their read shape, and the token a login with them gets. Shared by userpass and AppRole.
 *
 * Invariants: policy names are normalised (a name that only becomes `root` by normalisation is
 * refused); token_ttl ≤ token_max_ttl; batch tokens are neither periodic nor limited in uses; a login
 * token never outlives token_max_ttl, token_explicit_max_ttl or the mount's max lease TTL.
 */
import type { MountEntry } from '../../framework/backend';
import type { Fields } from '../../framework/fields';
import { smallerNonZero } from '../../framework/limits';
import { isValidCidr } from '../../kernel/cidr';
import { badRequest } from '../../kernel/errors';
import type { NewToken } from '../../kernel/token/token.store';
import { normaliseRequestedPolicies } from './token-create';

export const TOKEN_TYPES = ['default', 'service', 'batch', 'default-service', 'default-batch'] as const;
export type TokenTypeParam = (typeof TOKEN_TYPES)[number];

export interface TokenParams {
  policies: string[];
  ttlSeconds: number;
  maxTtlSeconds: number;
  explicitMaxTtlSeconds: number;
  periodSeconds: number;
  boundCidrs: string[];
  numUses: number;
  type: TokenTypeParam;
  noDefaultPolicy: boolean;
  /** Set through the deprecated `policies` field: the read shows `policies` too, as Vault does. */
  legacyPolicies?: boolean;
}

export const TOKEN_PARAM_FIELDS: Fields = {
  token_policies: { type: 'string-list', description: 'Policies of the tokens issued.' },
  policies: { type: 'string-list', description: 'Deprecated alias of token_policies.' },
  token_ttl: { type: 'duration', description: 'Initial TTL of the tokens issued (0: the mount default).' },
  token_max_ttl: { type: 'duration', description: 'Maximum lifetime of the tokens issued (0: the mount maximum).' },
  token_explicit_max_ttl: { type: 'duration', description: 'Hard cap on the lifetime of the tokens issued.' },
  token_period: { type: 'duration', description: 'Make periodic tokens with this period.' },
  token_bound_cidrs: { type: 'string-list', description: 'CIDRs the tokens may be used from.' },
  token_num_uses: { type: 'int', description: 'Uses per token (0: unlimited).' },
  token_type: { type: 'string', allowed: TOKEN_TYPES, description: 'Type of token issued: default, service, batch, default-service, default-batch.' },
  token_no_default_policy: { type: 'bool', description: 'Do not add the default policy.' },
};

export function defaultTokenParams(): TokenParams {
  return { policies: [], ttlSeconds: 0, maxTtlSeconds: 0, explicitMaxTtlSeconds: 0, periodSeconds: 0, boundCidrs: [], numUses: 0, type: 'default', noDefaultPolicy: false };
}

/** Applies the declared fields present in `d` (a write changes only what it names); throws a 400 on bad values. */
export function applyTokenParams(params: TokenParams, d: Record<string, unknown>): TokenParams {
  const next = { ...params };
  const policies = (d.token_policies ?? d.policies) as string[] | undefined;
  if (policies) {
    next.policies = normaliseRequestedPolicies(policies);
    next.legacyPolicies = d.token_policies === undefined ? true : undefined;
  }
  if (typeof d.token_ttl === 'number') next.ttlSeconds = d.token_ttl;
  if (typeof d.token_max_ttl === 'number') next.maxTtlSeconds = d.token_max_ttl;
  if (typeof d.token_explicit_max_ttl === 'number') next.explicitMaxTtlSeconds = d.token_explicit_max_ttl;
  if (typeof d.token_period === 'number') next.periodSeconds = d.token_period;
  if (typeof d.token_no_default_policy === 'boolean') next.noDefaultPolicy = d.token_no_default_policy;
  if (typeof d.token_type === 'string') next.type = d.token_type as TokenTypeParam;
  if (typeof d.token_num_uses === 'number') {
    if (d.token_num_uses < 0) throw badRequest('token_num_uses cannot be negative');
    next.numUses = d.token_num_uses;
  }
  const cidrs = d.token_bound_cidrs as string[] | undefined;
  if (cidrs) {
    for (const c of cidrs) if (!isValidCidr(c)) throw badRequest('invalid CIDR in token_bound_cidrs');
    next.boundCidrs = cidrs;
  }
  if (next.maxTtlSeconds > 0 && next.ttlSeconds > next.maxTtlSeconds) throw badRequest("'token_ttl' cannot be greater than 'token_max_ttl'");
  if ((next.type === 'batch' || next.type === 'default-batch') && (next.periodSeconds || next.numUses)) throw badRequest('batch tokens cannot be periodic or have a limited number of uses');
  return next;
}

/** Vault's read shape (tokenutil's PopulateTokenData). */
export function tokenParamsOutput(p: TokenParams): Record<string, unknown> {
  const out: Record<string, unknown> = {
    token_bound_cidrs: p.boundCidrs,
    token_explicit_max_ttl: p.explicitMaxTtlSeconds,
    token_max_ttl: p.maxTtlSeconds,
    token_no_default_policy: p.noDefaultPolicy,
    token_num_uses: p.numUses,
    token_period: p.periodSeconds,
    token_policies: p.policies,
    token_ttl: p.ttlSeconds,
    token_type: p.type,
  };
  if (p.legacyPolicies) out.policies = p.policies;
  return out;
}

/** `default*` token types resolve through the mount's tune `token_type`, then to service. */
function loginTokenType(p: TokenParams, mount: MountEntry): 'service' | 'batch' {
  const setting = p.type === 'default' ? (mount.config.tokenType ?? 'default-service') : p.type;
  return setting === 'batch' || setting === 'default-batch' ? 'batch' : 'service';
}

/**
 * The token a successful login gets (an orphan, as every login token). Vault prefixes the display
 * name with the mount path: `auth/userpass/` + `alice` gives `userpass-alice`.
 */
export function loginToken(p: TokenParams, mount: MountEntry, login: { name: string; creationPath: string; meta: Record<string, string> }): NewToken {
  const policies = [...p.policies];
  if (!p.noDefaultPolicy && !policies.includes('default') && !policies.includes('root')) policies.push('default');
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
    explicitMaxTtlSeconds: smallerNonZero(smallerNonZero(p.explicitMaxTtlSeconds, p.maxTtlSeconds), mount.config.maxLeaseTtl) || undefined,
    periodSeconds: tokenType === 'service' && p.periodSeconds ? p.periodSeconds : undefined,
    numUses: tokenType === 'service' ? p.numUses : 0,
    boundCidrs: p.boundCidrs,
    tokenType,
  };
}
