/** auth/token/roles and auth/token/roles/:role_name: token role CRUD (declared fields, Vault's names). */
import type { Fields } from '../../framework/fields';
import { logical, type RequestContext, type RouteDefinition } from '../../framework/route';
import { isValidCidr } from '../../kernel/cidr';
import { badRequest, notFound } from '../../kernel/errors';
import { normalisePolicyName } from '../../kernel/policy/policy-parser';
import { defaultTokenRole, type TokenRole, type TokenTypeSetting } from './token-role';
import type { TokenRoleRepository } from './token-role.repository';

const ROLE_FIELDS: Fields = {
  allowed_policies: { type: 'string-list', description: 'Policies tokens from this role may have (empty: bounded by the parent).' },
  disallowed_policies: { type: 'string-list', description: 'Policies tokens from this role may never have.' },
  allowed_policies_glob: { type: 'string-list', description: 'Like allowed_policies, with * globs.' },
  disallowed_policies_glob: { type: 'string-list', description: 'Like disallowed_policies, with * globs.' },
  orphan: { type: 'bool', description: 'Tokens are orphans (no sudo needed).' },
  renewable: { type: 'bool', description: 'Tokens can be renewed (default true).' },
  path_suffix: { type: 'string', description: 'Appended to the creation path, e.g. a version.' },
  allowed_entity_aliases: { type: 'string-list', description: 'Accepted for compatibility (no identity store).' },
  token_bound_cidrs: { type: 'string-list', description: 'CIDRs tokens may be used from.' },
  token_explicit_max_ttl: { type: 'duration', description: 'Hard cap on the lifetime of tokens.' },
  token_no_default_policy: { type: 'bool', description: 'Do not add the default policy.' },
  token_num_uses: { type: 'int', description: 'Uses per token (0: unlimited).' },
  token_period: { type: 'duration', description: 'Make periodic tokens with this period.' },
  token_type: { type: 'string', allowed: ['service', 'batch', 'default-service', 'default-batch', 'default'], description: 'Type of token issued.' },
  period: { type: 'duration', description: 'Deprecated alias of token_period.' },
  explicit_max_ttl: { type: 'duration', description: 'Deprecated alias of token_explicit_max_ttl.' },
  bound_cidrs: { type: 'string-list', description: 'Deprecated alias of token_bound_cidrs.' },
};

function policyList(values: string[]): string[] {
  return [...new Set(values.map(normalisePolicyName).filter((p) => p !== ''))];
}

/** Applies the request's fields over `role` (a role write changes only what it names). */
function applyFields(role: TokenRole, d: Record<string, unknown>): TokenRole {
  const next = { ...role };
  const list = (k: string) => d[k] as string[] | undefined;
  if (list('allowed_policies')) next.allowedPolicies = policyList(list('allowed_policies') as string[]);
  if (list('disallowed_policies')) next.disallowedPolicies = policyList(list('disallowed_policies') as string[]);
  if (list('allowed_policies_glob')) next.allowedPoliciesGlob = list('allowed_policies_glob') as string[];
  if (list('disallowed_policies_glob')) next.disallowedPoliciesGlob = list('disallowed_policies_glob') as string[];
  if (list('allowed_entity_aliases')) next.allowedEntityAliases = list('allowed_entity_aliases') as string[];
  if (typeof d.orphan === 'boolean') next.orphan = d.orphan;
  if (typeof d.renewable === 'boolean') next.renewable = d.renewable;
  if (typeof d.token_no_default_policy === 'boolean') next.tokenNoDefaultPolicy = d.token_no_default_policy;
  if (typeof d.path_suffix === 'string') {
    if (d.path_suffix.includes('..')) throw badRequest('error registering path suffix: path suffix cannot contain ".."');
    next.pathSuffix = d.path_suffix.replace(/^\/+|\/+$/g, '');
  }
  const cidrs = list('token_bound_cidrs') ?? list('bound_cidrs');
  if (cidrs) {
    for (const c of cidrs) if (!isValidCidr(c)) throw badRequest('invalid CIDR in token_bound_cidrs');
    next.tokenBoundCidrs = cidrs;
  }
  const maxTtl = d.token_explicit_max_ttl ?? d.explicit_max_ttl;
  if (typeof maxTtl === 'number') next.tokenExplicitMaxTtl = maxTtl;
  const period = d.token_period ?? d.period;
  if (typeof period === 'number') next.tokenPeriod = period;
  if (typeof d.token_num_uses === 'number') {
    if (d.token_num_uses < 0) throw badRequest('token_num_uses cannot be negative');
    next.tokenNumUses = d.token_num_uses;
  }
  if (typeof d.token_type === 'string') next.tokenType = (d.token_type === 'default' ? 'default-service' : d.token_type) as TokenTypeSetting;
  if (next.allowedPolicies.includes('root')) throw badRequest('root may not be an allowed policy of a token role');
  if (next.tokenType === 'batch' && (next.tokenPeriod || next.tokenNumUses)) throw badRequest('batch tokens cannot be periodic or have a limited number of uses');
  return next;
}

/** Vault's role read shape. */
function roleOutput(r: TokenRole): Record<string, unknown> {
  return {
    allowed_entity_aliases: r.allowedEntityAliases,
    allowed_policies: r.allowedPolicies,
    allowed_policies_glob: r.allowedPoliciesGlob,
    disallowed_policies: r.disallowedPolicies,
    disallowed_policies_glob: r.disallowedPoliciesGlob,
    explicit_max_ttl: r.tokenExplicitMaxTtl,
    name: r.name,
    orphan: r.orphan,
    path_suffix: r.pathSuffix,
    period: r.tokenPeriod,
    renewable: r.renewable,
    token_bound_cidrs: r.tokenBoundCidrs,
    token_explicit_max_ttl: r.tokenExplicitMaxTtl,
    token_no_default_policy: r.tokenNoDefaultPolicy,
    token_num_uses: r.tokenNumUses,
    token_period: r.tokenPeriod,
    token_type: r.tokenType,
  };
}

export function tokenRolePaths(roles: TokenRoleRepository): RouteDefinition[] {
  const name = (ctx: RequestContext) => {
    const n = ctx.params.role_name.trim().toLowerCase();
    if (!/^[a-z0-9_.-]+$/.test(n)) throw badRequest(`invalid role name ${JSON.stringify(ctx.params.role_name)}`);
    return n;
  };
  return [
    { path: 'roles', auth: 'token', allowedWhileSealed: false, help: 'List token roles.', handlers: { list: async () => logical({ keys: await roles.names() }) } },
    {
      path: 'roles/:role_name',
      auth: 'token',
      allowedWhileSealed: false,
      fields: ROLE_FIELDS,
      existenceCheck: async (ctx) => (await roles.get(name(ctx))) !== undefined,
      help: 'Create, update, read or delete a token role.',
      handlers: {
        read: async (ctx) => {
          const role = await roles.get(name(ctx));
          if (!role) throw notFound();
          return logical(roleOutput(role));
        },
        update: async (ctx) => {
          const n = name(ctx);
          await roles.put(applyFields((await roles.get(n)) ?? defaultTokenRole(n), ctx.data));
          return null;
        },
        delete: async (ctx) => {
          await roles.delete(name(ctx));
          return null;
        },
      },
    },
  ];
}
