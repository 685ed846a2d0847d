/**
 * Secret IDs of a role: generate (pull) and register (push), list accessors, look up and destroy
 * by secret ID or accessor; and tidy/secret-id for the mount.
 *
 * Invariants: a secret ID is only ever found through the role in the path (another role's secret
 * ID is as unknown as a wrong one); it is stored as an HMAC and returned once, when created; the
 * accessor is stored as an HMAC and, sealed by the repository, for listing.
 */
import { randomUUID } from 'node:crypto';
import type { Fields } from '../../framework/fields';
import { logical, route, type RouteContext, type RouteDefinition } from '../../framework/route';
import { ApiError, badRequest } from '../../kernel/errors';
import { parseSecretIdMetadata, secretIdCidrs, secretIdLimits } from './approle-role';
import type { AppRoleHmac } from './approle-hmac';
import { roleOf } from './approle-role.paths';
import { SecretIdConflictError, type AppRoleRepository, type SecretIdRow, type StoredRole } from './approle.repository';

/** Longer than any secret ID this server issues (36) and than any reasonable chosen one. */
const MAX_SECRET_ID_LENGTH = 1024;
/** Vault's expiration_time for a secret ID that never expires. */
const NO_EXPIRY = '0001-01-01T00:00:00Z';

const NEW_SECRET_ID_FIELDS = {
  metadata: { type: 'any', description: 'A JSON object of strings (as a JSON string), added to the metadata of the tokens its logins get.' },
  cidr_list: { type: 'string-list', description: "CIDRs logins with this secret ID may come from (within the role's secret_id_bound_cidrs)." },
  token_bound_cidrs: { type: 'string-list', description: "CIDRs the tokens may be used from (within the role's token_bound_cidrs)." },
  num_uses: { type: 'int', description: "Logins allowed (0: unlimited; at most the role's secret_id_num_uses)." },
  ttl: { type: 'duration', description: "Lifetime (at most the role's secret_id_ttl)." },
} as const satisfies Fields;
const CUSTOM_SECRET_ID_FIELDS = {
  ...NEW_SECRET_ID_FIELDS,
  secret_id: { type: 'string', required: true, description: 'The secret ID to register.' },
} as const satisfies Fields;
const SECRET_ID_FIELD = { secret_id: { type: 'string', required: true, description: 'The secret ID.' } } as const satisfies Fields;
const ACCESSOR_FIELD = { secret_id_accessor: { type: 'string', required: true, description: 'The accessor of the secret ID.' } } as const satisfies Fields;

export function appRoleSecretIdPaths(roles: AppRoleRepository, hmac: AppRoleHmac, log: (message: string) => void): RouteDefinition[] {
  /** Creates a secret ID for the role, bounded by it; answers Vault's creation data. */
  const create = async (ctx: RouteContext<typeof NEW_SECRET_ID_FIELDS>, role: StoredRole, secretId: string) => {
    if (!role.bindSecretId) throw badRequest('bind_secret_id is not set on the role');
    const d = ctx.data;
    const cidrList = secretIdCidrs(d.cidr_list, role.secretIdBoundCidrs, 'cidr_list');
    const tokenBoundCidrs = secretIdCidrs(d.token_bound_cidrs, role.tokenBoundCidrs, 'token_bound_cidrs');
    const limits = secretIdLimits(role, { ttl: d.ttl, numUses: d.num_uses });
    const metadata = parseSecretIdMetadata(d.metadata);
    const accessor = randomUUID();
    const secretIdHmac = await hmac.secretId(ctx.mount.uuid, secretId);
    try {
      await roles.insertSecretId(role.pk, {
        secretIdHmac,
        accessorHmac: await hmac.accessor(ctx.mount.uuid, accessor),
        accessor,
        usesRemaining: limits.numUses > 0 ? limits.numUses : null,
        ttlSeconds: limits.ttlSeconds,
        cidrList,
        tokenBoundCidrs,
        metadata,
      });
    } catch (err) {
      if (err instanceof SecretIdConflictError) throw badRequest(err.message);
      throw err;
    }
    return logical({ secret_id_accessor: accessor, secret_id: secretId, secret_id_ttl: limits.ttlSeconds, secret_id_num_uses: limits.numUses });
  };

  const describe = async (row: SecretIdRow) =>
    logical({
      cidr_list: row.cidrList,
      creation_time: row.createdAt.toISOString(),
      expiration_time: row.expiresAt ? row.expiresAt.toISOString() : NO_EXPIRY,
      last_updated_time: row.lastUpdatedAt.toISOString(),
      metadata: row.metadata,
      secret_id_accessor: await roles.openAccessor(row),
      secret_id_num_uses: row.usesRemaining ?? 0,
      secret_id_ttl: row.ttlSeconds,
      token_bound_cidrs: row.tokenBoundCidrs,
    });

  const secretIdOf = (ctx: RouteContext<typeof SECRET_ID_FIELD>): string => {
    const secretId = ctx.data.secret_id.trim();
    if (secretId === '') throw badRequest('missing secret_id');
    if (secretId.length > MAX_SECRET_ID_LENGTH) throw badRequest('secret_id is too long');
    return secretId;
  };
  const accessorOf = (ctx: RouteContext<typeof ACCESSOR_FIELD>): string => {
    const accessor = ctx.data.secret_id_accessor.trim();
    if (accessor === '') throw badRequest('missing secret_id_accessor');
    return accessor;
  };
  /** Vault answers an unknown accessor with a 404 that says so. */
  const unknownAccessor = () => new ApiError(404, ['failed to find accessor entry for secret_id_accessor']);

  return [
    route({
      path: 'role/:role_name/secret-id',
      fields: NEW_SECRET_ID_FIELDS,
      help: 'Generate a secret ID for the role (returned once), or list the accessors of its secret IDs.',
      handlers: {
        update: async (ctx) => create(ctx, await roleOf(roles, ctx), randomUUID()),
        list: async (ctx) => {
          const role = await roleOf(roles, ctx);
          return logical({ keys: (await roles.liveAccessors(role.pk)).sort() });
        },
      },
    }),
    route({
      path: 'role/:role_name/custom-secret-id',
      fields: CUSTOM_SECRET_ID_FIELDS,
      help: 'Register a chosen secret ID for the role.',
      handlers: {
        update: async (ctx) => create(ctx, await roleOf(roles, ctx), secretIdOf(ctx)),
      },
    }),
    route({
      path: 'role/:role_name/secret-id/lookup',
      fields: SECRET_ID_FIELD,
      help: 'Read the properties of a secret ID of the role (not the secret ID itself).',
      handlers: {
        update: async (ctx) => {
          const role = await roleOf(roles, ctx);
          const row = await roles.findSecretId(role.pk, 'secretIdHmac', await hmac.secretId(ctx.mount.uuid, secretIdOf(ctx)));
          // Vault answers an unknown secret ID with no content.
          return row ? describe(row) : null;
        },
      },
    }),
    route({
      path: 'role/:role_name/secret-id/destroy',
      fields: SECRET_ID_FIELD,
      help: 'Destroy a secret ID of the role.',
      handlers: {
        update: async (ctx) => {
          const role = await roleOf(roles, ctx);
          await roles.deleteSecretId(role.pk, 'secretIdHmac', await hmac.secretId(ctx.mount.uuid, secretIdOf(ctx)));
          return null;
        },
      },
    }),
    route({
      path: 'role/:role_name/secret-id-accessor/lookup',
      fields: ACCESSOR_FIELD,
      help: 'Read the properties of a secret ID of the role by its accessor.',
      handlers: {
        update: async (ctx) => {
          const role = await roleOf(roles, ctx);
          const row = await roles.findSecretId(role.pk, 'accessorHmac', await hmac.accessor(ctx.mount.uuid, accessorOf(ctx)));
          if (!row) throw unknownAccessor();
          return describe(row);
        },
      },
    }),
    route({
      path: 'role/:role_name/secret-id-accessor/destroy',
      fields: ACCESSOR_FIELD,
      help: 'Destroy a secret ID of the role by its accessor.',
      handlers: {
        update: async (ctx) => {
          const role = await roleOf(roles, ctx);
          if (!(await roles.deleteSecretId(role.pk, 'accessorHmac', await hmac.accessor(ctx.mount.uuid, accessorOf(ctx))))) throw unknownAccessor();
          return null;
        },
      },
    }),
    route({
      path: 'tidy/secret-id',
      help: 'Remove expired and used-up secret IDs from storage (they are already unusable), and their tombstones a day after.',
      handlers: {
        update: async (ctx) => {
          // Unlike Vault's background tidy this is done before answering; the answer keeps Vault's shape.
          const removed = await roles.tidy(ctx.mount.uuid);
          log(`approle tidy on ${ctx.mount.path}: removed ${removed.secretIds} expired or used-up secret IDs and ${removed.tombstones} tombstones`);
          return {
            ...logical(null, ["Tidy operation successfully started. Any information from the operation will be printed to SecretHub's server logs."]),
            status: 202,
          };
        },
      },
    }),
  ];
}
