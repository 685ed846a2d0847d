/** The transit secrets engine. */
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Barrier } from '../../kernel/barrier/barrier';
import { KernelModule } from '../../kernel/kernel.module';
import { ManagedKeys } from '../../kernel/managed-keys/managed-keys';
import { backendProvider } from '../../kernel/router/backend-provider';
import { transitBackend } from './transit.backend';
import { TransitKeyStore } from './transit-key-store';
import { TransitManagedKeyAccess } from './transit-managed-keys';
import { TransitRepository } from './transit.repository';

@Module({
  imports: [KernelModule],
  providers: [
    backendProvider('transit', { dataSource: DataSource, barrier: Barrier, managedKeys: ManagedKeys }, ({ dataSource, barrier, managedKeys }) =>
      transitBackend({ store: new TransitKeyStore(new TransitRepository(dataSource, barrier)), managed: new TransitManagedKeyAccess(managedKeys) }),
    ),
  ],
})
export class TransitModule {}
