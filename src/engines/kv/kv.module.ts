/** The KV secrets engine, versions 1 and 2. */
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Barrier } from '../../kernel/barrier/barrier';
import { KernelModule } from '../../kernel/kernel.module';
import { backendProvider } from '../../kernel/router/backend-provider';
import { kvBackend } from './kv.backend';
import { KvRepository } from './kv.repository';
import { KvV2Repository } from './kv-v2.repository';

@Module({
  imports: [KernelModule],
  providers: [
    backendProvider('kv', { dataSource: DataSource, barrier: Barrier }, ({ dataSource, barrier }) =>
      kvBackend(new KvRepository(dataSource, barrier), new KvV2Repository(dataSource, barrier)),
    ),
  ],
})
export class KvModule {}
