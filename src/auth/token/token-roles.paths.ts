/** auth/token/roles and auth/token/roles/:role_name: token role CRUD (declared fields, Vault's names). */
import type { FieldData, Fields } from '../../framework/fields';
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { badRequest, notFound } from '../../kernel/errors';
import { normalisePolicyName } from '../../kernel/policy/policy-parser';
import { defaultTokenRole, type TokenRole } from '../../shared/token/token-role';
import { applyTokenSettings, TOKEN_SETTING_FIELDS, tokenSettingsOutput } from '../../shared/token/token-fields';
import type { TokenRoleRepository } from '../../shared/token/token-role.repository';

const ROLE_FIELDS = {
  allowed_policies: { type: 'string-list', description: 'Policies tokens from this role may have (empty: bounded by the parent).' },
  disallowed_policies: { type: 'string-list', description: 'Policies tokens from this role may never have.' },
  allowed_policies_glob: { type: 'string-list', description: 'Like allowed_policies, with * globs.' },
  disallowed_policies_glob: { type: 'string-list', description: 'Like disallowed_policies, with * globs.' },
  orphan: { type: 'bool', description: 'Tokens are orphans (no sudo needed).' },
  renewable: { type: 'bool', description: 'Tokens can be renewed (default true).' },
  path_suffix: { type: 'string', description: 'Appended to the creation path, e.g. a version.' },
  allowed_entity_aliases: { type: 'string-list', description: 'Accepted for compatibility (no identity store).' },
  ...TOKEN_SETTING_FIELDS,
  explicit_max_ttl: { type: 'duration', description: 'Deprecated alias of token_explicit_max_ttl.' },
  bound_cidrs: { type: 'string-list', description: 'Deprecated alias of token_bound_cidrs.' },
} as const satisfies Fields;

function policyList(values: string[]): string[] {
  return [...new Set(values.map(normalisePolicyName).filter((p) => p !== ''))];
}

/** Applies the request's fields over `role` (a role write changes only what it names). */
function applyFields(role: TokenRole, d: FieldData<typeof ROLE_FIELDS, false>): TokenRole {
  const next = { ...role };
  if (d.allowed_policies) next.allowedPolicies = policyList(d.allowed_policies);
  if (d.disallowed_policies) next.disallowedPolicies = policyList(d.disallowed_policies);
  if (d.allowed_policies_glob) next.allowedPoliciesGlob = d.allowed_policies_glob;
  if (d.disallowed_policies_glob) next.disallowedPoliciesGlob = d.disallowed_policies_glob;
  if (d.allowed_entity_aliases) next.allowedEntityAliases = d.allowed_entity_aliases;
  if (typeof d.orphan === 'boolean') next.orphan = d.orphan;
  if (typeof d.renewable === 'boolean') next.renewable = d.renewable;
  if (typeof d.path_suffix === 'string') {
    if (d.path_suffix.includes('..')) throw badRequest('error registering path suffix: path suffix cannot contain ".."');
    next.pathSuffix = d.path_suffix.replace(/^\/+|\/+$/g, '');
  }
  applyTokenSettings(next, d, 'default-service');
  if (next.allowedPolicies.includes('root')) throw badRequest('root may not be an allowed policy of a token role');
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
    ...tokenSettingsOutput(r),
  };
}

export function tokenRolePaths(roles: TokenRoleRepository): RouteDefinition[] {
  const name = (ctx: RequestContext) => {
    const n = ctx.params.role_name.trim().toLowerCase();
    if (!/^[a-z0-9_.-]+$/.test(n)) throw badRequest(`invalid role name ${JSON.stringify(ctx.params.role_name)}`);
    return n;
  };
  return [
    { path: 'roles', help: 'List token roles.', handlers: { list: async () => logical({ keys: await roles.names() }) } },
    route({
      path: 'roles/:role_name',
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
    }),
  ];
}
