/**
 * The `database` secrets engine (Vault's API): connections (`config/:name`), roles (`roles/:name`)
 * and dynamic credentials (`creds/:name`), each handed out under a lease the expiration manager
 * revokes; root rotation (`rotate-root/:name`, `reset/:name`, credential-rotation.ts), static roles
 * (static-roles.paths.ts) and the orphan reconciler (orphan-reconciler.ts) run beside them.
 * Plugins (plugins.ts): PostgreSQL, MySQL/MariaDB, Redis ACL users.
 *
 * Invariants: a connection's password is stored only as barrier ciphertext and never read back
 * (nor one written into connection_url: a read masks it);
 * a credential is created (user with VALID UNTIL the lease's max expiry) before its lease is
 * registered by the pipeline, and the lease carries what revocation needs (connection name,
 * username, revocation statements), so a deleted role does not leave its users behind.
 */
import type { BackendDefinition, MountEntry } from '../../framework/backend';
import type { Fields } from '../../framework/fields';
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { parseDurationSeconds } from '../../framework/field-types';
import { ApiError, badRequest, notFound } from '../../kernel/errors';
import { completeRootRotation, newPassword, rotateRoot, runScheduledRotations, type PasswordSource } from './credential-rotation';
import type { EngineObjectRepository } from '../../shared/engine-objects.repository';
import { DEFAULT_ORPHAN_GRACE_SECONDS, reconcileOrphans } from './orphan-reconciler';
import { maskConnectionUrl, PLUGINS, safeTargetMessage, type StoredConnection } from './plugins';
import { expirationOf, generateUsername, mountTag } from './statement-template';
import { staticRolePaths } from './static-roles.paths';

const NAME = /^[\w.-]{1,128}$/;

interface StoredRole {
  dbName: string;
  creationStatements: string[];
  revocationStatements: string[];
  renewStatements?: string[];
  defaultTtl: number;
  maxTtl: number;
}

const CONFIG_FIELDS = {
  plugin_name: { type: 'string', description: 'postgresql-database-plugin, mysql-database-plugin or redis-database-plugin.' },
  connection_url: { type: 'string', description: 'Connection URL, with {{username}} and {{password}} placeholders (PostgreSQL, MySQL).' },
  host: { type: 'string', description: 'Redis host.' },
  port: { type: 'int', min: 1, max: 65535, description: 'Redis port.' },
  username: { type: 'string', description: 'The root user the engine connects as.' },
  password: { type: 'string', description: "The root user's password (never read back)." },
  allowed_roles: { type: 'string-list', description: 'Roles that may use this connection ("*": all).' },
  verify_connection: { type: 'bool', description: 'Connect once before saving (default true).' },
  password_policy: { type: 'string', description: 'The sys/policies/password policy for generated passwords (default: the built-in form).' },
  max_open_connections: { type: 'int', description: 'Connections kept open to the target at most (default 4).' },
  root_rotation_statements: { type: 'string-list', description: "Statements rotate-root runs ({{name}}, {{password}}; default: the plugin's ALTER)." },
} as const satisfies Fields;

const ROLE_FIELDS = {
  db_name: { type: 'string', description: 'The connection this role uses.' },
  creation_statements: { type: 'string-list', description: 'Statements creating the user ({{name}}, {{password}}, {{expiration}}).' },
  revocation_statements: { type: 'string-list', description: 'Statements removing the user (default: end its sessions, revoke, DROP ROLE).' },
  renew_statements: { type: 'string-list', description: 'Statements run when a lease is renewed ({{name}}, {{expiration}}: the new expiry).' },
  default_ttl: { type: 'duration', description: "Lease TTL (default: the mount's)." },
  max_ttl: { type: 'duration', description: "Lease max TTL (default: the mount's)." },
} as const satisfies Fields;

function objectName(ctx: RequestContext): string {
  const name = ctx.params.name;
  if (!NAME.test(name)) throw badRequest('invalid name: use letters, digits, "_", "-" and "."');
  return name;
}

/** A user-facing error for a failure on the target database, without values from the statements. */
function targetError(action: string, err: unknown): never {
  if (err instanceof ApiError) throw err;
  throw badRequest(`${action} failed on the target database: ${safeTargetMessage(err)}`);
}

export interface DatabaseBackendDeps {
  objects: EngineObjectRepository;
  /** The usernames of a mount's unrevoked leases on one connection (the orphan reconciler's). */
  leasedUsernames(mountUuid: string, db: string): Promise<Set<string>>;
  /** A password from a `sys/policies/password` policy (400 for an unknown one). */
  generateFromPolicy(name: string): Promise<string>;
  log(m: string): void;
}

/** The mount option `orphan_grace_period` (a SecretHub addition), in seconds. */
function orphanGrace(mount: MountEntry): number {
  const v = mount.options.orphan_grace_period;
  return v ? parseDurationSeconds(v) : DEFAULT_ORPHAN_GRACE_SECONDS;
}

export function databaseBackend({ objects, leasedUsernames, generateFromPolicy, log }: DatabaseBackendDeps): BackendDefinition {
  const passwords: PasswordSource = async (policy) => (policy ? generateFromPolicy(policy) : newPassword());
  const rotation = { objects, passwords };
  const connection = async (mount: MountEntry, name: string): Promise<StoredConnection> => {
    const c = await objects.get<StoredConnection>(mount.uuid, 'connection', name);
    if (!c) throw badRequest(`unknown database "${name}"`);
    return c;
  };

  const routes: RouteDefinition[] = [
    { path: 'config', help: 'List the connections.', handlers: { list: async (ctx) => logical({ keys: await objects.names(ctx.mount.uuid, 'connection') }) } },
    route({
      path: 'config/:name',
      fields: CONFIG_FIELDS,
      help: 'Configure, read (never the password) or delete a connection.',
      handlers: {
        update: async (ctx) => {
          const name = objectName(ctx);
          const d = ctx.data;
          const previous = await objects.get<StoredConnection>(ctx.mount.uuid, 'connection', name);
          const pluginName = d.plugin_name ?? previous?.pluginName;
          if (!pluginName) throw badRequest('plugin_name is required');
          const plugin = PLUGINS[pluginName];
          if (!plugin) throw badRequest(`unknown plugin_name; use one of ${Object.keys(PLUGINS).join(', ')}`);
          const next: StoredConnection = {
            pluginName,
            connectionUrl: d.connection_url ?? previous?.connectionUrl ?? '',
            host: d.host ?? previous?.host,
            port: d.port ?? previous?.port,
            username: d.username ?? previous?.username ?? '',
            password: d.password ?? previous?.password ?? '',
            allowedRoles: d.allowed_roles ?? previous?.allowedRoles ?? [],
            maxOpenConnections: d.max_open_connections ?? previous?.maxOpenConnections,
            passwordPolicy: d.password_policy ?? previous?.passwordPolicy,
            rootRotationStatements: d.root_rotation_statements ?? previous?.rootRotationStatements ?? [],
          };
          if (next.maxOpenConnections !== undefined && (next.maxOpenConnections < 1 || next.maxOpenConnections > 100))
            throw badRequest('max_open_connections must be between 1 and 100');
          // A policy that does not exist (or cannot generate) is refused now, not at the first creds read.
          if (next.passwordPolicy) await generateFromPolicy(next.passwordPolicy);
          if (previous?.pendingPassword !== undefined) throw badRequest('a root rotation of this connection is unfinished: run reset first');
          try {
            plugin.validate(next.rootRotationStatements ?? []);
          } catch (err) {
            throw badRequest(`invalid statement template: ${(err as Error).message}`);
          }
          if (!next.connectionUrl && plugin !== PLUGINS['redis-database-plugin']) throw badRequest('connection_url is required');
          if (d.verify_connection !== false) await plugin.verify(next).catch((err) => targetError('verifying the connection', err));
          if (!previous) await objects.put(ctx.mount.uuid, 'connection', name, next);
          else {
            // Under the row lock: a rotation that started or finished meanwhile is neither lost nor undone.
            await objects.modify<StoredConnection>(ctx.mount.uuid, 'connection', name, (cur) => {
              if (cur.pendingPassword !== undefined) throw badRequest('a root rotation of this connection is unfinished: run reset first');
              return { ...next, password: d.password ?? cur.password };
            });
          }
          return null;
        },
        read: async (ctx) => {
          const c = await objects.get<StoredConnection>(ctx.mount.uuid, 'connection', objectName(ctx));
          if (!c) throw notFound();
          const details =
            c.host !== undefined
              ? { host: c.host, port: c.port, username: c.username }
              : { connection_url: maskConnectionUrl(c.connectionUrl), username: c.username, max_open_connections: c.maxOpenConnections ?? 4 };
          return logical({
            plugin_name: c.pluginName,
            connection_details: details,
            allowed_roles: c.allowedRoles,
            password_policy: c.passwordPolicy ?? '',
            root_credentials_rotate_statements: c.rootRotationStatements ?? [],
            verify_connection: true,
          });
        },
        delete: async (ctx) => {
          await objects.delete(ctx.mount.uuid, 'connection', objectName(ctx));
          return null;
        },
      },
    }),
    { path: 'roles', help: 'List the roles.', handlers: { list: async (ctx) => logical({ keys: await objects.names(ctx.mount.uuid, 'role') }) } },
    route({
      path: 'roles/:name',
      fields: ROLE_FIELDS,
      help: 'Create, read or delete a role (how credentials are created and revoked).',
      handlers: {
        update: async (ctx) => {
          const name = objectName(ctx);
          const d = ctx.data;
          const previous = await objects.get<StoredRole>(ctx.mount.uuid, 'role', name);
          const role: StoredRole = {
            dbName: d.db_name ?? previous?.dbName ?? '',
            creationStatements: d.creation_statements ?? previous?.creationStatements ?? [],
            revocationStatements: d.revocation_statements ?? previous?.revocationStatements ?? [],
            renewStatements: d.renew_statements ?? previous?.renewStatements ?? [],
            defaultTtl: d.default_ttl ?? previous?.defaultTtl ?? 0,
            maxTtl: d.max_ttl ?? previous?.maxTtl ?? 0,
          };
          if (!role.dbName) throw badRequest('db_name is required');
          if (role.creationStatements.length === 0) throw badRequest('creation_statements are required');
          if (role.maxTtl && role.defaultTtl > role.maxTtl) throw badRequest('default_ttl cannot be greater than max_ttl');
          // Statements that could never run (unknown placeholder, wrong quoting, a bad ACL rule) are refused now, not at the first creds read.
          const plugin = PLUGINS[(await objects.get<StoredConnection>(ctx.mount.uuid, 'connection', role.dbName))?.pluginName ?? 'postgresql-database-plugin'];
          try {
            plugin.validate(role.creationStatements);
            plugin.validate(role.revocationStatements);
            plugin.validate(role.renewStatements ?? []);
          } catch (err) {
            throw badRequest(`invalid statement template: ${(err as Error).message}`);
          }
          await objects.put(ctx.mount.uuid, 'role', name, role);
          return null;
        },
        read: async (ctx) => {
          const r = await objects.get<StoredRole>(ctx.mount.uuid, 'role', objectName(ctx));
          if (!r) throw notFound();
          return logical({
            db_name: r.dbName,
            creation_statements: r.creationStatements,
            revocation_statements: r.revocationStatements,
            renew_statements: r.renewStatements ?? [],
            rollback_statements: [],
            default_ttl: r.defaultTtl,
            max_ttl: r.maxTtl,
            credential_type: 'password',
          });
        },
        delete: async (ctx) => {
          await objects.delete(ctx.mount.uuid, 'role', objectName(ctx));
          return null;
        },
      },
    }),
    {
      path: 'creds/:name',
      help: 'A new database user for the role, under a lease (username and password).',
      handlers: {
        read: async (ctx) => {
          const roleName = objectName(ctx);
          const role = await objects.get<StoredRole>(ctx.mount.uuid, 'role', roleName);
          if (!role) throw badRequest(`unknown role: ${roleName}`);
          const conn = await connection(ctx.mount, role.dbName);
          if (!conn.allowedRoles.includes('*') && !conn.allowedRoles.includes(roleName)) throw badRequest(`"${roleName}" is not an allowed role`);
          const maxTtl = role.maxTtl || ctx.mount.config.maxLeaseTtl || 768 * 3600;
          const ttl = Math.min(role.defaultTtl || ctx.mount.config.defaultLeaseTtl || 768 * 3600, maxTtl);
          const plugin = PLUGINS[conn.pluginName];
          const username = generateUsername(roleName, plugin.maxUsername, mountTag(ctx.mount.uuid));
          const password = await passwords(conn.passwordPolicy);
          // VALID UNTIL the lease's max expiry: a user whose lease record is lost still stops working.
          const expiration = expirationOf(new Date(Date.now() + maxTtl * 1000));
          await plugin.create(conn, role.creationStatements, { name: username, password, expiration }).catch((err) => targetError('creating the user', err));
          return {
            ...logical({ username, password }),
            lease: {
              ttlSeconds: ttl,
              maxTtlSeconds: maxTtl,
              renewable: true,
              internal: { db: role.dbName, username, revocation: role.revocationStatements, renew: role.renewStatements ?? [] },
              metadata: { role: roleName, db: role.dbName, username },
            },
          };
        },
      },
    },
    {
      path: 'rotate-root/:name',
      help: "Rotates the connection's root password to one only the engine knows (crash-safe: write-ahead).",
      handlers: {
        update: async (ctx) => {
          await rotateRoot(rotation, ctx.mount, objectName(ctx)).catch((err) => targetError('rotating the root password', err));
          return null;
        },
      },
    },
    {
      path: 'reset/:name',
      help: 'Finishes an interrupted root rotation and checks the connection again.',
      handlers: {
        update: async (ctx) => {
          const name = objectName(ctx);
          await completeRootRotation(objects, ctx.mount, name).catch((err) => targetError('finishing the root rotation', err));
          const conn = await connection(ctx.mount, name);
          await PLUGINS[conn.pluginName].verify(conn).catch((err) => targetError('verifying the connection', err));
          return null;
        },
      },
    },
    ...staticRolePaths(rotation, objectName),
  ];

  return {
    type: 'database',
    class: 'secret',
    routes: () => routes,
    leases: {
      revoke: async ({ mount, internal }) => {
        const conn = await objects.get<StoredConnection>(mount.uuid, 'connection', internal.db as string);
        if (!conn) throw new Error('the connection of this lease is gone');
        await PLUGINS[conn.pluginName].revoke(conn, (internal.revocation as string[] | undefined) ?? [], internal.username as string).catch((err) => {
          throw new Error(safeTargetMessage(err));
        });
      },
      renew: async ({ mount, internal, expiresAt }) => {
        const statements = (internal.renew as string[] | undefined) ?? [];
        if (statements.length === 0) return;
        const conn = await objects.get<StoredConnection>(mount.uuid, 'connection', internal.db as string);
        if (!conn) throw new Error('the connection of this lease is gone');
        await PLUGINS[conn.pluginName].renew(conn, statements, internal.username as string, expirationOf(expiresAt)).catch((err) => {
          throw new Error(safeTargetMessage(err));
        });
      },
    },
    normaliseOptions(options) {
      if (options.orphan_grace_period !== undefined) {
        try {
          parseDurationSeconds(options.orphan_grace_period);
        } catch {
          throw badRequest('orphan_grace_period must be a duration such as "15m"');
        }
      }
      return options;
    },
    periodic: async (mount, fence) => {
      await runScheduledRotations(rotation, mount, log, fence);
      if (!fence.isLeader) return;
      await reconcileOrphans({ objects, leasedUsernames, log }, mount, orphanGrace(mount));
    },
  };
}
