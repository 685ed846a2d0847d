/**
 * auth/token/*: create (plain, orphan, through a role), lookup, renew and revoke by token, self or
 * accessor; revoke-orphan and accessors (sudo); roles; tidy.
 */
import { badRequest } from '../../kernel/errors';
import type { TokenInfo, TokenStore } from '../../kernel/token/token.store';
import { toDurationSeconds, toStringValue } from '../../framework/field-types';
import { logical, type RequestContext, type RouteDefinition } from '../../framework/route';
import type { Fields } from '../../framework/fields';
import { CREATE_FIELDS, createTokenHandler, PLAIN_CREATE_FIELDS } from '../../shared/token/token-create';
import type { TokenRoleRepository } from '../../shared/token/token-role.repository';
import { tokenRolePaths } from './token-roles.paths';
import { authBlock, describeToken, optional } from '../../shared/token/token-output';

const TOKEN_FIELD: Fields = { token: { type: 'string', description: 'The token.' } };
const ACCESSOR_FIELD: Fields = { accessor: { type: 'string', description: 'The token\'s accessor.' } };
const INCREMENT_FIELD: Fields = { increment: { type: 'duration', description: 'Requested extension of the TTL (capped by the maximum).' } };

/** Declared fields by route path (documentation, type checks, ignored-parameter warnings). */
function fieldsFor(path: string): Fields | undefined {
  switch (path) {
    case 'create':
      return PLAIN_CREATE_FIELDS;
    case 'create-orphan':
    case 'create/:role_name':
      return CREATE_FIELDS;
    case 'lookup':
    case 'revoke':
    case 'revoke-orphan':
      return TOKEN_FIELD;
    case 'renew':
      return { ...TOKEN_FIELD, ...INCREMENT_FIELD };
    case 'renew-self':
      return INCREMENT_FIELD;
    case 'lookup-accessor':
    case 'revoke-accessor':
      return ACCESSOR_FIELD;
    case 'renew-accessor':
      return { ...ACCESSOR_FIELD, ...INCREMENT_FIELD };
    default:
      return undefined;
  }
}

/** Asks the auth method whose login issued the token whether it may be renewed (a throw refuses). */
export type LoginRenewalCheck = (token: TokenInfo, request: RequestContext) => Promise<void>;

export function tokenPaths(store: TokenStore, roles: TokenRoleRepository, log: (message: string) => void, checkLoginRenewal: LoginRenewalCheck): RouteDefinition[] {

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
    if (info.tokenType === 'batch') throw badRequest('batch tokens cannot be renewed');
    if (!info.renewable) throw badRequest('lease is not renewable');
    await checkLoginRenewal(info, ctx);
    await store.renew(info, optional(ctx, 'increment', toDurationSeconds) ?? 0);
    return logical(null, undefined, authBlock(token, store.accessorOf(info), info));
  };

  const notBatch = (info: TokenInfo) => {
    if (info.tokenType === 'batch') throw badRequest('batch tokens cannot be revoked');
    return info;
  };

  const route = (path: string, handlers: RouteDefinition['handlers'], help: string, auth: RouteDefinition['auth'] = 'token', fields?: Fields): RouteDefinition => ({
    path,
    auth,
    handlers,
    help,
    fields: fields ?? fieldsFor(path),
  });

  return [
    route('create', { update: createTokenHandler(store, roles, 'plain') }, 'Create a child token (or an orphan with no_parent, which needs sudo); `type: batch` makes a batch token.'),
    route('create-orphan', { update: createTokenHandler(store, roles, 'orphan') }, 'Create an orphan token: it outlives its creator.'),
    route('create/:role_name', { update: createTokenHandler(store, roles, 'role') }, 'Create a token through a token role, which decides its policies, orphan-ness, period, uses and type.'),
    ...tokenRolePaths(roles),
    route('tidy', { update: async () => {
      // Runs after the answer, as Vault's tidy does; the result goes to the server log.
      void store.tidy().then((n) => log(`token tidy: removed ${n} expired or spent tokens`), (e: Error) => log(`token tidy failed: ${e.message}`));
      return { ...logical(null, ["Tidy operation successfully started. Any information from the operation will be printed to SecretHub's server logs."]), status: 202 };
    } }, 'Remove expired and spent tokens from storage (they are already unusable).'),
    { ...route('lookup-self', { read: async (ctx) => logical(describeToken(store, ctx.token as TokenInfo, ctx.clientToken as string)), update: async (ctx) => logical(describeToken(store, ctx.token as TokenInfo, ctx.clientToken as string)) }, 'Look up the calling token.'), pureOperations: ['read', 'update'] },
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
      await store.revoke(notBatch(ctx.token as TokenInfo));
      return null;
    } }, 'Revoke the calling token and its children.'),
    route('revoke', { update: async (ctx) => {
      const token = optional(ctx, 'token', toStringValue);
      if (!token) throw badRequest('missing token');
      const info = await store.lookup(token);
      if (info) await store.revoke(notBatch(info));
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
