/** The `approle` auth method type: roles, their secret IDs and login, per mount. */
import type { BackendDefinition } from '../../framework/backend';
import type { Barrier } from '../../kernel/barrier/barrier';
import type { TokenStore } from '../../kernel/token/token.store';
import type { AppRoleHmac } from './approle-hmac';
import type { LoginLockout } from '../lockout/lockout.service';
import { appRoleLoginPath } from './approle-login';
import { appRoleRolePaths } from './approle-role.paths';
import { appRoleSecretIdPaths } from './approle-secret-id.paths';
import type { AppRoleRepository } from './approle.repository';

export function appRoleBackend(deps: { roles: AppRoleRepository; hmac: AppRoleHmac; barrier: Barrier; tokens: TokenStore; lockout: LoginLockout; log: (message: string) => void }): BackendDefinition {
  const routes = [appRoleLoginPath(deps.roles, deps.hmac, deps.tokens, deps.lockout), ...appRoleRolePaths(deps.roles), ...appRoleSecretIdPaths(deps.roles, deps.hmac, deps.barrier, deps.log)];
  return { type: 'approle', class: 'auth', routes: () => routes };
}
