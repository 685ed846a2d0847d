/** The transit secrets engine. */
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Barrier } from '../../kernel/barrier/barrier';
import { KernelModule } from '../../kernel/kernel.module';
import { backendProvider } from '../../kernel/router/backend-provider';
import { transitBackend } from './transit.backend';
import { TransitRepository } from './transit.repository';

@Module({
  imports: [KernelModule],
  providers: [
    backendProvider('transit', { dataSource: DataSource, barrier: Barrier }, ({ dataSource, barrier }) =>
      transitBackend(new TransitRepository(dataSource, barrier)),
    ),
  ],
})
export class TransitModule {}
