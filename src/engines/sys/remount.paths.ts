/**
 * sys/remount and sys/remount/status/:migration_id (Vault 1.10+): move a secrets engine or an auth
 * method (`auth/...`) to another path. Vault queues the move and answers a migration id at once;
 * here the move is done before answering (one transaction), so the status is already `success`.
 * Statuses are kept in memory on the node that did the move, as Vault keeps them.
 */
import { randomUUID } from 'node:crypto';
import type { Fields } from '../../framework/fields';
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { notFound } from '../../kernel/errors';
import type { MountTable } from '../../kernel/router/mount-table';

const FIELDS = {
  from: { type: 'string', description: 'The path of the mount to move (auth methods as auth/<path>).' },
  to: { type: 'string', description: 'The new path (auth methods as auth/<path>).' },
} as const satisfies Fields;

interface Migration {
  source_mount: string;
  target_mount: string;
  status: 'in-progress' | 'success' | 'failure';
}

/** Keeps the latest statuses only (a node that moves mounts forever does not grow without bound). */
const MAX_STATUSES = 1000;

export function remountPaths(mounts: MountTable): RouteDefinition[] {
  const migrations = new Map<string, Migration>();
  return [
    route({
      path: 'remount',
      auth: 'sudo',
      fields: FIELDS,
      help: 'Move a secrets engine or auth method to another path; what it issued (leases, tokens) is revoked first, as in Vault.',
      handlers: {
        update: async (ctx) => {
          const moved = await mounts.remount(ctx.data.from ?? '', ctx.data.to ?? '');
          const id = randomUUID();
          migrations.set(id, { source_mount: moved.from, target_mount: moved.to, status: 'success' });
          if (migrations.size > MAX_STATUSES) migrations.delete(migrations.keys().next().value as string);
          // Vault adds a warning that the move was queued; this one is already done.
          return logical({ migration_id: id });
        },
      },
    }),
    {
      path: 'remount/status/:migration_id',
      pureOperations: ['read'],
      help: 'The status of a mount move started with sys/remount.',
      handlers: {
        read: async (ctx: RequestContext) => {
          const info = migrations.get(ctx.params.migration_id);
          if (!info) throw notFound();
          return logical({ migration_id: ctx.params.migration_id, migration_info: info });
        },
      },
    },
  ];
}
