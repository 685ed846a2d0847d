/**
 * sys/ routes of the seal: init, unseal, seal, seal-status, health, key-status, rotate (rekey: rekey.paths.ts;
 * leader: ha.paths.ts). The special handlers (init, unseal, seal-status, health) answer bare JSON;
 * key-status answers Vault's envelope with its data also at the top level.
 */
import { badRequest } from '../../kernel/errors';
import type { SealService } from '../../kernel/seal/seal.service';
import { BUILD_DATE, REPORTED_VERSION } from '../../version';
import { toBool, toInt, toStringList, toStringValue, pickCaseInsensitive } from '../../framework/field-types';
import { logical, raw, type RequestContext, type RouteDefinition } from '../../framework/route';
import type { Barrier } from '../../kernel/barrier/barrier';

export interface SealPathsDeps {
  seal: SealService;
  barrier: Barrier;
}

export function field(ctx: RequestContext, name: string): unknown {
  return pickCaseInsensitive(ctx.body, name);
}

export function optionalInt(ctx: RequestContext, name: string): number {
  const v = field(ctx, name);
  return v === undefined || v === null || v === '' ? 0 : toInt(name, v);
}

export function optionalBool(ctx: RequestContext, name: string): boolean {
  const v = field(ctx, name);
  return v === undefined || v === null ? false : toBool(name, v);
}

export function optionalString(ctx: RequestContext, name: string): string | undefined {
  const v = field(ctx, name);
  return v === undefined || v === null ? undefined : toStringValue(name, v);
}

export function refusePgp(ctx: RequestContext, names: string[]): void {
  for (const name of names) {
    const v = field(ctx, name);
    if (v === undefined || v === null || v === '') continue;
    if (toStringList(name, v).length > 0) throw badRequest(`${name}: PGP-encrypted key shares are not supported by this server`);
  }
}

const HEALTH_CODES = {
  activecode: 200,
  standbycode: 429,
  drsecondarycode: 472,
  performancestandbycode: 473,
  sealedcode: 503,
  uninitcode: 501,
} as const;

function healthCode(query: URLSearchParams, name: keyof typeof HEALTH_CODES): number {
  const value = query.get(name);
  if (value === null) return HEALTH_CODES[name];
  const code = Number(value);
  if (!/^\d+$/.test(value) || code < 100 || code > 599) throw badRequest(`bad value for ${name} parameter`);
  return code;
}

function healthBool(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null) return false;
  try {
    return value === '' ? true : toBool(name, value);
  } catch {
    throw badRequest(`bad value for ${name} parameter`);
  }
}

export function sealPaths(deps: SealPathsDeps): RouteDefinition[] {
  const { seal, barrier } = deps;

  return [
    {
      path: 'init',
      methodsBeforeToken: true,
      auth: 'none',
      allowedWhileSealed: true,
      help: 'Initialise a new server: GET tells whether it is initialised; PUT creates the root key, the unseal shares and the root token.',
      handlers: {
        read: async () => raw(200, { initialized: await seal.isInitialized() }),
        update: async (ctx) => {
          refusePgp(ctx, ['pgp_keys', 'root_token_pgp_key', 'recovery_pgp_keys']);
          const stored = optionalInt(ctx, 'stored_shares');
          if (stored > 0 && !seal.provider.autoUnseal) throw badRequest('stored_shares is not applicable to seal type shamir');
          const result = await seal.initialize({
            secretShares: optionalInt(ctx, 'secret_shares'),
            secretThreshold: optionalInt(ctx, 'secret_threshold'),
            recoveryShares: optionalInt(ctx, 'recovery_shares'),
            recoveryThreshold: optionalInt(ctx, 'recovery_threshold'),
          });
          return raw(200, {
            keys: result.keys.map((k) => k.toString('hex')),
            keys_base64: result.keys.map((k) => k.toString('base64')),
            ...(result.recoveryKeys.length > 0
              ? {
                  recovery_keys: result.recoveryKeys.map((k) => k.toString('hex')),
                  recovery_keys_base64: result.recoveryKeys.map((k) => k.toString('base64')),
                }
              : {}),
            root_token: result.rootToken,
          });
        },
      },
    },
    {
      path: 'seal-status',
      methodsBeforeToken: true,
      auth: 'none',
      allowedWhileSealed: true,
      help: 'The seal status: initialised, sealed, threshold, shares and unseal progress.',
      handlers: { read: async () => raw(200, await seal.status()) },
    },
    {
      path: 'unseal',
      methodsBeforeToken: true,
      auth: 'none',
      allowedWhileSealed: true,
      help: 'Submit one unseal key share (hex or base64), or reset the progress.',
      handlers: {
        update: async (ctx) => {
          return raw(200, await seal.submitUnsealKey(optionalString(ctx, 'key'), optionalBool(ctx, 'reset'), optionalBool(ctx, 'migrate')));
        },
      },
    },
    {
      path: 'seal',
      methodsBeforeToken: true,
      auth: 'sudo',
      help: 'Seal the server (every worker of this node): key material is dropped from memory until it is unsealed again.',
      handlers: {
        update: async () => {
          await seal.sealNode();
          return raw(204);
        },
      },
    },
    {
      path: 'health',
      methodsBeforeToken: true,
      auth: 'none',
      allowedWhileSealed: true,
      help: 'Health with status codes: 200 unsealed (every unsealed process serves), 501 not initialised, 503 sealed; query parameters override the codes.',
      handlers: {
        read: async (ctx) => {
          const status = await seal.status();
          const body = {
            initialized: status.initialized,
            sealed: status.sealed,
            standby: false,
            performance_standby: false,
            replication_performance_mode: 'disabled',
            replication_dr_mode: 'disabled',
            server_time_utc: Math.floor(Date.now() / 1000),
            version: REPORTED_VERSION,
            build_date: BUILD_DATE,
            enterprise: false,
            echo_duration_ms: 0,
            clock_skew_ms: 0,
            replication_primary_canary_age_ms: 0,
            ...(status.cluster_name ? { cluster_name: status.cluster_name, cluster_id: status.cluster_id } : {}),
          };
          healthBool(ctx.query, 'standbyok');
          healthBool(ctx.query, 'perfstandbyok');
          const codes = Object.fromEntries(Object.keys(HEALTH_CODES).map((k) => [k, healthCode(ctx.query, k as keyof typeof HEALTH_CODES)]));
          const code = !status.initialized ? codes.uninitcode : status.sealed ? codes.sealedcode : codes.activecode;
          return raw(code, body);
        },
      },
    },
    {
      path: 'key-status',
      injectDataAtTopLevel: true,
      help: 'The active barrier key term, when it was installed and how many encryptions it has done.',
      handlers: {
        read: async () => {
          const s = barrier.keyStatus();
          return logical({ term: s.term, install_time: s.installTime.toISOString(), encryptions: s.encryptions });
        },
      },
    },
    ...['rotate', 'rotate/keyring'].map((path): RouteDefinition => ({
      path,
      auth: 'sudo',
      injectDataAtTopLevel: true,
      help: 'Rotate the barrier encryption key: new writes use a new key term; old terms stay for reading.',
      handlers: {
        update: async () => {
          await barrier.rotate();
          return null;
        },
      },
    })),
  ];
}
