/**
 * sys/rekey/* (the barrier key: unseal shares, or the root key under an auto seal) and
 * sys/rekey-recovery-key/* (the recovery key of an auto seal): the same three routes each, bare JSON.
 */
import { badRequest } from '../../kernel/errors';
import type { RekeyService } from '../../kernel/seal/rekey.service';
import type { SealService } from '../../kernel/seal/seal.service';
import { raw, type Authentication, type RequestContext, type RouteDefinition } from '../../framework/route';
import { field, optionalBool, optionalInt, optionalString, refusePgp } from './seal.paths';

export interface RekeyPathsDeps {
  seal: SealService;
  rekey: RekeyService;
  recoveryRekey: RekeyService;
  /** OpenBao's listener flag; true (default): starting or cancelling a rekey needs a sudo token. */
  disableUnauthedRekeyEndpoints: boolean;
}

/** PGP and backup: refused as by Vault under an auto seal (stored keys), else as this server does everywhere. */
function refusePgpAndBackup(ctx: RequestContext, storedKeys: boolean): void {
  if (storedKeys) {
    const keys = field(ctx, 'pgp_keys');
    if (keys !== undefined && keys !== null && keys !== '' && (!Array.isArray(keys) || keys.length > 0))
      throw badRequest('PGP key encryption not supported when using stored keys');
    if (optionalBool(ctx, 'backup')) throw badRequest('key backup not supported when using stored keys');
    return;
  }
  refusePgp(ctx, ['pgp_keys']);
  if (optionalBool(ctx, 'backup')) throw badRequest('backup requires pgp_keys, which are not supported by this server');
}

function rekeyRoutes(prefix: string, rekey: RekeyService, storedKeys: () => boolean, control: Authentication, what: string): RouteDefinition[] {
  return [
    {
      path: `${prefix}/init`,
      methodsBeforeToken: true,
      auth: { read: 'none', update: control, delete: control },
      help: `Start, inspect or cancel a rekey of ${what}.`,
      handlers: {
        read: async () => raw(200, await rekey.status()),
        update: async (ctx) => {
          refusePgpAndBackup(ctx, storedKeys());
          const status = await rekey.start({
            secretShares: optionalInt(ctx, 'secret_shares'),
            secretThreshold: optionalInt(ctx, 'secret_threshold'),
            requireVerification: optionalBool(ctx, 'require_verification'),
          });
          return raw(200, status);
        },
        delete: async (ctx) => {
          await rekey.cancel(optionalString(ctx, 'nonce') ?? ctx.query.get('nonce') ?? undefined);
          return raw(204);
        },
      },
    },
    {
      path: `${prefix}/update`,
      methodsBeforeToken: true,
      auth: 'none',
      help: `Submit one current share for the rekey of ${what} in progress (with its nonce).`,
      handlers: {
        update: async (ctx) => raw(200, await rekey.update(optionalString(ctx, 'key'), optionalString(ctx, 'nonce'))),
      },
    },
    {
      path: `${prefix}/verify`,
      methodsBeforeToken: true,
      auth: { read: 'none', update: 'none', delete: control },
      help: `Verify the new shares of a rekey of ${what} started with require_verification.`,
      handlers: {
        read: async () => raw(200, await rekey.verifyStatus()),
        update: async (ctx) => raw(200, await rekey.verify(optionalString(ctx, 'key'), optionalString(ctx, 'nonce'))),
        delete: async () => raw(200, await rekey.resetVerification()),
      },
    },
  ];
}

export function rekeyPaths(deps: RekeyPathsDeps): RouteDefinition[] {
  const control: Authentication = deps.disableUnauthedRekeyEndpoints ? 'sudo' : 'none';
  return [
    ...rekeyRoutes('rekey', deps.rekey, () => deps.seal.provider.autoUnseal, control, 'the barrier key (new unseal shares; the root key under an auto seal)'),
    ...rekeyRoutes('rekey-recovery-key', deps.recoveryRekey, () => false, control, 'the recovery key (auto seal)'),
  ];
}
