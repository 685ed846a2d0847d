/**
 * auth/<approle mount>/login: role_id (+ secret_id when the role binds one) → a token shaped by
 * the role's token_* settings and bounded by the mount's tuned TTLs.
 *
 * Invariants: every refusal (unknown role_id, wrong, expired, used-up or another role's secret
 * ID, a source address outside the CIDRs) is the same 400 `invalid role or secret ID`; the CIDRs
 * are checked before a use is spent; a use is spent by one conditional UPDATE (see the
 * repository), so a secret ID with N uses admits exactly N logins. Vault's user lockout applies,
 * keyed on the role_id: a locked role_id gets the same refusal and spends no use. A refusal of a
 * secret ID the role issued that is no longer usable (used up, expired; raced to its last use) is
 * not a failed attempt: a fleet sharing a role_id cannot lock it with its own stale secret IDs.
 * Every other refusal (unknown role_id or secret ID, CIDRs, locked) is counted.
 */
import type { Fields } from '../../framework/fields';
import { smallerNonZero } from '../../framework/limits';
import { logical, route, type RouteContext, type RouteDefinition } from '../../framework/route';
import { ipInCidrs } from '../../kernel/cidr';
import { badRequest } from '../../kernel/errors';
import type { TokenStore } from '../../kernel/token/token-store.service';
import type { LoginLockout } from '../../shared/lockout/lockout.service';
import { authBlock } from '../../shared/token/token-output';
import { loginPolicies } from '../../shared/token/token-params';
import type { AppRoleHmac } from './approle-hmac';
import { loginTokenType } from './approle-role';
import type { AppRoleRepository } from './approle.repository';

const LOGIN_FIELDS = {
  // Trimmed as Vault trims them; the audit log then records one role_id for all its whitespace variants (one brute-force subject).
  role_id: { type: 'string', description: 'The role ID of the role.', trim: true },
  secret_id: { type: 'string', description: 'A secret ID of the role (when it binds one).', trim: true },
} as const satisfies Fields;

const invalidCredentials = () => badRequest('invalid role or secret ID');

export function appRoleLoginPath(roles: AppRoleRepository, hmac: AppRoleHmac, tokens: TokenStore, lockout: LoginLockout): RouteDefinition {
  const login = async (ctx: RouteContext<typeof LOGIN_FIELDS>) => {
    const roleId = ctx.data.role_id?.trim() ?? '';
    if (roleId === '') throw badRequest('missing role_id');
    const secretId = ctx.data.secret_id?.trim() ?? '';
    const attempt = await lockout.begin(ctx.mount, roleId, 'failures');
    const refuse = async () => {
      await attempt.failed();
      return invalidCredentials();
    };
    const found = await roles.findLogin(ctx.mount.uuid, roleId, await hmac.secretId(ctx.mount.uuid, secretId));
    if (!found) throw await refuse();
    const { role, secretId: secret } = found;
    if (role.bindSecretId && !secret) throw found.retired ? invalidCredentials() : await refuse();
    if (role.bindSecretId && secret && secret.cidrList.length > 0 && !ipInCidrs(ctx.remoteAddress, secret.cidrList)) throw await refuse();
    if (role.secretIdBoundCidrs.length > 0 && !ipInCidrs(ctx.remoteAddress, role.secretIdBoundCidrs)) throw await refuse();
    if (!attempt.allowed) throw await refuse();
    // Live when read: another login took its last use, or it expired, in between.
    if (role.bindSecretId && secret && (await roles.consumeUse(secret.pk)) === undefined) throw invalidCredentials();
    await attempt.succeeded();

    const tokenType = loginTokenType(role.tokenType, ctx.mount.config.tokenType);
    const policies = loginPolicies(role.tokenPolicies, role.tokenNoDefaultPolicy);
    const boundSecret = role.bindSecretId ? secret : undefined;
    const created = await tokens.create({
      policies,
      orphan: true,
      displayName: 'approle',
      creationPath: `${ctx.mount.path}login`,
      // The role name wins over a secret ID metadata key of the same name, as in Vault.
      meta: { ...(boundSecret?.metadata ?? {}), role_name: role.name },
      renewable: tokenType === 'service',
      ttlSeconds: role.tokenTtl || ctx.mount.config.defaultLeaseTtl || undefined,
      maxTtlSeconds: smallerNonZero(role.tokenMaxTtl, ctx.mount.config.maxLeaseTtl) || undefined,
      explicitMaxTtlSeconds: role.tokenExplicitMaxTtl || undefined,
      periodSeconds: tokenType === 'service' ? role.tokenPeriod || undefined : undefined,
      numUses: tokenType === 'service' ? role.tokenNumUses : 0,
      boundCidrs: boundSecret && boundSecret.tokenBoundCidrs.length > 0 ? boundSecret.tokenBoundCidrs : role.tokenBoundCidrs,
      tokenType,
    });
    return logical(null, undefined, authBlock(created.token, created.accessor, created.info));
  };
  return route({
    path: 'login',
    auth: 'none',
    fields: LOGIN_FIELDS,
    help: 'Log in with a role ID and, when the role binds one, a secret ID.',
    handlers: { update: login },
  });
}
