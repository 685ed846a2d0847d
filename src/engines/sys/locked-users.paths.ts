/** sys/locked-users (list) and sys/locked-users/:mount_accessor/unlock/:alias_identifier, in Vault's shapes. */
import { logical, route, type RouteDefinition } from '../../framework/route';
import { badRequest } from '../../kernel/errors';
import type { MountTable } from '../../kernel/router/mount-table';
import type { LoginLockout } from '../../shared/lockout/lockout.service';

/** Vault's list shape (one namespace here: root); accessors with the most locked names first. */
export function lockedUsersOutput(locked: { mountAccessor: string; name: string }[]): Record<string, unknown> {
  const byAccessor = new Map<string, string[]>();
  for (const l of locked) byAccessor.set(l.mountAccessor, [...(byAccessor.get(l.mountAccessor) ?? []), l.name]);
  const mountAccessors = [...byAccessor.entries()]
    .map(([accessor, names]) => ({ mount_accessor: accessor, counts: names.length, alias_identifiers: names }))
    .sort((a, b) => b.counts - a.counts || a.mount_accessor.localeCompare(b.mount_accessor));
  const total = locked.length;
  return { by_namespace: total ? [{ namespace_id: 'root', namespace_path: '', counts: total, mount_accessors: mountAccessors }] : [], total };
}

export function lockedUsersPaths(lockout: LoginLockout, mounts: MountTable): RouteDefinition[] {
  const authMount = (accessor: string) => {
    if (!mounts.list('auth').some((m) => m.accessor === accessor)) throw badRequest(`no auth mount with accessor ${JSON.stringify(accessor)}`);
  };
  return [
    route({
      path: 'locked-users',
      auth: 'sudo',
      fields: { mount_accessor: { type: 'string', query: true, description: 'Only the locked users of this auth mount.' } },
      help: 'The users (login names) currently locked out, by auth mount accessor.',
      handlers: {
        read: async (ctx) => {
          const accessor = ctx.data.mount_accessor;
          if (accessor) authMount(accessor);
          return logical(lockedUsersOutput(await lockout.locked(accessor || undefined)));
        },
      },
    }),
    {
      path: 'locked-users/:mount_accessor/unlock/:alias_identifier',
      auth: 'sudo',
      help: 'Unlock a locked user: its failed-login counter is removed.',
      handlers: {
        update: async (ctx) => {
          authMount(ctx.params.mount_accessor);
          await lockout.unlock(ctx.params.mount_accessor, ctx.params.alias_identifier);
          return null;
        },
      },
    },
  ];
}
