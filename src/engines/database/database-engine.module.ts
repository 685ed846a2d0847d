/** The database secrets engine (PostgreSQL, MySQL/MariaDB, Redis); its target pools close at seal. */
import { Module } from '@nestjs/common';
import { KernelModule } from '../../kernel/kernel.module';
import { ExpirationManager } from '../../kernel/leases/expiration-manager';
import { PasswordPolicies } from '../../kernel/password-policy/password-policies';
import { backendProvider } from '../../kernel/router/backend-provider';
import { SealService } from '../../kernel/seal/seal.service';
import { LOGGER } from '../../logger';
import { EngineObjectRepository } from '../../shared/engine-objects.repository';
import { SharedModule } from '../../shared/shared.module';
import { databaseBackend } from './database.backend';
import { closeTargetPools } from './plugins';

@Module({
  imports: [KernelModule, SharedModule],
  providers: [
    backendProvider(
      'database',
      { objects: EngineObjectRepository, leases: ExpirationManager, passwordPolicies: PasswordPolicies, seal: SealService, log: LOGGER },
      ({ objects, leases, passwordPolicies, seal, log }) => {
        seal.addLifecycleHook('backends', { afterUnseal: async () => undefined, beforeSeal: () => void closeTargetPools() });
        return databaseBackend({
          objects,
          leasedUsernames: async (mountUuid, db) => new Set((await leases.liveLeaseMetadata(mountUuid, { db })).map((m) => String(m.username))),
          generateFromPolicy: (name) => passwordPolicies.generate(name),
          log: (m) => log.info(m),
        });
      },
    ),
  ],
})
export class DatabaseEngineModule {}
