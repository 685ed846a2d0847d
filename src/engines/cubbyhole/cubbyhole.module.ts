/** The cubbyhole engine (its storage is the kernel's: response wrapping writes there too). */
import { Module } from '@nestjs/common';
import { CubbyholeRepository } from '../../kernel/cubbyhole/cubbyhole.repository';
import { KernelModule } from '../../kernel/kernel.module';
import { backendProvider } from '../../kernel/router/backend-provider';
import { cubbyholeBackend } from './cubbyhole.backend';

@Module({
  imports: [KernelModule],
  providers: [backendProvider('cubbyhole', { repository: CubbyholeRepository }, ({ repository }) => cubbyholeBackend(repository))],
})
export class CubbyholeModule {}
