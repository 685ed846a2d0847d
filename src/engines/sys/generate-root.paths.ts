/**
 * sys/generate-root/attempt and sys/generate-root/update, answered as Vault's HTTP layer does: bare
 * JSON status (every field present), 204 on cancel. Unauthenticated like Vault; with the listener's
 * disable_unauthed_generate_root_endpoints, starting and cancelling need a sudo token (the
 * unauthenticated-cancel DoS, CVE-2026-5807). Submitting shares never needs a token: the shares
 * themselves authorise it.
 */
import { pickCaseInsensitive, toStringValue } from '../../framework/field-types';
import { raw, type Authentication, type RequestContext, type RouteDefinition } from '../../framework/route';
import { badRequest } from '../../kernel/errors';
import type { GenerateRootService } from '../../kernel/seal/generate-root.service';

export interface GenerateRootPathsDeps {
  generateRoot: GenerateRootService;
  /** OpenBao's listener flag; true: starting or cancelling needs a sudo token. */
  disableUnauthedGenerateRootEndpoints: boolean;
}

function optionalString(ctx: RequestContext, name: string): string | undefined {
  const v = pickCaseInsensitive(ctx.body, name);
  return v === undefined || v === null ? undefined : toStringValue(name, v);
}

export function generateRootPaths(deps: GenerateRootPathsDeps): RouteDefinition[] {
  const { generateRoot } = deps;
  const control: Authentication = deps.disableUnauthedGenerateRootEndpoints ? 'sudo' : 'none';
  return [
    {
      path: 'generate-root/attempt',
      methodsBeforeToken: true,
      auth: { read: 'none', update: control, delete: control },
      help: 'Start (with an OTP, or let the server make one), inspect or cancel the generation of a new root token.',
      handlers: {
        read: async () => raw(200, await generateRoot.status()),
        update: async (ctx) => {
          if (optionalString(ctx, 'pgp_key')) throw badRequest('pgp_key: PGP encryption of the root token is not supported by this server; use an OTP');
          return raw(200, await generateRoot.start(optionalString(ctx, 'otp')));
        },
        delete: async () => {
          await generateRoot.cancel();
          return raw(204);
        },
      },
    },
    {
      path: 'generate-root/update',
      methodsBeforeToken: true,
      auth: 'none',
      help: 'Submit one unseal key share (recovery key share under an auto seal) with the nonce of the attempt.',
      handlers: {
        update: async (ctx) => raw(200, await generateRoot.update(optionalString(ctx, 'key'), optionalString(ctx, 'nonce'))),
      },
    },
  ];
}
