/**
 * sys/mounts and sys/auth: list, enable, read, disable and tune secrets engines and auth methods;
 * sys/internal/ui/mounts for clients (the Vault CLI's `kv` commands ask it for a mount's KV version).
 */
import {
  defaultMountConfig,
  SYSTEM_DEFAULT_LEASE_TTL,
  SYSTEM_MAX_LEASE_TTL,
  type MountClass,
  type MountConfig,
  type MountEntry,
} from '../../framework/backend';
import { toDurationSeconds } from '../../framework/field-types';
import { coerceField, type Fields } from '../../framework/fields';
import { logical, raw, type RequestContext, route, type RouteContext, type RouteDefinition } from '../../framework/route';
import { ApiError, badRequest } from '../../kernel/errors';
import type { PolicyStore } from '../../kernel/policy/policy-store.service';
import { displayPath, type MountTable } from '../../kernel/router/mount-table';
import { openApiDocument } from '../../framework/openapi';
import { authFor } from '../../framework/route';
import { SECRETHUB_VERSION } from '../../version';
import { parseUserLockoutConfig } from '../../shared/lockout/lockout';
import type { LoginLockout } from '../../shared/lockout/lockout.service';

const VERSION = `v${SECRETHUB_VERSION}+builtin.secrethub`;

const LISTING_VISIBILITY = ['', 'unauth', 'hidden'] as const;
const TOKEN_TYPES = ['default-service', 'default-batch', 'service', 'batch'] as const;

const CONFIG_FIELDS = {
  default_lease_ttl: { type: 'any', description: 'Default lease TTL (duration or seconds; "system" for the system default).' },
  max_lease_ttl: { type: 'any', description: 'Maximum lease TTL (duration or seconds; "system" for the system maximum).' },
  force_no_cache: { type: 'bool', description: 'Accepted for compatibility; SecretHub has no response cache.' },
  audit_non_hmac_request_keys: { type: 'string-list', description: 'Request keys the audit log keeps in clear.' },
  audit_non_hmac_response_keys: { type: 'string-list', description: 'Response keys the audit log keeps in clear.' },
  listing_visibility: {
    type: 'string',
    allowed: LISTING_VISIBILITY,
    description: 'Whether the UI lists the mount to unauthenticated users ("unauth", "hidden" or "").',
  },
  passthrough_request_headers: { type: 'string-list', description: 'Request headers passed to the backend.' },
  allowed_response_headers: { type: 'string-list', description: 'Response headers the backend may set.' },
  token_type: { type: 'string', allowed: TOKEN_TYPES, description: 'Auth mounts only: the type of token issued.' },
  plugin_version: { type: 'string', description: 'Accepted for compatibility; only built-in plugins exist.' },
  allowed_managed_keys: { type: 'string-list', description: 'Managed keys (sys/managed-keys) this mount may use, by name.' },
  user_lockout_config: { type: 'map', description: 'Auth mounts only: lockout_threshold, lockout_duration, lockout_counter_reset_duration, lockout_disable.' },
} as const satisfies Fields;
/** The same declarations, looked up by a config key's name. */
const CONFIG_FIELD_SPECS: Fields = CONFIG_FIELDS;

const ENABLE_FIELDS = {
  type: { type: 'string', description: 'Backend type: kv, kv-v1, kv-v2, ... (auth: approle, userpass, ...).' },
  description: { type: 'string', description: 'Human-friendly description.' },
  config: { type: 'map', description: 'Mount configuration: default_lease_ttl, max_lease_ttl, listing_visibility, ...' },
  options: { type: 'string-map', description: 'Backend options, e.g. {"version": "2"} for KV.' },
  local: { type: 'bool', description: 'Accepted for compatibility (no replication).' },
  seal_wrap: { type: 'bool', description: 'Accepted for compatibility; every value is barrier-encrypted anyway.' },
  external_entropy_access: { type: 'bool', description: 'Accepted for compatibility.' },
  plugin_name: { type: 'string', description: 'Legacy alias of type.' },
  plugin_version: { type: 'string', description: 'Accepted for compatibility; only built-in plugins exist.' },
} as const satisfies Fields;

const TUNE_FIELDS = {
  ...CONFIG_FIELDS,
  description: { type: 'string', description: 'New description.' },
  options: { type: 'string-map', description: 'Backend options to change (KV: version 1 → 2 only).' },
} as const satisfies Fields;

function ttlSeconds(name: string, value: unknown): number {
  if (value === 'system' || value === '') return 0;
  return toDurationSeconds(name, value);
}

/** Applies config fields (enable's `config` map or tune's top-level fields) over `base`. */
function applyConfig(cls: MountClass, base: MountConfig, input: Record<string, unknown>): MountConfig {
  const out: MountConfig = { ...base };
  for (const [name, raw] of Object.entries(input)) {
    if (raw === undefined || raw === null || !(name in CONFIG_FIELDS)) continue;
    const value = coerceField(name, CONFIG_FIELD_SPECS[name], raw);
    switch (name) {
      case 'default_lease_ttl':
        out.defaultLeaseTtl = ttlSeconds(name, value);
        break;
      case 'max_lease_ttl':
        out.maxLeaseTtl = ttlSeconds(name, value);
        break;
      case 'force_no_cache':
        out.forceNoCache = value as boolean;
        break;
      case 'audit_non_hmac_request_keys':
        out.auditNonHmacRequestKeys = value as string[];
        break;
      case 'audit_non_hmac_response_keys':
        out.auditNonHmacResponseKeys = value as string[];
        break;
      case 'listing_visibility':
        out.listingVisibility = value as MountConfig['listingVisibility'];
        break;
      case 'passthrough_request_headers':
        out.passthroughRequestHeaders = value as string[];
        break;
      case 'allowed_response_headers':
        out.allowedResponseHeaders = value as string[];
        break;
      case 'token_type':
        if (cls !== 'auth') throw badRequest('token_type can only be set on auth mounts');
        out.tokenType = value as string;
        break;
      case 'allowed_managed_keys': {
        // Names as sys/managed-keys stores them (lowercase); an empty list removes the setting.
        const keys = [...new Set((value as string[]).map((k) => k.trim().toLowerCase()).filter((k) => k !== ''))];
        if (keys.length > 0) out.allowedManagedKeys = keys;
        else delete out.allowedManagedKeys;
        break;
      }
      case 'user_lockout_config':
        if (cls !== 'auth') throw badRequest('user_lockout_config can only be set on auth mounts');
        out.userLockout = { ...out.userLockout, ...parseUserLockoutConfig(value as Record<string, unknown>) };
        break;
    }
  }
  if (out.maxLeaseTtl !== 0 && out.defaultLeaseTtl > out.maxLeaseTtl) throw badRequest('given default lease TTL greater than given max lease TTL');
  if (out.maxLeaseTtl === 0 && out.defaultLeaseTtl > SYSTEM_MAX_LEASE_TTL)
    throw badRequest(`given default lease TTL greater than system max lease TTL of ${SYSTEM_MAX_LEASE_TTL}`);
  return out;
}

function configOutput(e: MountEntry, effective: boolean): Record<string, unknown> {
  const c = e.config;
  const out: Record<string, unknown> = {
    default_lease_ttl: effective && c.defaultLeaseTtl === 0 ? SYSTEM_DEFAULT_LEASE_TTL : c.defaultLeaseTtl,
    max_lease_ttl: effective && c.maxLeaseTtl === 0 ? SYSTEM_MAX_LEASE_TTL : c.maxLeaseTtl,
    force_no_cache: c.forceNoCache,
  };
  if (c.auditNonHmacRequestKeys.length) out.audit_non_hmac_request_keys = c.auditNonHmacRequestKeys;
  if (c.auditNonHmacResponseKeys.length) out.audit_non_hmac_response_keys = c.auditNonHmacResponseKeys;
  if (c.listingVisibility) out.listing_visibility = c.listingVisibility;
  if (c.passthroughRequestHeaders.length) out.passthrough_request_headers = c.passthroughRequestHeaders;
  if (c.allowedResponseHeaders.length) out.allowed_response_headers = c.allowedResponseHeaders;
  if (e.class === 'auth') out.token_type = c.tokenType ?? 'default-service';
  if (c.userLockout) out.user_lockout_config = lockoutOutput(c.userLockout);
  if (c.allowedManagedKeys?.length) out.allowed_managed_keys = c.allowedManagedKeys;
  return out;
}

/** Vault's names for a mount's own lockout settings (only those set). */
function lockoutOutput(s: NonNullable<MountConfig['userLockout']>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.counterResetSeconds !== undefined) out.user_lockout_counter_reset_duration = s.counterResetSeconds;
  if (s.threshold !== undefined) out.user_lockout_threshold = s.threshold;
  if (s.durationSeconds !== undefined) out.user_lockout_duration = s.durationSeconds;
  if (s.disabled !== undefined) out.user_lockout_disable = s.disabled;
  return out;
}

/**
 * Vault's MountOutput. `options` is what the mount was given: `{}` for a mount enabled through the
 * API without options (Vault's field zero value), null for the built-in mounts (sys, cubbyhole,
 * token), which Vault creates with no options map.
 */
export function mountOutput(e: MountEntry, builtin: boolean): Record<string, unknown> {
  return {
    accessor: e.accessor,
    config: configOutput(e, false),
    deprecation_status: 'supported',
    description: e.description,
    external_entropy_access: e.externalEntropyAccess,
    local: e.local,
    options: builtin && Object.keys(e.options).length === 0 ? null : e.options,
    plugin_version: '',
    running_plugin_version: VERSION,
    running_sha256: '',
    seal_wrap: e.sealWrap,
    type: e.type,
    uuid: e.uuid,
  };
}

/** `kv-v1` / `kv-v2` are `kv` with `options.version`. */
function resolveType(type: string, options: Record<string, string>): { type: string; options: Record<string, string> } {
  const m = /^kv-v([12])$/.exec(type);
  return m ? { type: 'kv', options: { ...options, version: m[1] } } : { type, options };
}

/** `lockout`: tune reads of auth mounts show the effective user lockout settings. */
export function mountPaths(mounts: MountTable, policies: PolicyStore, lockout?: LoginLockout): RouteDefinition[] {
  const isBuiltin = (e: MountEntry) => mounts.backendOf(e.type)?.builtinPath !== undefined;
  const table = (cls: MountClass) => async () => logical(Object.fromEntries(mounts.list(cls).map((e) => [displayPath(e), mountOutput(e, isBuiltin(e))])));
  const readOne = (cls: MountClass) => async (ctx: RequestContext) => {
    const e = mounts.get(cls, ctx.params.path);
    if (!e)
      throw badRequest(
        cls === 'auth' ? `No auth engine at auth/${ctx.params.path.replace(/\/?$/, '/')}` : `No secret engine mount at ${ctx.params.path.replace(/\/?$/, '/')}`,
      );
    return logical(mountOutput(e, isBuiltin(e)));
  };
  const enable = (cls: MountClass) => async (ctx: RouteContext<typeof ENABLE_FIELDS>) => {
    const d = ctx.data;
    const given = d.type ?? d.plugin_name;
    if (!given) throw badRequest('backend type must be specified as a string');
    const { type, options } = resolveType(given, d.options ?? {});
    const config = applyConfig(cls, defaultMountConfig(), d.config ?? {});
    await mounts.enable({
      class: cls,
      path: ctx.params.path,
      type,
      description: d.description,
      config,
      options,
      local: d.local,
      sealWrap: d.seal_wrap,
      externalEntropyAccess: d.external_entropy_access,
    });
    return null;
  };
  const disable = (cls: MountClass) => async (ctx: RequestContext) => {
    await mounts.disable(cls, ctx.params.path);
    return null;
  };
  const tuneRead = (cls: MountClass) => async (ctx: RequestContext) => {
    const e = mounts.get(cls, ctx.params.path);
    if (!e) throw badRequest(`cannot fetch mount configuration for "${ctx.params.path}": no mount at this path`);
    const out: Record<string, unknown> = { ...configOutput(e, true), description: e.description };
    if (lockout && e.class === 'auth' && e.config.userLockout) {
      const l = lockout.configFor(e);
      delete out.user_lockout_config;
      Object.assign(out, {
        user_lockout_counter_reset_duration: l.counterResetSeconds,
        user_lockout_threshold: l.threshold,
        user_lockout_duration: l.durationSeconds,
        user_lockout_disable: l.disabled,
      });
    }
    return logical(Object.keys(e.options).length ? { ...out, options: e.options } : out);
  };
  const tuneWrite = (cls: MountClass) => async (ctx: RouteContext<typeof TUNE_FIELDS>) => {
    const d = ctx.data;
    await mounts.tune(cls, ctx.params.path, (entry, backend) => {
      const changedOptions = d.options;
      const options = changedOptions ? { ...entry.options, ...changedOptions } : entry.options;
      return {
        ...entry,
        description: typeof d.description === 'string' ? d.description : entry.description,
        config: applyConfig(cls, entry.config, d),
        options: changedOptions && backend?.normaliseOptions ? backend.normaliseOptions(options, entry.options) : options,
      };
    });
    return null;
  };

  const routes = (cls: MountClass, base: string, help: string): RouteDefinition[] => [
    { path: base, injectDataAtTopLevel: true, help: `List the enabled ${help}.`, handlers: { read: table(cls) } },
    route({
      path: `${base}/*path/tune`,
      auth: cls === 'auth' ? 'sudo' : 'token',
      injectDataAtTopLevel: true,
      fields: TUNE_FIELDS,
      help: `Read or change the configuration of one of the ${help}: lease TTLs, description, options, audit keys.`,
      handlers: { read: tuneRead(cls), update: tuneWrite(cls) },
    }),
    route({
      path: `${base}/*path`,
      auth: cls === 'auth' ? 'sudo' : 'token',
      injectDataAtTopLevel: true,
      fields: ENABLE_FIELDS,
      help: `Enable (POST), read (GET) or disable (DELETE, removing its data) one of the ${help}.`,
      handlers: { read: readOne(cls), update: enable(cls), delete: disable(cls) },
    }),
  ];

  /** Vault's hasMountAccess: the token holds some capability somewhere under the mount. */
  const visible = async (ctx: RequestContext, e: MountEntry) => ctx.token !== undefined && (await policies.aclFor(ctx.token.policies)).hasAccessUnder(e.path);

  return [
    ...routes('secret', 'mounts', 'secrets engines'),
    ...routes('auth', 'auth', 'auth methods'),
    {
      path: 'internal/ui/mounts',
      auth: 'optional',
      help: 'The mounts the calling token can use (unauthenticated callers see those with listing_visibility "unauth").',
      handlers: {
        read: async (ctx) => {
          const shown = async (cls: MountClass) => {
            const out: Record<string, unknown> = {};
            for (const e of mounts.list(cls))
              if (e.config.listingVisibility === 'unauth' || (await visible(ctx, e))) out[displayPath(e)] = mountOutput(e, isBuiltin(e));
            return out;
          };
          return logical({ secret: await shown('secret'), auth: await shown('auth') });
        },
      },
    },
    {
      path: 'internal/specs/openapi',
      auth: 'optional',
      help: 'The OpenAPI 3 document of the paths the calling token can reach (without a token: the unauthenticated paths).',
      handlers: {
        read: async (ctx) => {
          const entries: { mount: MountEntry; routes: RouteDefinition[] }[] = [];
          for (const cls of ['secret', 'auth'] as const) {
            for (const mount of mounts.list(cls)) {
              const routes = mounts.routesOf(mount);
              if (await visible(ctx, mount)) entries.push({ mount, routes });
              else
                entries.push({
                  mount,
                  routes: routes.filter((r) => Object.keys(r.handlers).every((op) => authFor(r, op as keyof RouteDefinition['handlers']) === 'none')),
                });
            }
          }
          return raw(200, openApiDocument(SECRETHUB_VERSION, entries));
        },
      },
    },
    {
      path: 'internal/ui/mounts/*path',
      auth: 'optional',
      help: 'The mount serving a path, with its type and options (the Vault CLI reads the KV version here).',
      handlers: {
        read: async (ctx) => {
          const e = mounts.match(ctx.params.path);
          // The same answer for "no such mount" and "not yours", so this cannot enumerate mounts.
          if (!e || !(await visible(ctx, e)))
            throw new ApiError(403, [
              `preflight capability check returned 403, please ensure client's policies grant access to path "${ctx.params.path.replace(/\/?$/, '/')}"`,
            ]);
          return logical({ ...mountOutput(e, isBuiltin(e)), path: displayPath(e) });
        },
      },
    },
  ];
}
