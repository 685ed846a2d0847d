/** The transit secrets engine. */
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Barrier } from '../../kernel/barrier/barrier';
import { KernelModule } from '../../kernel/kernel.module';
import { backendProvider } from '../../kernel/router/backend-provider';
import { transitBackend } from './transit.backend';
import { TransitKeyStore } from './transit-key-store';
import { TransitRepository } from './transit.repository';

@Module({
  imports: [KernelModule],
  providers: [
    backendProvider('transit', { dataSource: DataSource, barrier: Barrier }, ({ dataSource, barrier }) =>
      transitBackend({ store: new TransitKeyStore(new TransitRepository(dataSource, barrier)) }),
    ),
  ],
})
export class TransitModule {}
