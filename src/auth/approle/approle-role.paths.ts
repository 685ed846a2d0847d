/** auth/<approle mount>/role, role/:role_name and role/:role_name/role-id. */
import { randomUUID } from 'node:crypto';
import type { Fields } from '../../framework/fields';
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { badRequest, notFound } from '../../kernel/errors';
import { applyRoleFields, defaultAppRole, normaliseRoleName, ROLE_FIELDS, roleOutput, type AppRole } from './approle-role';
import { RoleIdConflictError, type AppRoleRepository, type StoredRole } from './approle.repository';

const ROLE_ID_FIELDS = { role_id: { type: 'string', required: true, description: 'The role ID to set.' } } as const satisfies Fields;

/** The role named by the path, or a 400 naming it (without echoing anything else). */
export async function roleOf(roles: AppRoleRepository, ctx: RequestContext): Promise<StoredRole> {
  const name = normaliseRoleName(ctx.params.role_name);
  const role = await roles.getRole(ctx.mount.uuid, name);
  if (!role) throw badRequest(`role "${name}" does not exist`);
  return role;
}

export async function saveRole(roles: AppRoleRepository, ctx: RequestContext, role: AppRole): Promise<null> {
  try {
    await roles.putRole(ctx.mount.uuid, role);
  } catch (err) {
    if (err instanceof RoleIdConflictError) throw badRequest(err.message);
    throw err;
  }
  return null;
}

export function appRoleRolePaths(roles: AppRoleRepository): RouteDefinition[] {
  return [
    {
      path: 'role',
      help: 'List the roles of this AppRole mount.',
      handlers: { list: async (ctx) => logical({ keys: await roles.roleNames(ctx.mount.uuid) }) },
    },
    route({
      path: 'role/:role_name',
      fields: ROLE_FIELDS,
      existenceCheck: async (ctx) => (await roles.getRole(ctx.mount.uuid, normaliseRoleName(ctx.params.role_name))) !== undefined,
      help: 'Create, update, read or delete an AppRole role: how its secret IDs are bound and the tokens its logins get.',
      handlers: {
        read: async (ctx) => {
          const role = await roles.getRole(ctx.mount.uuid, normaliseRoleName(ctx.params.role_name));
          if (!role) throw notFound();
          return logical(roleOutput(role));
        },
        update: async (ctx) => {
          const name = normaliseRoleName(ctx.params.role_name);
          const current = (await roles.getRole(ctx.mount.uuid, name)) ?? defaultAppRole(name, randomUUID());
          return saveRole(roles, ctx, applyRoleFields(current, ctx.data));
        },
        delete: async (ctx) => {
          await roles.deleteRole(ctx.mount.uuid, normaliseRoleName(ctx.params.role_name));
          return null;
        },
      },
    }),
    route({
      path: 'role/:role_name/role-id',
      fields: ROLE_ID_FIELDS,
      help: 'Read the role ID of a role, or set a chosen one.',
      handlers: {
        read: async (ctx) => logical({ role_id: (await roleOf(roles, ctx)).roleId }),
        update: async (ctx) => {
          const roleId = ctx.data.role_id.trim();
          if (roleId === '') throw badRequest('missing role_id');
          return saveRole(roles, ctx, applyRoleFields(await roleOf(roles, ctx), { role_id: roleId }));
        },
      },
    }),
  ];
}
