/**
 * The `cubbyhole/` engine (mounted once, built in): a KV store private to the requesting token.
 * Every path is scoped to the token's HMAC, so no token (root included) can read another's
 * cubbyhole; the data goes when the token does. Batch tokens have no storage row and no cubbyhole.
 */
import type { BackendDefinition } from '../../framework/backend';
import { logical, type RequestContext, type RouteDefinition } from '../../framework/route';
import type { CubbyholeRepository } from '../../kernel/cubbyhole/cubbyhole.repository';
import { badRequest, notFound } from '../../kernel/errors';

function owner(ctx: RequestContext): Buffer {
  if (!ctx.token) throw badRequest('a token is required');
  if (ctx.token.tokenType === 'batch') throw badRequest('batch tokens cannot use the cubbyhole');
  return ctx.token.tokenHmac;
}

export function cubbyholeBackend(repository: CubbyholeRepository): BackendDefinition {
  const list = async (ctx: RequestContext) =>
    logical({ keys: await repository.list(owner(ctx), ctx.params.path ? `${ctx.params.path.replace(/\/?$/, '/')}` : '') });
  const routes: RouteDefinition[] = [
    { path: '', help: "List the keys at the top of the token's cubbyhole.", handlers: { list } },
    {
      path: '*path',
      existenceCheck: async (ctx) => (await repository.get(owner(ctx), ctx.params.path)) !== undefined,
      help: "Read, write (the JSON body is the value), list or delete a value in the requesting token's cubbyhole.",
      handlers: {
        read: async (ctx) => {
          const value = await repository.get(owner(ctx), ctx.params.path);
          if (!value) throw notFound();
          return logical(JSON.parse(value.toString('utf8')) as Record<string, unknown>);
        },
        list,
        update: async (ctx) => {
          const tokenHmac = owner(ctx);
          if (ctx.path.endsWith('/')) throw badRequest('cannot write to a path ending in "/"');
          if (Object.keys(ctx.body).length === 0) throw badRequest('missing data fields');
          await repository.put(tokenHmac, ctx.params.path, Buffer.from(JSON.stringify(ctx.body), 'utf8'));
          return null;
        },
        delete: async (ctx) => {
          await repository.delete(owner(ctx), ctx.params.path);
          return null;
        },
      },
    },
  ];
  return { type: 'cubbyhole', class: 'secret', builtinPath: 'cubbyhole/', description: 'per-token private secret storage', routes: () => routes };
}
