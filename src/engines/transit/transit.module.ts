/** The transit secrets engine. */
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Barrier } from '../../kernel/barrier/barrier';
import { InvalidationBus } from '../../kernel/cluster/invalidation-bus';
import { KernelModule } from '../../kernel/kernel.module';
import { backendProvider } from '../../kernel/router/backend-provider';
import { SealService } from '../../kernel/seal/seal.service';
import { transitBackend } from './transit.backend';
import { TransitKeyStore } from './transit-key-store';
import { TransitRepository } from './transit.repository';

@Module({
  imports: [KernelModule],
  providers: [
    backendProvider('transit', { dataSource: DataSource, barrier: Barrier, bus: InvalidationBus, seal: SealService }, ({ dataSource, barrier, bus, seal }) => {
      const store = new TransitKeyStore(new TransitRepository(dataSource, barrier), bus);
      // Key material leaves memory at seal.
      seal.addLifecycleHook('backends', { afterUnseal: async () => undefined, beforeSeal: () => store.clear() });
      return transitBackend({ store });
    }),
  ],
})
export class TransitModule {}
