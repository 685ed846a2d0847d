/**
 * Vault's per-field role paths of AppRole: `role/:role_name/<field>` reads, sets (POST) or resets
 * (DELETE, to the default) one setting of a role. Each write goes through the same checks as a
 * whole-role write (applyRoleFields), so a role never breaks an invariant by one field.
 */
import type { Fields } from '../../framework/fields';
import { logical, type RequestContext, type RouteDefinition } from '../../framework/route';
import { badRequest } from '../../kernel/errors';
import { applyRoleFields, ROLE_FIELDS, type AppRole, type RoleFieldData } from './approle-role';
import type { AppRoleRepository } from './approle.repository';
import { roleOf, saveRole } from './approle-role.paths';

interface FieldPath {
  segment: string;
  /** Accepted input names; the first is the one a missing value is reported by. */
  inputs: (keyof typeof ROLE_FIELDS)[];
  read(r: AppRole): Record<string, unknown>;
  /** What DELETE writes (the default); absent: the path is read-only. */
  reset?: RoleFieldData;
}

const FIELD_PATHS: FieldPath[] = [
  {
    segment: 'policies',
    inputs: ['token_policies', 'policies'],
    read: (r) => ({ policies: r.tokenPolicies, token_policies: r.tokenPolicies }),
    reset: { token_policies: [] },
  },
  { segment: 'bound-cidr-list', inputs: ['bound_cidr_list'], read: (r) => ({ bound_cidr_list: r.secretIdBoundCidrs }), reset: { secret_id_bound_cidrs: [] } },
  {
    segment: 'secret-id-bound-cidrs',
    inputs: ['secret_id_bound_cidrs'],
    read: (r) => ({ secret_id_bound_cidrs: r.secretIdBoundCidrs }),
    reset: { secret_id_bound_cidrs: [] },
  },
  { segment: 'token-bound-cidrs', inputs: ['token_bound_cidrs'], read: (r) => ({ token_bound_cidrs: r.tokenBoundCidrs }), reset: { token_bound_cidrs: [] } },
  { segment: 'bind-secret-id', inputs: ['bind_secret_id'], read: (r) => ({ bind_secret_id: r.bindSecretId }), reset: { bind_secret_id: true } },
  { segment: 'local-secret-ids', inputs: [], read: () => ({ local_secret_ids: false }) },
  { segment: 'secret-id-num-uses', inputs: ['secret_id_num_uses'], read: (r) => ({ secret_id_num_uses: r.secretIdNumUses }), reset: { secret_id_num_uses: 0 } },
  { segment: 'secret-id-ttl', inputs: ['secret_id_ttl'], read: (r) => ({ secret_id_ttl: r.secretIdTtl }), reset: { secret_id_ttl: 0 } },
  { segment: 'period', inputs: ['token_period', 'period'], read: (r) => ({ period: r.tokenPeriod, token_period: r.tokenPeriod }), reset: { token_period: 0 } },
  { segment: 'token-num-uses', inputs: ['token_num_uses'], read: (r) => ({ token_num_uses: r.tokenNumUses }), reset: { token_num_uses: 0 } },
  { segment: 'token-ttl', inputs: ['token_ttl'], read: (r) => ({ token_ttl: r.tokenTtl }), reset: { token_ttl: 0 } },
  { segment: 'token-max-ttl', inputs: ['token_max_ttl'], read: (r) => ({ token_max_ttl: r.tokenMaxTtl }), reset: { token_max_ttl: 0 } },
];

function fieldsOf(inputs: FieldPath['inputs']): Fields {
  return Object.fromEntries(inputs.map((name) => [name, ROLE_FIELDS[name]]));
}

export function appRoleFieldPaths(roles: AppRoleRepository): RouteDefinition[] {
  return FIELD_PATHS.map((f): RouteDefinition => {
    const update = async (ctx: RequestContext) => {
      const given = Object.fromEntries(f.inputs.filter((name) => ctx.data[name] !== undefined).map((name) => [name, ctx.data[name]]));
      if (Object.keys(given).length === 0) throw badRequest(`missing ${f.inputs[0]}`);
      // bound_cidr_list is the deprecated name of secret_id_bound_cidrs (applyRoleFields reads both).
      return saveRole(roles, ctx, applyRoleFields(await roleOf(roles, ctx), given));
    };
    const reset = f.reset;
    return {
      path: `role/:role_name/${f.segment}`,
      fields: f.inputs.length > 0 ? fieldsOf(f.inputs) : undefined,
      pureOperations: ['read'],
      help: `Read${reset ? ', set or reset' : ''} the ${f.segment.replace(/-/g, ' ')} setting of an AppRole role.`,
      handlers: {
        read: async (ctx) => logical(f.read(await roleOf(roles, ctx))),
        ...(reset ? { update, delete: async (ctx: RequestContext) => saveRole(roles, ctx, applyRoleFields(await roleOf(roles, ctx), reset)) } : {}),
      },
    };
  });
}
