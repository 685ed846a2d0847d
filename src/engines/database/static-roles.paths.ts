/**
 * Static roles of the `database` engine (Vault's API): an existing database user whose password the
 * engine owns and rotates every `rotation_period` (`static-roles/:name`, `static-creds/:name`,
 * `rotate-role/:name`). The first rotation happens when the role is created, so the engine knows
 * the password from then on. Passwords are stored only as barrier ciphertext.
 */
import type { Fields } from '../../framework/fields';
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { ApiError, badRequest, notFound } from '../../kernel/errors';
import { rotateStaticRole, secondsToRotation, type RotationDeps, type StoredStaticRole } from './credential-rotation';
import { PLUGINS, safeTargetMessage, type StoredConnection } from './plugins';

/** Vault's smallest rotation period. */
const MIN_ROTATION_PERIOD = 5;

const STATIC_ROLE_FIELDS = {
  db_name: { type: 'string', description: 'The connection this role uses.' },
  username: { type: 'string', description: 'The existing database user whose password the engine rotates.' },
  rotation_period: { type: 'duration', description: 'How often the password is rotated (at least 5s).' },
  rotation_statements: { type: 'string-list', description: "Statements setting the password ({{name}}, {{password}}; default: the plugin's ALTER)." },
  rotation_schedule: { type: 'string', description: 'Not supported: use rotation_period.' },
  credential_type: { type: 'string', description: 'Only "password".' },
} as const satisfies Fields;

const USERNAME = /^[a-z0-9_-]{1,63}$/;

export function staticRolePaths(deps: RotationDeps, objectName: (ctx: RequestContext) => string): RouteDefinition[] {
  const { objects } = deps;
  const rotate = async (ctx: RequestContext, name: string) =>
    rotateStaticRole(deps, ctx.mount, name).catch((err: unknown) => {
      if (err instanceof ApiError) throw err;
      throw badRequest(`rotating the password failed on the target database: ${safeTargetMessage(err)}`);
    });

  return [
    {
      path: 'static-roles',
      help: 'List the static roles.',
      handlers: { list: async (ctx) => logical({ keys: await objects.names(ctx.mount.uuid, 'static-role') }) },
    },
    route({
      path: 'static-roles/:name',
      fields: STATIC_ROLE_FIELDS,
      help: 'Create (rotating the password at once), update, read or delete a static role.',
      handlers: {
        update: async (ctx) => {
          const name = objectName(ctx);
          const d = ctx.data;
          if (d.rotation_schedule) throw badRequest('rotation_schedule is not supported; use rotation_period');
          if (d.credential_type !== undefined && d.credential_type !== 'password') throw badRequest('only credential_type "password" is supported');
          const previous = await objects.get<StoredStaticRole>(ctx.mount.uuid, 'static-role', name);
          const username = d.username ?? previous?.username ?? '';
          if (previous && username !== previous.username) throw badRequest('cannot update static account username');
          if (!USERNAME.test(username)) throw badRequest('username is required: lower-case letters, digits, "_" and "-" (at most 63)');
          const dbName = d.db_name ?? previous?.dbName ?? '';
          const conn = await objects.get<StoredConnection>(ctx.mount.uuid, 'connection', dbName);
          if (!conn) throw badRequest(`unknown database "${dbName}"`);
          if (!conn.allowedRoles.includes('*') && !conn.allowedRoles.includes(name)) throw badRequest(`"${name}" is not an allowed role`);
          const rotationPeriod = d.rotation_period ?? previous?.rotationPeriod;
          if (rotationPeriod === undefined) throw badRequest('rotation_period is required');
          if (rotationPeriod < MIN_ROTATION_PERIOD) throw badRequest(`rotation_period must be ${MIN_ROTATION_PERIOD} seconds or more`);
          const rotationStatements = d.rotation_statements ?? previous?.rotationStatements ?? [];
          try {
            PLUGINS[conn.pluginName].validate(rotationStatements);
          } catch (err) {
            throw badRequest(`invalid statement template: ${(err as Error).message}`);
          }
          const role: StoredStaticRole = { ...previous, dbName, username, rotationPeriod, rotationStatements };
          await objects.put(ctx.mount.uuid, 'static-role', name, role);
          if (!previous) {
            // As Vault: the password is rotated at creation; a role whose first rotation fails is not kept.
            await rotate(ctx, name).catch(async (err: unknown) => {
              await objects.delete(ctx.mount.uuid, 'static-role', name);
              throw err;
            });
          }
          return null;
        },
        read: async (ctx) => {
          const r = await objects.get<StoredStaticRole>(ctx.mount.uuid, 'static-role', objectName(ctx));
          if (!r) throw notFound();
          return logical({
            db_name: r.dbName,
            username: r.username,
            rotation_period: r.rotationPeriod,
            rotation_statements: r.rotationStatements,
            credential_type: 'password',
            last_vault_rotation: r.lastRotation ? new Date(r.lastRotation).toISOString() : null,
          });
        },
        delete: async (ctx) => {
          await objects.delete(ctx.mount.uuid, 'static-role', objectName(ctx));
          return null;
        },
      },
    }),
    {
      path: 'static-creds/:name',
      help: "A static role's current username and password, and when it next rotates.",
      handlers: {
        read: async (ctx) => {
          const r = await objects.get<StoredStaticRole>(ctx.mount.uuid, 'static-role', objectName(ctx));
          if (!r?.password) throw badRequest(`unknown static role: ${ctx.params.name}`);
          return logical({
            username: r.username,
            password: r.password,
            last_vault_rotation: new Date(r.lastRotation ?? 0).toISOString(),
            rotation_period: r.rotationPeriod,
            ttl: secondsToRotation(r),
          });
        },
      },
    },
    {
      path: 'rotate-role/:name',
      help: "Rotates a static role's password now.",
      handlers: {
        update: async (ctx) => {
          await rotate(ctx, objectName(ctx));
          return null;
        },
      },
    },
  ];
}
