/**
 * The token auth method, built in at auth/token/. Renewing a token a login issued asks the auth
 * method that issued it (Vault's login renew).
 */
import { Module } from '@nestjs/common';
import type { RequestContext } from '../../framework/route';
import type { TokenInfo } from '../../framework/token-info';
import { KernelModule } from '../../kernel/kernel.module';
import { backendProvider } from '../../kernel/router/backend-provider';
import { MountTable } from '../../kernel/router/mount-table';
import { TokenStore } from '../../kernel/token/token-store.service';
import { LOGGER } from '../../logger';
import { SharedModule } from '../../shared/shared.module';
import { TokenRoleRepository } from '../../shared/token/token-role.repository';
import { tokenPaths } from './token.paths';

@Module({
  imports: [KernelModule, SharedModule],
  providers: [
    backendProvider('token', { store: TokenStore, roles: TokenRoleRepository, mounts: MountTable, log: LOGGER }, ({ store, roles, mounts, log }) => {
      const checkLoginRenewal = async (token: TokenInfo, request: RequestContext) => {
        const mount = mounts.match(token.creationPath);
        if (mount?.class === 'auth') await mounts.backendOf(mount.type)?.renewLogin?.(mount, token, request);
      };
      const routes = tokenPaths(store, roles, (m) => log.info(m), checkLoginRenewal);
      return { type: 'token', class: 'auth', builtinPath: 'auth/token/', description: 'token based credentials', routes: () => routes };
    }),
  ],
})
export class TokenAuthModule {}
