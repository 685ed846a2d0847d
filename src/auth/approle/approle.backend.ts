/** The `approle` auth method type: roles, their secret IDs and login, per mount. */
import type { BackendDefinition } from '../../framework/backend';
import { permissionDenied } from '../../kernel/errors';
import type { TokenStore } from '../../kernel/token/token-store.service';
import type { AppRoleHmac } from './approle-hmac';
import type { LoginLockout } from '../../shared/lockout/lockout.service';
import { appRoleLoginPath } from './approle-login';
import { appRoleRolePaths } from './approle-role.paths';
import { appRoleFieldPaths } from './approle-role-fields.paths';
import { appRoleSecretIdPaths } from './approle-secret-id.paths';
import type { AppRoleRepository } from './approle.repository';

export function appRoleBackend(deps: {
  roles: AppRoleRepository;
  hmac: AppRoleHmac;
  tokens: TokenStore;
  lockout: LoginLockout;
  log: (message: string) => void;
}): BackendDefinition {
  const routes = [
    appRoleLoginPath(deps.roles, deps.hmac, deps.tokens, deps.lockout),
    ...appRoleRolePaths(deps.roles),
    ...appRoleFieldPaths(deps.roles),
    ...appRoleSecretIdPaths(deps.roles, deps.hmac, deps.log),
  ];
  return {
    type: 'approle',
    class: 'auth',
    routes: () => routes,
    // As Vault's login renew: the role must still exist (its policies are not compared, as in Vault).
    async renewLogin(mount, token) {
      if (!(await deps.roles.getRole(mount.uuid, token.meta.role_name ?? ''))) throw permissionDenied();
    },
  };
}
