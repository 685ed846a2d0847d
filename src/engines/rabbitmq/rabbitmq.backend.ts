/**
 * The `rabbitmq` secrets engine (Vault's API): the management connection (`config/connection`),
 * lease settings (`config/lease`), roles (`roles/:name`) and dynamic users (`creds/:name`), each
 * handed out under a lease the expiration manager revokes by deleting the user.
 *
 * Invariants:
 * - the management password is stored only as barrier ciphertext and never read back or put in
 *   an error (the client scrubs it);
 * - a credential's user exists with all its permissions, or not at all: when a permission step
 *   fails the user is deleted again before the error is answered;
 * - the lease carries the username; revocation deletes that user and counts a user already gone
 *   (404) as revoked, so revocation is idempotent;
 * - storage reuses `engine_objects` (kind + name per mount): the two config objects are kind
 *   `connection` named `connection` and `lease`; roles are kind `role`.
 */
import type { BackendDefinition, MountEntry } from '../../framework/backend';
import { SYSTEM_MAX_LEASE_TTL } from '../../framework/backend';
import type { Fields } from '../../framework/fields';
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { randomBase62, randomPassword } from '../../crypto/random';
import { badRequest, notFound } from '../../kernel/errors';
import type { EngineObjectRepository } from '../../shared/engine-objects.repository';
import { parseManagementUri, RabbitMqApiError, RabbitMqManagementClient } from './rabbitmq-api';
import { parseRole, type StoredRole } from './rabbitmq-role';
import { parseTemplate, renderTemplate, TemplateError } from '../../framework/username-template';

/** Vault's GenericNameRegex: word characters, with `-` and `.` inside. */
const ROLE_NAME = /^\w(?:[\w.-]{0,126}\w)?$/;

interface StoredConnection {
  connectionUri: string;
  username: string;
  password: string;
  /** The `sys/policies/password` policy of generated passwords (default: 32 base-62 characters). */
  passwordPolicy?: string;
  /** Vault's username template (framework/username-template.ts); absent: `v-<role>-<random>`. */
  usernameTemplate?: string;
}

interface StoredLeaseConfig {
  ttl: number;
  maxTtl: number;
}

const CONNECTION = 'connection';
const LEASE = 'lease';

const CONNECTION_FIELDS = {
  connection_uri: { type: 'string', description: 'The management API URI, e.g. http://localhost:15672.' },
  username: { type: 'string', description: 'A management user with the administrator tag.' },
  password: { type: 'string', description: "That user's password (never read back)." },
  verify_connection: { type: 'bool', default: true, description: 'Call the management API with these credentials before saving (default true).' },
  password_policy: { type: 'string', description: 'The sys/policies/password policy for generated passwords (default: 32 letters and digits).' },
  username_template: { type: 'string', description: "Vault's template for generated usernames (fields .DisplayName, .RoleName; default: v-<role>-<random>)." },
} as const satisfies Fields;

const LEASE_FIELDS = {
  ttl: { type: 'duration', description: "Lease TTL of issued credentials (0: the mount's default)." },
  max_ttl: { type: 'duration', description: "Lease max TTL of issued credentials (0: the mount's maximum)." },
} as const satisfies Fields;

const ROLE_FIELDS = {
  tags: { type: 'string-list', description: 'Comma-separated RabbitMQ user tags (e.g. management).' },
  vhosts: { type: 'any', description: 'JSON map vhost → {configure, write, read} regular expressions.' },
  vhost_topics: { type: 'any', description: 'JSON map vhost → exchange → {write, read} regular expressions.' },
} as const satisfies Fields;

function roleName(ctx: RequestContext): string {
  const name = ctx.params.name;
  if (!ROLE_NAME.test(name)) throw badRequest('invalid role name: use letters, digits, "_", "-" and "." (not first or last)');
  return name;
}

/** `v-<role>-<random>`: recognisable, lower-case `[a-z0-9-]` only, 24 random characters (≈124 bits). */
export function generateUsername(role: string): string {
  const part =
    role
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 32) || 'role';
  return `v-${part}-${randomBase62(24).toLowerCase()}`;
}

/** The username of a new credential: the connection's template, else `v-<role>-<random>`. */
function usernameFor(stored: StoredConnection | undefined, role: string, displayName: string): string {
  if (!stored?.usernameTemplate) return generateUsername(role);
  let username: string;
  try {
    username = renderTemplate(parseTemplate(stored.usernameTemplate), { DisplayName: displayName, RoleName: role });
  } catch (err) {
    if (err instanceof TemplateError) throw badRequest(`unable to generate username: ${err.message}`);
    throw err;
  }
  if (username === '') throw badRequest('unable to generate username: the username template gave an empty name');
  return username;
}

/** A 400 for a failure on RabbitMQ; the client's messages carry no password. */
function targetError(action: string, err: unknown): never {
  if (err instanceof RabbitMqApiError) throw badRequest(`${action}: ${err.message}`);
  throw err;
}

/** `generateFromPolicy`: a password from a `sys/policies/password` policy (400 for an unknown one). */
export function rabbitmqBackend(objects: EngineObjectRepository, generateFromPolicy: (name: string) => Promise<string>): BackendDefinition {
  const client = async (mount: MountEntry): Promise<RabbitMqManagementClient> => {
    const c = await objects.get<StoredConnection>(mount.uuid, 'connection', CONNECTION);
    if (!c) throw badRequest('the RabbitMQ connection is not configured (write rabbitmq/config/connection first)');
    return new RabbitMqManagementClient(c.connectionUri, c.username, c.password);
  };

  const routes: RouteDefinition[] = [
    route({
      path: 'config/connection',
      fields: CONNECTION_FIELDS,
      help: 'Configure the management API connection (URI, administrator username and password); read shows it without the password.',
      handlers: {
        update: async (ctx) => {
          const d = ctx.data;
          const next: StoredConnection = { connectionUri: d.connection_uri ?? '', username: d.username ?? '', password: d.password ?? '' };
          if (!next.connectionUri) throw badRequest('missing connection_uri');
          if (!next.username) throw badRequest('missing username');
          if (!next.password) throw badRequest('missing password');
          if (d.password_policy) {
            next.passwordPolicy = d.password_policy;
            // An unknown policy is refused now, not at the first creds read.
            await generateFromPolicy(next.passwordPolicy);
          }
          if (d.username_template) {
            // As Vault: the template must parse and render with empty fields; messages never quote it.
            let parsed: ReturnType<typeof parseTemplate>;
            try {
              parsed = parseTemplate(d.username_template);
            } catch (err) {
              if (err instanceof TemplateError) throw badRequest(`unable to initialize username template: ${err.message}`);
              throw err;
            }
            try {
              renderTemplate(parsed, { DisplayName: '', RoleName: '' });
            } catch (err) {
              if (err instanceof TemplateError) throw badRequest(`invalid username template: ${err.message}`);
              throw err;
            }
            next.usernameTemplate = d.username_template;
          }
          try {
            parseManagementUri(next.connectionUri);
          } catch (err) {
            throw badRequest((err as Error).message);
          }
          if (d.verify_connection !== false) {
            await new RabbitMqManagementClient(next.connectionUri, next.username, next.password)
              .verify()
              .catch((err) => targetError('failed to validate the connection', err));
          }
          await objects.put(ctx.mount.uuid, 'connection', CONNECTION, next);
          return null;
        },
        read: async (ctx) => {
          const c = await objects.get<StoredConnection>(ctx.mount.uuid, 'connection', CONNECTION);
          if (!c) throw notFound();
          return logical({
            connection_uri: c.connectionUri,
            username: c.username,
            password_policy: c.passwordPolicy ?? '',
            username_template: c.usernameTemplate ?? '',
          });
        },
      },
    }),
    route({
      path: 'config/lease',
      fields: LEASE_FIELDS,
      help: 'Set or read the TTL and max TTL of issued credentials (durations or seconds).',
      handlers: {
        update: async (ctx) => {
          const lease: StoredLeaseConfig = { ttl: ctx.data.ttl ?? 0, maxTtl: ctx.data.max_ttl ?? 0 };
          if (lease.maxTtl && lease.ttl > lease.maxTtl) throw badRequest('ttl cannot be greater than max_ttl');
          await objects.put(ctx.mount.uuid, 'connection', LEASE, lease);
          return null;
        },
        read: async (ctx) => {
          const lease = await objects.get<StoredLeaseConfig>(ctx.mount.uuid, 'connection', LEASE);
          if (!lease) throw notFound();
          return logical({ ttl: lease.ttl, max_ttl: lease.maxTtl });
        },
      },
    }),
    { path: 'roles', help: 'List the roles.', handlers: { list: async (ctx) => logical({ keys: await objects.names(ctx.mount.uuid, 'role') }) } },
    route({
      path: 'roles/:name',
      fields: ROLE_FIELDS,
      help: 'Create, read or delete a role: the tags, vhost permissions and topic permissions of its users.',
      handlers: {
        update: async (ctx) => {
          const name = roleName(ctx);
          await objects.put(ctx.mount.uuid, 'role', name, parseRole(ctx.data));
          return null;
        },
        read: async (ctx) => {
          const r = await objects.get<StoredRole>(ctx.mount.uuid, 'role', roleName(ctx));
          if (!r) throw notFound();
          const orNull = (m: Record<string, unknown>) => (Object.keys(m).length > 0 ? m : null);
          return logical({ tags: r.tags.join(','), vhosts: orNull(r.vhosts), vhost_topics: orNull(r.vhostTopics) });
        },
        delete: async (ctx) => {
          await objects.delete(ctx.mount.uuid, 'role', roleName(ctx));
          return null;
        },
      },
    }),
    {
      path: 'creds/:name',
      help: 'A new RabbitMQ user for the role, under a lease (username and password).',
      handlers: {
        read: async (ctx) => {
          const name = roleName(ctx);
          const role = await objects.get<StoredRole>(ctx.mount.uuid, 'role', name);
          if (!role) throw badRequest(`unknown role: ${name}`);
          const api = await client(ctx.mount);
          const leaseConfig = await objects.get<StoredLeaseConfig>(ctx.mount.uuid, 'connection', LEASE);
          const maxTtl = leaseConfig?.maxTtl || ctx.mount.config.maxLeaseTtl || SYSTEM_MAX_LEASE_TTL;
          const ttl = Math.min(leaseConfig?.ttl || ctx.mount.config.defaultLeaseTtl || SYSTEM_MAX_LEASE_TTL, maxTtl);
          const stored = await objects.get<StoredConnection>(ctx.mount.uuid, 'connection', CONNECTION);
          const username = usernameFor(stored, name, ctx.token?.displayName ?? '');
          // A templated name could be an existing user's (the administrator's): never take one over.
          if (stored?.usernameTemplate && (await api.userExists(username).catch((err) => targetError('failed to create the user', err)))) {
            throw badRequest('failed to create the user: the username template gave the name of an existing user');
          }
          const password = stored?.passwordPolicy ? await generateFromPolicy(stored.passwordPolicy) : randomPassword(32);
          await api.putUser(username, password, role.tags).catch((err) => targetError('failed to create the user', err));
          try {
            for (const [vhost, permission] of Object.entries(role.vhosts)) await api.putPermissions(vhost, username, permission);
            for (const [vhost, exchanges] of Object.entries(role.vhostTopics)) {
              for (const [exchange, permission] of Object.entries(exchanges)) await api.putTopicPermissions(vhost, username, exchange, permission);
            }
          } catch (err) {
            // The user's permissions are in an unknown state: it must not outlive this request.
            const cleanup = await api.deleteUser(username).then(
              () => '',
              () => ` (deleting the half-created user ${username} failed too; remove it by hand)`,
            );
            if (err instanceof RabbitMqApiError) throw badRequest(`failed to set the user's permissions: ${err.message}${cleanup}`);
            throw err;
          }
          return {
            ...logical({ username, password }),
            lease: { ttlSeconds: ttl, maxTtlSeconds: maxTtl, renewable: true, internal: { username }, metadata: { role: name, username } },
          };
        },
      },
    },
  ];

  return {
    type: 'rabbitmq',
    class: 'secret',
    routes: () => routes,
    leases: {
      // A user already gone (deleted by hand, or an earlier attempt that lost its answer) counts as revoked.
      revoke: async ({ mount, internal }) => {
        const username = internal.username;
        if (typeof username !== 'string') throw new Error('the lease carries no username');
        const c = await objects.get<StoredConnection>(mount.uuid, 'connection', CONNECTION);
        if (!c) throw new Error('the RabbitMQ connection of this lease is no longer configured');
        await new RabbitMqManagementClient(c.connectionUri, c.username, c.password).deleteUser(username);
      },
    },
  };
}
