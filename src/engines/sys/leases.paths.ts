/**
 * sys/leases (and the legacy sys/renew, sys/revoke): look up, renew, list, revoke, revoke by
 * prefix, force-revoke and tidy leases, in Vault's shapes. The expiration manager does the work.
 */
import { logical, raw, type RequestContext, route, type RouteContext, type RouteDefinition } from '../../framework/route';
import type { Fields } from '../../framework/fields';
import { badRequest } from '../../kernel/errors';
import type { ExpirationManager } from '../../kernel/leases/expiration-manager';
import type { LeaseRow } from '../../kernel/leases/lease.repository';

const LEASE_FIELDS = { lease_id: { type: 'string', description: 'The lease ID.' } } as const satisfies Fields;
const RENEW_FIELDS = {
  ...LEASE_FIELDS,
  increment: { type: 'duration', description: 'Requested TTL from now (default: the lease TTL); never past the max TTL.' },
} as const satisfies Fields;

function leaseId(ctx: RouteContext<typeof LEASE_FIELDS>): string {
  const id = ctx.params.lease_id ?? ctx.data.lease_id;
  if (!id) throw badRequest('missing lease_id');
  return id;
}

function lookupData(l: LeaseRow): Record<string, unknown> {
  return {
    id: l.leaseId,
    issue_time: l.issuedAt.toISOString(),
    expire_time: l.revoked ? null : l.expiresAt.toISOString(),
    last_renewal: l.lastRenewedAt ? l.lastRenewedAt.toISOString() : null,
    renewable: l.renewable && !l.revoked,
    ttl: l.revoked ? 0 : Math.max(0, Math.round((l.expiresAt.getTime() - Date.now()) / 1000)),
    // SecretHub's additions: the revocation state.
    revoked: l.revoked,
    irrevocable: l.irrevocable,
    revoke_attempts: l.revokeAttempts,
  };
}

const IRREVOCABLE_FIELDS = {
  type: { type: 'string', query: true, description: 'Only "irrevocable".' },
  include_child: { type: 'bool', query: true, description: 'Namespaces: there are none, so ignored.' },
  limit: { type: 'string', query: true, description: 'At most this many leases (default 10000); "none" lists all.' },
} as const satisfies Fields;
const DEFAULT_IRREVOCABLE_LIMIT = 10_000;

/** Vault's `sys/leases?type=irrevocable` and `sys/leases/count`: the type, and the limit (a number or "none"). */
function irrevocableQuery(ctx: RouteContext<typeof IRREVOCABLE_FIELDS, 'read' | 'list'>): number {
  if (ctx.data.type !== 'irrevocable') throw badRequest('lease type must be "irrevocable"');
  const limit = ctx.data.limit ?? '';
  if (limit === '') return DEFAULT_IRREVOCABLE_LIMIT;
  if (limit.toLowerCase() === 'none') return Number.MAX_SAFE_INTEGER;
  if (!/^\d+$/.test(limit) || Number(limit) < 1) throw badRequest('invalid limit: use a positive number or "none"');
  // Vault takes any int64; a limit no count reaches means "none" (the query's LIMIT is an int8).
  return Math.min(Number(limit), Number.MAX_SAFE_INTEGER);
}

export function leasePaths(leases: ExpirationManager): RouteDefinition[] {
  const renew = async (ctx: RouteContext<typeof RENEW_FIELDS>) => {
    const l = await leases.renew(leaseId(ctx), ctx.data.increment);
    return raw(200, {
      request_id: ctx.requestId,
      lease_id: l.leaseId,
      renewable: true,
      lease_duration: Math.max(0, Math.round((l.expiresAt.getTime() - Date.now()) / 1000)),
      data: null,
      wrap_info: null,
      warnings: null,
      auth: null,
    });
  };
  const revoke = async (ctx: RouteContext<typeof LEASE_FIELDS>) => {
    await leases.revoke(leaseId(ctx));
    return null;
  };
  const list = async (ctx: RequestContext) => logical({ keys: await leases.listKeys(ctx.params.prefix ? ctx.params.prefix.replace(/\/?$/, '/') : '') });
  return [
    route({
      path: 'leases',
      auth: 'sudo',
      fields: IRREVOCABLE_FIELDS,
      help: 'The irrevocable leases: their IDs, mounts and last revocation errors.',
      handlers: {
        read: async (ctx) => {
          const limit = irrevocableQuery(ctx);
          const { total, leases: rows } = await leases.irrevocable(limit);
          if (total > limit)
            throw badRequest(`there are ${total} irrevocable leases, more than the limit of ${limit}: set limit, or limit=none to list them all`);
          return logical({ lease_count: total, leases: rows.map((l) => ({ lease_id: l.leaseId, mount_id: l.mountUuid, error: l.lastError ?? '' })) });
        },
      },
    }),
    route({
      path: 'leases/count',
      auth: 'sudo',
      fields: IRREVOCABLE_FIELDS,
      help: 'How many irrevocable leases there are.',
      handlers: {
        read: async (ctx) => {
          irrevocableQuery(ctx);
          return logical({ lease_count: (await leases.irrevocable(0)).total });
        },
      },
    }),
    route({
      path: 'leases/lookup',
      fields: LEASE_FIELDS,
      help: "A lease's issue and expiry times, TTL and whether it renews.",
      handlers: { update: async (ctx) => logical(lookupData(await leases.lookup(leaseId(ctx)))), list },
    }),
    { path: 'leases/lookup/*prefix', auth: 'sudo', help: 'The lease IDs one level under a prefix.', handlers: { list } },
    route({ path: 'leases/renew', fields: RENEW_FIELDS, help: 'Renews a lease (never past its max TTL).', handlers: { update: renew } }),
    route({ path: 'renew/*lease_id', fields: { increment: RENEW_FIELDS.increment }, help: 'Legacy form of sys/leases/renew.', handlers: { update: renew } }),
    route({ path: 'leases/revoke', fields: LEASE_FIELDS, help: 'Revokes a lease now (idempotent).', handlers: { update: revoke } }),
    route({ path: 'revoke/*lease_id', help: 'Legacy form of sys/leases/revoke.', handlers: { update: revoke } }),
    {
      path: 'leases/revoke-prefix/*prefix',
      auth: 'sudo',
      help: 'Revokes every lease under a prefix.',
      handlers: {
        update: async (ctx) => {
          await leases.revokePrefix(ctx.params.prefix);
          return null;
        },
      },
    },
    {
      path: 'leases/revoke-force/*prefix',
      auth: 'sudo',
      help: 'Deletes the lease records under a prefix without asking the engine (for irrevocable leases): the secrets may live on.',
      handlers: {
        update: async (ctx) => {
          await leases.revokeForce(ctx.params.prefix);
          return null;
        },
      },
    },
    {
      path: 'leases/tidy',
      auth: 'sudo',
      help: 'Removes the records of leases revoked more than a day ago.',
      handlers: {
        update: async () => {
          await leases.tidy();
          return null;
        },
      },
    },
  ];
}
