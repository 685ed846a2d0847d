/**
 * sys/wrapping: wrap arbitrary data, and unwrap, look up or rewrap a response-wrapping token
 * (Vault's shapes). The wrapping token comes from the body's `token` or else the request's own
 * token; these routes check it themselves (its only policy, `response-wrapping`, grants nothing
 * through the ACL).
 */
import { logical, raw, route, type RouteContext, type RouteDefinition } from '../../framework/route';
import type { Fields } from '../../framework/fields';
import { badRequest } from '../../kernel/errors';
import { DEFAULT_WRAP_TTL_SECONDS, type ResponseWrapper } from '../../kernel/wrapping/response-wrapper';

const TOKEN_FIELDS = { token: { type: 'string', description: 'The wrapping token (default: the request token).' } } as const satisfies Fields;

function wrappingToken(ctx: RouteContext<typeof TOKEN_FIELDS>): string {
  const token = ctx.data.token || ctx.clientToken;
  if (!token) throw badRequest('no wrapping token given');
  return token;
}

export function wrappingPaths(wrapper: ResponseWrapper): RouteDefinition[] {
  return [
    {
      path: 'wrapping/wrap',
      defaultWrapTtlSeconds: DEFAULT_WRAP_TTL_SECONDS,
      help: 'Wraps the request body (any JSON object) in a single-use token; X-Vault-Wrap-TTL sets its TTL (default 5m).',
      handlers: {
        update: async (ctx) => {
          if (Object.keys(ctx.body).length === 0) throw badRequest('empty request body');
          return logical(ctx.body);
        },
      },
    },
    route({
      path: 'wrapping/unwrap',
      auth: 'optional',
      fields: TOKEN_FIELDS,
      help: 'Returns the wrapped response and spends the wrapping token.',
      handlers: { update: async (ctx) => raw(200, JSON.parse(await wrapper.unwrap(wrappingToken(ctx))) as Record<string, unknown>) },
    }),
    route({
      path: 'wrapping/lookup',
      auth: 'optional',
      fields: TOKEN_FIELDS,
      help: "A wrapping token's creation path, time and TTL, without spending it.",
      handlers: { update: async (ctx) => logical({ ...(await wrapper.lookup(wrappingToken(ctx))) }) },
    }),
    route({
      path: 'wrapping/rewrap',
      auth: 'optional',
      fields: TOKEN_FIELDS,
      help: 'Moves a wrapped response to a new wrapping token (same creation TTL) and spends the old one.',
      handlers: {
        update: async (ctx) => {
          const wrapInfo = await wrapper.rewrap(wrappingToken(ctx));
          return raw(200, {
            request_id: ctx.requestId,
            lease_id: '',
            renewable: false,
            lease_duration: 0,
            data: null,
            wrap_info: wrapInfo,
            warnings: null,
            auth: null,
          });
        },
      },
    }),
  ];
}
