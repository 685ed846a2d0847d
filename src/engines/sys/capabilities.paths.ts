/**
 * sys/capabilities, sys/capabilities-self, sys/capabilities-accessor: what a token may do on paths.
 * The routes declare no fields: `paths`/`path`, `token` and `accessor` are read from the body as sent.
 */
import { badRequest } from '../../kernel/errors';
import type { PolicyStore } from '../../kernel/policy/policy-store.service';
import type { TokenInfo, TokenStore } from '../../kernel/token/token-store.service';
import { toStringList, toStringValue } from '../../framework/field-types';
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';

function paths(ctx: RequestContext): string[] {
  const raw = ctx.body.paths ?? ctx.body.path;
  if (raw === undefined || raw === null || raw === '') throw badRequest("'paths' must be specified");
  return toStringList('paths', raw).map((p) => p.replace(/^\/+/, ''));
}

export function capabilitiesPaths(tokens: TokenStore, policies: PolicyStore): RouteDefinition[] {
  const answer = async (ctx: RequestContext, info: TokenInfo | undefined) => {
    if (!info) throw badRequest('invalid token');
    const acl = await policies.aclFor(info.policies);
    const data: Record<string, unknown> = {};
    const list = paths(ctx);
    for (const p of list) data[p] = acl.capabilities(p, { remoteAddress: ctx.remoteAddress });
    if (list.length === 1) data.capabilities = data[list[0]];
    return logical(data);
  };
  return [
    route({
      path: 'capabilities-self',
      injectDataAtTopLevel: true,
      help: "The calling token's capabilities on `paths`.",
      handlers: { update: (ctx) => answer(ctx, ctx.token) },
    }),
    route({
      path: 'capabilities',
      injectDataAtTopLevel: true,
      help: 'The capabilities of the token in `token` on `paths`.',
      handlers: { update: async (ctx) => answer(ctx, await tokens.lookup(toStringValue('token', ctx.body.token ?? ''))) },
    }),
    route({
      path: 'capabilities-accessor',
      injectDataAtTopLevel: true,
      help: 'The capabilities of the token with `accessor` on `paths`.',
      handlers: { update: async (ctx) => answer(ctx, await tokens.lookupAccessor(toStringValue('accessor', ctx.body.accessor ?? ''))) },
    }),
  ];
}
