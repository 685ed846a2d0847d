/**
 * auth/token/*: create (and create-orphan), lookup, renew and revoke, by token, self or accessor;
 * revoke-orphan and accessors (sudo). Token roles, batch tokens and tidy come later.
 */
import { isValidCidr } from '../../kernel/cidr';
import { badRequest } from '../../kernel/errors';
import { normalisePolicyName } from '../../kernel/policy/policy-parser';
import { TokenConflictError, TokenStore, type NewToken, type TokenInfo } from '../../kernel/token/token.store';
import { toBool, toDurationSeconds, toInt, toStringList, toStringValue } from '../../framework/field-types';
import { logical, type RequestContext, type RouteDefinition } from '../../framework/route';


function optional<T>(ctx: RequestContext, name: string, convert: (name: string, v: unknown) => T): T | undefined {
  const v = ctx.body[name];
  return v === undefined || v === null || v === '' ? undefined : convert(name, v);
}

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

/** Vault's lookup data for a token. `id` only when the caller presented the token itself. */
export function describeToken(store: TokenStore, info: TokenInfo, id: string): Record<string, unknown> {
  const now = Date.now();
  const data: Record<string, unknown> = {
    accessor: store.accessorOf(info),
    creation_time: Math.floor(info.createdAt.getTime() / 1000),
    creation_ttl: info.ttlSeconds,
    display_name: info.displayName,
    entity_id: '',
    expire_time: info.expiresAt ? info.expiresAt.toISOString() : null,
    explicit_max_ttl: info.explicitMaxTtlSeconds,
    id,
    issue_time: info.createdAt.toISOString(),
    meta: Object.keys(info.meta).length ? info.meta : null,
    num_uses: info.usesRemaining ?? 0,
    orphan: info.orphan,
    path: info.creationPath,
    policies: info.policies,
    renewable: info.renewable,
    ttl: TokenStore.remainingTtl(info, now),
    type: info.tokenType,
  };
  if (info.periodSeconds) data.period = info.periodSeconds;
  if (info.boundCidrs.length) data.bound_cidrs = info.boundCidrs;
  return data;
}

function authBlock(token: string, accessor: string, info: TokenInfo): Record<string, unknown> {
  return {
    client_token: token,
    accessor,
    policies: info.policies,
    token_policies: info.policies,
    identity_policies: null,
    metadata: Object.keys(info.meta).length ? info.meta : null,
    lease_duration: TokenStore.remainingTtl(info),
    renewable: info.renewable,
    entity_id: '',
    token_type: info.tokenType,
    orphan: info.orphan,
    mfa_requirement: null,
    num_uses: info.numUsesInitial,
  };
}

export function tokenPaths(store: TokenStore): RouteDefinition[] {
  const create = (forceOrphan: boolean) => async (ctx: RequestContext) => {
    const parent = ctx.token as TokenInfo;
    const rootParent = isRoot(parent);
    const type = optional(ctx, 'type', toStringValue) ?? 'service';
    if (type !== 'service' && type !== 'default') throw badRequest(`token type "${type}" is not supported yet`);
    if (optional(ctx, 'role_name', toStringValue)) throw badRequest('token roles are not supported yet');
    const noParent = forceOrphan || optional(ctx, 'no_parent', toBool) === true;
    if (noParent && !forceOrphan && !rootParent && !ctx.sudo) throw badRequest('root or sudo privileges required to create orphan token');

    const requested = optional(ctx, 'policies', toStringList);
    // Without `policies` the child inherits the parent's (a root token's are just ["root"]).
    const policies = requested === undefined ? [...parent.policies] : normaliseRequestedPolicies(requested);
    if (!rootParent) {
      const outside = policies.filter((p) => p !== 'default' && !parent.policies.includes(p));
      if (outside.length) throw badRequest(`child policies must be subset of parent (${outside.join(', ')} not held)`);
    }
    if (policies.includes('root') && policies.length > 1) throw badRequest('the root policy cannot be combined with other policies');
    const noDefault = optional(ctx, 'no_default_policy', toBool) === true;
    if (!policies.includes('root') && !noDefault && !policies.includes('default')) policies.push('default');
    if (policies.length === 0) throw badRequest('token must have at least one policy');

    const id = optional(ctx, 'id', toStringValue);
    if (id !== undefined) {
      if (!rootParent && !ctx.sudo) throw badRequest('root or sudo privileges required to specify token id');
      if (id.includes('.') && !/^hvs\.[A-Za-z0-9]+$/.test(id)) throw badRequest('token IDs can not contain periods');
      if (id.length > 256) throw badRequest('token ID is too long');
    }
    const periodSeconds = optional(ctx, 'period', toDurationSeconds);
    if (periodSeconds && !rootParent && !ctx.sudo) throw badRequest('root or sudo privileges required to create periodic token');
    const numUses = optional(ctx, 'num_uses', toInt) ?? 0;
    if (numUses < 0) throw badRequest('number of uses cannot be negative');
    if (parent.usesRemaining !== null && (numUses === 0 || numUses > parent.usesRemaining)) {
      throw badRequest('child token must not have more uses than its parent has left');
    }
    const boundCidrs = optional(ctx, 'bound_cidrs', toStringList) ?? [];
    for (const c of boundCidrs) if (!isValidCidr(c)) throw badRequest(`invalid CIDR in bound_cidrs: "${c}"`);
    const displayName = optional(ctx, 'display_name', toStringValue);

    const spec: NewToken = {
      id,
      policies,
      parent,
      orphan: noParent,
      displayName: `token${displayName ? `-${displayName.toLowerCase().replace(/[^a-z0-9-]/g, '-')}` : ''}`,
      creationPath: ctx.path.replace(/\/$/, ''),
      meta: ctx.body.meta === undefined || ctx.body.meta === null ? {} : stringMap('meta', ctx.body.meta),
      renewable: optional(ctx, 'renewable', toBool) ?? true,
      ttlSeconds: optional(ctx, 'ttl', toDurationSeconds) ?? optional(ctx, 'lease', toDurationSeconds),
      explicitMaxTtlSeconds: optional(ctx, 'explicit_max_ttl', toDurationSeconds),
      periodSeconds,
      numUses,
      boundCidrs,
    };
    try {
      const created = await store.create(spec);
      return logical(null, undefined, authBlock(created.token, created.accessor, created.info));
    } catch (err) {
      if (err instanceof TokenConflictError) throw badRequest(err.message);
      throw err;
    }
  };

  const byToken = async (ctx: RequestContext): Promise<{ info: TokenInfo; id: string }> => {
    const token = optional(ctx, 'token', toStringValue);
    if (!token) throw badRequest('missing token');
    const info = await store.lookup(token);
    if (!info) throw badRequest('bad token');
    return { info, id: token };
  };
  const byAccessor = async (ctx: RequestContext): Promise<TokenInfo> => {
    const accessor = optional(ctx, 'accessor', toStringValue);
    if (!accessor) throw badRequest('missing accessor');
    const info = await store.lookupAccessor(accessor);
    if (!info) throw badRequest('invalid accessor');
    return info;
  };
  const self = (ctx: RequestContext) => ({ info: ctx.token as TokenInfo, id: ctx.clientToken as string });

  const renew = async (ctx: RequestContext, info: TokenInfo, token: string) => {
    if (!info.renewable) throw badRequest('lease is not renewable');
    await store.renew(info, optional(ctx, 'increment', toDurationSeconds) ?? 0);
    return logical(null, undefined, authBlock(token, store.accessorOf(info), info));
  };

  const route = (path: string, handlers: RouteDefinition['handlers'], help: string, auth: RouteDefinition['auth'] = 'token'): RouteDefinition => ({
    path,
    auth,
    allowedWhileSealed: false,
    handlers,
    help,
  });

  return [
    route('create', { update: create(false) }, 'Create a child token (or an orphan with no_parent, which needs sudo).'),
    route('create-orphan', { update: create(true) }, 'Create an orphan token: it outlives its creator.'),
    route('lookup-self', { read: async (ctx) => logical(describeToken(store, ctx.token as TokenInfo, ctx.clientToken as string)), update: async (ctx) => logical(describeToken(store, ctx.token as TokenInfo, ctx.clientToken as string)) }, 'Look up the calling token.'),
    route('lookup', { update: async (ctx) => {
      const { info, id } = await byToken(ctx);
      return logical(describeToken(store, info, id));
    } }, 'Look up a token given in `token`.'),
    route('lookup-accessor', { update: async (ctx) => logical(describeToken(store, await byAccessor(ctx), '')) }, 'Look up a token by its accessor (the token itself is not returned).'),
    route('renew-self', { update: async (ctx) => renew(ctx, self(ctx).info, self(ctx).id) }, 'Renew the calling token by `increment`.'),
    route('renew', { update: async (ctx) => {
      const { info, id } = await byToken(ctx);
      return renew(ctx, info, id);
    } }, 'Renew the token given in `token`.'),
    route('renew-accessor', { update: async (ctx) => renew(ctx, await byAccessor(ctx), '') }, 'Renew a token by its accessor (the token itself is not returned).'),
    route('revoke-self', { update: async (ctx) => {
      await store.revoke(ctx.token as TokenInfo);
      return null;
    } }, 'Revoke the calling token and its children.'),
    route('revoke', { update: async (ctx) => {
      const token = optional(ctx, 'token', toStringValue);
      if (!token) throw badRequest('missing token');
      const info = await store.lookup(token);
      if (info) await store.revoke(info);
      return null;
    } }, 'Revoke the token given in `token` and its children.'),
    route('revoke-accessor', { update: async (ctx) => {
      await store.revoke(await byAccessor(ctx));
      return null;
    } }, 'Revoke a token by its accessor, with its children.'),
    route('revoke-orphan', { update: async (ctx) => {
      const { info } = await byToken(ctx);
      await store.revokeOrphan(info);
      return null;
    } }, 'Revoke a token but not its children, which become orphans (sudo).', 'sudo'),
    route('accessors', { list: async () => logical({ keys: await store.accessors() }) }, 'List the accessors of all tokens (sudo).', 'sudo'),
  ];
}
