/** What several backends share: user lockout (userpass, approle, sys), engine objects, token roles. */
import { Module, type Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ServerConfig } from '../config/config';
import { SERVER_CONFIG } from '../config/config.module';
import { Barrier } from '../kernel/barrier/barrier';
import { InvalidationBus } from '../kernel/cluster/invalidation-bus';
import { KernelModule } from '../kernel/kernel.module';
import { SealService } from '../kernel/seal/seal.service';
import { EngineObjectRepository } from './engine-objects.repository';
import { LockoutRepository } from './lockout/lockout.repository';
import { LoginLockout } from './lockout/lockout.service';
import { TokenRoleRepository } from './token/token-role.repository';

const providers: Provider[] = [
  {
    provide: LoginLockout,
    useFactory: (dataSource: DataSource, config: ServerConfig) => new LoginLockout(new LockoutRepository(dataSource), config.userLockout),
    inject: [DataSource, SERVER_CONFIG],
  },
  {
    provide: EngineObjectRepository,
    useFactory: (dataSource: DataSource, barrier: Barrier, bus: InvalidationBus, seal: SealService) => {
      const objects = new EngineObjectRepository(dataSource, barrier, bus);
      seal.addLifecycleHook('backends', { afterUnseal: async () => undefined, beforeSeal: () => objects.clear() });
      return objects;
    },
    inject: [DataSource, Barrier, InvalidationBus, SealService],
  },
  { provide: TokenRoleRepository, useFactory: (dataSource: DataSource) => new TokenRoleRepository(dataSource), inject: [DataSource] },
];

@Module({ imports: [KernelModule], providers, exports: [LoginLockout, EngineObjectRepository, TokenRoleRepository] })
export class SharedModule {}
