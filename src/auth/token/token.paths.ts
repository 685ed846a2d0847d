/**
 * auth/token/*: create (plain, orphan, through a role), lookup, renew and revoke by token, self or
 * accessor; revoke-orphan and accessors (sudo); roles; tidy.
 */
import { badRequest } from '../../kernel/errors';
import type { TokenInfo, TokenStore } from '../../kernel/token/token-store.service';
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import type { Fields } from '../../framework/fields';
import { CREATE_FIELDS, createTokenHandler, PLAIN_CREATE_FIELDS } from '../../shared/token/token-create';
import type { TokenRoleRepository } from '../../shared/token/token-role.repository';
import { tokenRolePaths } from './token-roles.paths';
import { authBlock, describeToken } from '../../shared/token/token-output';

const TOKEN_FIELD = { token: { type: 'string', description: 'The token.' } } as const satisfies Fields;
const ACCESSOR_FIELD = { accessor: { type: 'string', description: "The token's accessor." } } as const satisfies Fields;
const INCREMENT_FIELD = { increment: { type: 'duration', description: 'Requested extension of the TTL (capped by the maximum).' } } as const satisfies Fields;
const TOKEN_INCREMENT_FIELDS = { ...TOKEN_FIELD, ...INCREMENT_FIELD } as const satisfies Fields;
const ACCESSOR_INCREMENT_FIELDS = { ...ACCESSOR_FIELD, ...INCREMENT_FIELD } as const satisfies Fields;

/** Asks the auth method whose login issued the token whether it may be renewed (a throw refuses). */
export type LoginRenewalCheck = (token: TokenInfo, request: RequestContext) => Promise<void>;

export function tokenPaths(
  store: TokenStore,
  roles: TokenRoleRepository,
  log: (message: string) => void,
  checkLoginRenewal: LoginRenewalCheck,
): RouteDefinition[] {
  const byToken = async (ctx: RequestContext<{ token?: string }>): Promise<{ info: TokenInfo; id: string }> => {
    const token = ctx.data.token;
    if (!token) throw badRequest('missing token');
    const info = await store.lookup(token);
    if (!info) throw badRequest('bad token');
    return { info, id: token };
  };
  const byAccessor = async (ctx: RequestContext<{ accessor?: string }>): Promise<TokenInfo> => {
    const accessor = ctx.data.accessor;
    if (!accessor) throw badRequest('missing accessor');
    const info = await store.lookupAccessor(accessor);
    if (!info) throw badRequest('invalid accessor');
    return info;
  };
  const self = (ctx: RequestContext<unknown>) => ({ info: ctx.token as TokenInfo, id: ctx.clientToken as string });

  const renew = async (ctx: RequestContext<{ increment?: number }>, info: TokenInfo, token: string) => {
    if (info.tokenType === 'batch') throw badRequest('batch tokens cannot be renewed');
    if (!info.renewable) throw badRequest('lease is not renewable');
    await checkLoginRenewal(info, ctx);
    await store.renew(info, ctx.data.increment ?? 0);
    return logical(null, undefined, authBlock(token, store.accessorOf(info), info));
  };

  const notBatch = (info: TokenInfo) => {
    if (info.tokenType === 'batch') throw badRequest('batch tokens cannot be revoked');
    return info;
  };

  return [
    route({
      path: 'create',
      fields: PLAIN_CREATE_FIELDS,
      help: 'Create a child token (or an orphan with no_parent, which needs sudo); `type: batch` makes a batch token.',
      handlers: { update: createTokenHandler(store, roles, 'plain') },
    }),
    route({
      path: 'create-orphan',
      fields: CREATE_FIELDS,
      help: 'Create an orphan token: it outlives its creator.',
      handlers: { update: createTokenHandler(store, roles, 'orphan') },
    }),
    route({
      path: 'create/:role_name',
      fields: CREATE_FIELDS,
      help: 'Create a token through a token role, which decides its policies, orphan-ness, period, uses and type.',
      handlers: { update: createTokenHandler(store, roles, 'role') },
    }),
    ...tokenRolePaths(roles),
    route({
      path: 'tidy',
      help: 'Remove expired and spent tokens from storage (they are already unusable).',
      handlers: {
        update: async () => {
          // Runs after the answer, as Vault's tidy does; the result goes to the server log.
          void store.tidy().then(
            (n) => log(`token tidy: removed ${n} expired or spent tokens`),
            (e: Error) => log(`token tidy failed: ${e.message}`),
          );
          return {
            ...logical(null, ["Tidy operation successfully started. Any information from the operation will be printed to SecretHub's server logs."]),
            status: 202,
          };
        },
      },
    }),
    route({
      path: 'lookup-self',
      help: 'Look up the calling token.',
      handlers: {
        read: async (ctx) => logical(describeToken(store, ctx.token as TokenInfo, ctx.clientToken as string)),
        update: async (ctx) => logical(describeToken(store, ctx.token as TokenInfo, ctx.clientToken as string)),
      },
      pureOperations: ['read', 'update'],
    }),
    route({
      path: 'lookup',
      fields: TOKEN_FIELD,
      help: 'Look up a token given in `token`.',
      handlers: {
        update: async (ctx) => {
          const { info, id } = await byToken(ctx);
          return logical(describeToken(store, info, id));
        },
      },
    }),
    route({
      path: 'lookup-accessor',
      fields: ACCESSOR_FIELD,
      help: 'Look up a token by its accessor (the token itself is not returned).',
      handlers: { update: async (ctx) => logical(describeToken(store, await byAccessor(ctx), '')) },
    }),
    route({
      path: 'renew-self',
      fields: INCREMENT_FIELD,
      help: 'Renew the calling token by `increment`.',
      handlers: { update: async (ctx) => renew(ctx, self(ctx).info, self(ctx).id) },
    }),
    route({
      path: 'renew',
      fields: TOKEN_INCREMENT_FIELDS,
      help: 'Renew the token given in `token`.',
      handlers: {
        update: async (ctx) => {
          const { info, id } = await byToken(ctx);
          return renew(ctx, info, id);
        },
      },
    }),
    route({
      path: 'renew-accessor',
      fields: ACCESSOR_INCREMENT_FIELDS,
      help: 'Renew a token by its accessor (the token itself is not returned).',
      handlers: { update: async (ctx) => renew(ctx, await byAccessor(ctx), '') },
    }),
    route({
      path: 'revoke-self',
      help: 'Revoke the calling token and its children.',
      handlers: {
        update: async (ctx) => {
          await store.revoke(notBatch(ctx.token as TokenInfo));
          return null;
        },
      },
    }),
    route({
      path: 'revoke',
      fields: TOKEN_FIELD,
      help: 'Revoke the token given in `token` and its children.',
      handlers: {
        update: async (ctx) => {
          const token = ctx.data.token;
          if (!token) throw badRequest('missing token');
          const info = await store.lookup(token);
          if (info) await store.revoke(notBatch(info));
          return null;
        },
      },
    }),
    route({
      path: 'revoke-accessor',
      fields: ACCESSOR_FIELD,
      help: 'Revoke a token by its accessor, with its children.',
      handlers: {
        update: async (ctx) => {
          await store.revoke(await byAccessor(ctx));
          return null;
        },
      },
    }),
    route({
      path: 'revoke-orphan',
      auth: 'sudo',
      fields: TOKEN_FIELD,
      help: 'Revoke a token but not its children, which become orphans (sudo).',
      handlers: {
        update: async (ctx) => {
          const { info } = await byToken(ctx);
          await store.revokeOrphan(info);
          return null;
        },
      },
    }),
    route({
      path: 'accessors',
      auth: 'sudo',
      help: 'List the accessors of all tokens (sudo).',
      handlers: { list: async () => logical({ keys: await store.accessors() }) },
    }),
  ];
}
