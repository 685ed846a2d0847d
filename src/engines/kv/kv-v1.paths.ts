/**
 * KV version 1: one unversioned JSON object per path. Reads carry `lease_duration` (the secret's
 * `ttl` key, else the mount's default lease TTL) as a caching hint; there is no lease.
 */
import { SYSTEM_DEFAULT_LEASE_TTL, type MountEntry } from '../../framework/backend';
import { parseDurationSeconds } from '../../framework/field-types';
import { logical, type RequestContext, type RouteDefinition } from '../../framework/route';
import type { Barrier } from '../../kernel/barrier/barrier';
import { badRequest, notFound } from '../../kernel/errors';
import type { KvRepository } from './kv.repository';

/** The barrier AAD of a KV v1 value: copying it to another mount or path fails to decrypt. */
export function kvV1Location(mount: MountEntry, path: string): string {
  return `secrets/${mount.uuid}/kv-v1/${path}`;
}

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

export function kvV1Paths(repository: KvRepository, barrier: Barrier): RouteDefinition[] {
  const list = async (ctx: RequestContext) => logical({ keys: await repository.listKeys(ctx.mount.uuid, ctx.params.path ? `${ctx.params.path}/` : '') });
  return [
    { path: '', help: 'List the keys at the top of the mount.', handlers: { list } },
    {
      path: '*path',
      existenceCheck: async (ctx) => (await repository.getV1(ctx.mount.uuid, ctx.params.path)) !== undefined,
      help: 'Read, write (the whole JSON body is the secret), list or delete a secret.',
      pureOperations: ['read', 'list'],
      handlers: {
        read: async (ctx) => {
          const ciphertext = await repository.getV1(ctx.mount.uuid, ctx.params.path);
          if (!ciphertext) throw notFound();
          const data = JSON.parse(barrier.decrypt(kvV1Location(ctx.mount, ctx.params.path), ciphertext).toString('utf8')) as Record<string, unknown>;
          return { ...logical(data), leaseDuration: leaseDuration(ctx.mount, data) };
        },
        list,
        update: async (ctx) => {
          if (ctx.path.endsWith('/')) throw badRequest('cannot write to a path ending in "/"');
          if (Object.keys(ctx.body).length === 0) throw badRequest('no data provided');
          const plaintext = Buffer.from(JSON.stringify(ctx.body), 'utf8');
          await repository.putV1(ctx.mount.uuid, ctx.params.path, await barrier.encrypt(kvV1Location(ctx.mount, ctx.params.path), plaintext));
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
