/**
 * auth/token/create, create-orphan and create/:role_name: service (`hvs.`) and batch (`hvb.`)
 * tokens, shaped by the parent, the request and, when named, a token role.
 */
import { isValidCidr } from '../../kernel/cidr';
import { badRequest } from '../../kernel/errors';
import { normalisePolicyName } from '../../kernel/policy/policy-parser';
import { BatchTokenTooLargeError, TokenConflictError, type NewToken, type TokenInfo, type TokenStore } from '../../kernel/token/token-store.service';
import { toStringValue } from '../../framework/field-types';
import type { Fields } from '../../framework/fields';
import { smallerNonZero } from '../../framework/limits';
import { logical, type RouteContext } from '../../framework/route';
import { rolePolicies, roleTokenType, type TokenRole } from './token-role';
import { childPolicies, TokenPolicyError } from './token-policies';
import type { TokenRoleRepository } from './token-role.repository';
import { authBlock } from './token-output';

function stringMap(name: string, v: unknown): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badRequest(`"${name}" must be a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) out[k] = toStringValue(`${name}.${k}`, value);
  return out;
}

/**
 * Policy names are normalised before anything else. A name that only becomes `root` through
 * normalisation (" root", "ROOT", "root\t") is refused: it can never make a root token.
 */
export function normaliseRequestedPolicies(raw: string[]): string[] {
  const out: string[] = [];
  for (const name of raw) {
    const n = normalisePolicyName(name);
    if (n === '') continue;
    if (n === 'root' && name !== 'root') throw badRequest(`invalid policy name ${JSON.stringify(name)}`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

function isRoot(info: TokenInfo): boolean {
  return info.policies.includes('root');
}

/**
 * The body of auth/token/create. As in Vault, `role_name` is not one of them: a role is chosen by
 * the path only.
 */
export const PLAIN_CREATE_FIELDS = {
  id: { type: 'string', description: 'A chosen token ID (root or sudo only).' },
  policies: {
    type: 'string-list',
    description: "Policies of the token (a subset of the parent's unless the caller has sudo on this path or is root; root only from root).",
  },
  meta: { type: 'string-map', description: 'Metadata shown on lookup and in the audit log.' },
  no_parent: { type: 'bool', description: 'Make an orphan (root or sudo only).' },
  no_default_policy: { type: 'bool', description: 'Do not add the default policy.' },
  renewable: { type: 'bool', description: 'Whether the token can be renewed (default true).' },
  lease: { type: 'duration', description: 'Deprecated alias of ttl.' },
  ttl: { type: 'duration', description: 'Initial TTL.' },
  type: { type: 'string', allowed: ['service', 'batch', 'default'], description: 'service (default) or batch.' },
  explicit_max_ttl: { type: 'duration', description: "Hard cap on the token's lifetime." },
  display_name: { type: 'string', description: 'Display name (prefixed with "token-").' },
  num_uses: { type: 'int', description: 'Number of uses (0: unlimited).' },
  period: { type: 'duration', description: "Make a periodic token (root or sudo only; a role's token_period needs neither)." },
  bound_cidrs: { type: 'string-list', description: 'CIDRs the token may be used from.' },
  entity_alias: { type: 'string', description: 'Accepted for compatibility (no identity store).' },
} as const satisfies Fields;

/** create-orphan and create/:role_name also declare `role_name`, which never selects a role from the body (Vault's). */
export const CREATE_FIELDS = {
  ...PLAIN_CREATE_FIELDS,
  role_name: { type: 'string', description: "On create/:role_name the role is the path's; elsewhere accepted and ignored." },
} as const satisfies Fields;

/**
 * `forceOrphan`: create-orphan. With `roles`, the route carries `:role_name` and the role decides
 * policies, orphan-ness, renewability, period, uses, CIDRs and the token type.
 */
export function createTokenHandler(store: TokenStore, roles: TokenRoleRepository, mode: 'plain' | 'orphan' | 'role') {
  return async (ctx: RouteContext<typeof CREATE_FIELDS>) => {
    const d = ctx.data;
    const parent = ctx.token as TokenInfo;
    if (parent.tokenType === 'batch') throw badRequest('batch tokens cannot create more tokens');
    // Vault's isSudo: sudo on the create path (a root token has it everywhere).
    const privileged = isRoot(parent) || ctx.sudo;
    // The role comes from the path only: a `role_name` in the body selects nothing (Vault's).
    let role: TokenRole | undefined;
    if (mode === 'role') {
      role = await roles.get(ctx.params.role_name);
      if (!role) throw badRequest(`unknown role ${ctx.params.role_name}`);
    }
    const requestedType = d.type;
    if (requestedType !== undefined && !['service', 'batch', 'default'].includes(requestedType))
      throw badRequest(`invalid 'type' value ${JSON.stringify(requestedType)}`);
    let policies: string[];
    let tokenType: 'service' | 'batch';
    let orphan: boolean;
    try {
      const raw = d.policies;
      const requested = raw === undefined ? undefined : normaliseRequestedPolicies(raw);
      const noDefault = d.no_default_policy === true;
      policies = role
        ? rolePolicies(role, requested, parent.policies, role.tokenNoDefaultPolicy || noDefault, privileged)
        : childPolicies({ requested, parentPolicies: parent.policies, sudo: privileged, noDefault });
      tokenType = role ? roleTokenType(role, requestedType) : requestedType === 'batch' ? 'batch' : 'service';
    } catch (err) {
      if (err instanceof TokenPolicyError) throw badRequest(err.message);
      throw err;
    }
    // Through a role, the role decides; otherwise `no_parent` needs sudo, on create-orphan too
    // (Vault's order: create-orphan alone is ACL'd by its path and needs no sudo).
    if (role) orphan = role.orphan;
    else {
      const noParent = d.no_parent === true;
      if (noParent && !privileged) throw badRequest('root or sudo privileges required to create orphan token');
      orphan = mode === 'orphan' || noParent;
    }

    // An empty id is no id.
    const id = d.id || undefined;
    if (id !== undefined) {
      if (!privileged) throw badRequest('root or sudo privileges required to specify token id');
      if (id.includes('.') && !/^hvs\.[A-Za-z0-9]+$/.test(id)) throw badRequest('token IDs can not contain periods');
      if (id.length > 256) throw badRequest('token ID is too long');
    }
    const warnings: string[] = [];
    // A period in the request needs sudo, through a role too (Vault's); the role's own does not.
    let periodSeconds = d.period;
    if (periodSeconds && !privileged) throw badRequest('root or sudo privileges required to create periodic token');
    if (role?.tokenPeriod && tokenType !== 'batch') {
      if (periodSeconds)
        warnings.push(`Period specified both during creation call and in role; using the lesser value of ${Math.min(periodSeconds, role.tokenPeriod)} seconds`);
      periodSeconds = smallerNonZero(periodSeconds ?? 0, role.tokenPeriod);
    }
    const requestedMaxTtl = d.explicit_max_ttl ?? 0;
    const explicitMaxTtl = smallerNonZero(requestedMaxTtl, role?.tokenExplicitMaxTtl ?? 0);
    if (requestedMaxTtl && role?.tokenExplicitMaxTtl && tokenType !== 'batch') {
      warnings.push(`Explicit max TTL specified both during creation call and in role; using the lesser value of ${explicitMaxTtl} seconds`);
    }
    const numUses = role?.tokenNumUses || (d.num_uses ?? 0);
    if (numUses < 0) throw badRequest('number of uses cannot be negative');
    if (parent.usesRemaining !== null && (numUses === 0 || numUses > parent.usesRemaining)) {
      throw badRequest('child token must not have more uses than its parent has left');
    }
    const boundCidrs = role?.tokenBoundCidrs.length ? role.tokenBoundCidrs : (d.bound_cidrs ?? []);
    for (const c of boundCidrs) if (!isValidCidr(c)) throw badRequest('invalid CIDR in bound_cidrs');
    const displayName = d.display_name;
    const renewable = (d.renewable ?? true) && (role?.renewable ?? true);

    if (tokenType === 'batch') {
      if (policies.includes('root')) throw badRequest('batch tokens cannot be root tokens');
      if (id !== undefined) throw badRequest('batch tokens cannot have a custom ID');
      if (periodSeconds) throw badRequest('batch tokens cannot be periodic');
      if (numUses) throw badRequest('batch tokens cannot have a limited number of uses');
    }

    const spec: NewToken = {
      id,
      policies,
      parent,
      orphan,
      displayName: `token${displayName ? `-${displayName.toLowerCase().replace(/[^a-z0-9-]/g, '-')}` : ''}`,
      creationPath: role ? `auth/token/create/${role.name}${role.pathSuffix ? `/${role.pathSuffix}` : ''}` : ctx.path.replace(/\/$/, ''),
      // As sent: a meta the pipeline accepted as a JSON string is refused here, not parsed.
      meta: ctx.body.meta === undefined || ctx.body.meta === null ? {} : stringMap('meta', ctx.body.meta),
      renewable: tokenType === 'batch' ? false : renewable,
      ttlSeconds: d.ttl ?? d.lease,
      explicitMaxTtlSeconds: explicitMaxTtl || undefined,
      periodSeconds,
      numUses,
      boundCidrs,
      tokenType,
      roleName: role?.name,
    };
    try {
      const created = await store.create(spec);
      return logical(null, warnings.length ? warnings : undefined, authBlock(created.token, created.accessor, created.info));
    } catch (err) {
      if (err instanceof TokenConflictError || err instanceof BatchTokenTooLargeError) throw badRequest(err.message);
      throw err;
    }
  };
}
