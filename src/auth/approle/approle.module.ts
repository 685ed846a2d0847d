/** The AppRole auth method; its HMAC key is dropped from memory at seal. */
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Barrier } from '../../kernel/barrier/barrier';
import { KernelModule } from '../../kernel/kernel.module';
import { KernelSecretsRepository } from '../../kernel/kernel-secrets.repository';
import { backendProvider } from '../../kernel/router/backend-provider';
import { SealService } from '../../kernel/seal/seal.service';
import { TokenStore } from '../../kernel/token/token-store.service';
import { LOGGER } from '../../logger';
import { LoginLockout } from '../../shared/lockout/lockout.service';
import { SharedModule } from '../../shared/shared.module';
import { appRoleBackend } from './approle.backend';
import { AppRoleHmac } from './approle-hmac';
import { AppRoleRepository } from './approle.repository';

@Module({
  imports: [KernelModule, SharedModule],
  providers: [
    backendProvider(
      'approle',
      { dataSource: DataSource, secrets: KernelSecretsRepository, barrier: Barrier, tokens: TokenStore, lockout: LoginLockout, seal: SealService, log: LOGGER },
      ({ dataSource, secrets, barrier, tokens, lockout, seal, log }) => {
        const hmac = new AppRoleHmac(secrets);
        seal.addLifecycleHook('backends', { afterUnseal: async () => undefined, beforeSeal: () => hmac.close() });
        return appRoleBackend({ roles: new AppRoleRepository(dataSource, barrier), hmac, tokens, lockout, log: (m) => log.info(m) });
      },
    ),
  ],
})
export class AppRoleModule {}
