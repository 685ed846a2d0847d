/** The transit secrets engine. */
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Barrier } from '../../kernel/barrier/barrier';
import { InvalidationBus } from '../../kernel/cluster/invalidation-bus';
import { KernelModule } from '../../kernel/kernel.module';
import { ManagedKeys } from '../../kernel/managed-keys/managed-keys';
import { backendProvider } from '../../kernel/router/backend-provider';
import { SealService } from '../../kernel/seal/seal.service';
import { transitBackend } from './transit.backend';
import { autoRotatePass } from './transit-auto-rotate';
import { newVersion } from './transit-keys.paths';
import { TransitKeyStore } from './transit-key-store';
import { TransitManagedKeyAccess } from './transit-managed-keys';
import { TransitRepository } from './transit.repository';

@Module({
  imports: [KernelModule],
  providers: [
    backendProvider(
      'transit',
      { dataSource: DataSource, barrier: Barrier, bus: InvalidationBus, seal: SealService, managedKeys: ManagedKeys },
      ({ dataSource, barrier, bus, seal, managedKeys }) => {
        const store = new TransitKeyStore(new TransitRepository(dataSource, barrier), bus);
        // Key material leaves memory at seal.
        seal.addLifecycleHook('backends', { afterUnseal: async () => undefined, beforeSeal: () => store.clear() });
        const backend = transitBackend({ store, managed: new TransitManagedKeyAccess(managedKeys) });
        // Vault's periodic function: automatic rotation of the mount's keys (transit-auto-rotate.ts).
        return { ...backend, periodic: (mount) => autoRotatePass(store, mount, newVersion) };
      },
    ),
  ],
})
export class TransitModule {}
