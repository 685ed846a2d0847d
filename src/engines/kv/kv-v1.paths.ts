/**
 * KV version 1: one unversioned JSON object per path. Reads carry `lease_duration` (the secret's
 * `ttl` key, else the mount's default lease TTL) as a caching hint; there is no lease.
 */
import { SYSTEM_DEFAULT_LEASE_TTL, type MountEntry } from '../../framework/backend';
import { parseDurationSeconds } from '../../framework/field-types';
import { logical, type RequestContext, type RouteDefinition } from '../../framework/route';
import { badRequest, notFound } from '../../kernel/errors';
import type { KvRepository } from './kv.repository';

function leaseDuration(mount: MountEntry, data: Record<string, unknown>): number {
  const ttl = data.ttl ?? data.lease;
  if (typeof ttl === 'string' || typeof ttl === 'number') {
    try {
      return parseDurationSeconds(ttl);
    } catch {
      /* an unparsable ttl is just data */
    }
  }
  return mount.config.defaultLeaseTtl || SYSTEM_DEFAULT_LEASE_TTL;
}

export function kvV1Paths(repository: KvRepository): RouteDefinition[] {
  const list = async (ctx: RequestContext) => logical({ keys: await repository.listKeys(ctx.mount.uuid, ctx.params.path ? `${ctx.params.path}/` : '') });
  return [
    { path: '', help: 'List the keys at the top of the mount.', handlers: { list } },
    {
      path: '*path',
      existenceCheck: (ctx) => repository.existsV1(ctx.mount.uuid, ctx.params.path),
      help: 'Read, write (the whole JSON body is the secret), list or delete a secret.',
      pureOperations: ['read', 'list'],
      handlers: {
        read: async (ctx) => {
          const data = await repository.getV1(ctx.mount.uuid, ctx.params.path);
          if (!data) throw notFound();
          return { ...logical(data), leaseDuration: leaseDuration(ctx.mount, data) };
        },
        list,
        update: async (ctx) => {
          if (ctx.path.endsWith('/')) throw badRequest('cannot write to a path ending in "/"');
          if (Object.keys(ctx.body).length === 0) throw badRequest('no data provided');
          await repository.putV1(ctx.mount.uuid, ctx.params.path, ctx.body);
          return null;
        },
        delete: async (ctx) => {
          await repository.delete(ctx.mount.uuid, ctx.params.path);
          return null;
        },
      },
    },
  ];
}
