/** The TLS certificate auth method. */
import { Module } from '@nestjs/common';
import { KernelModule } from '../../kernel/kernel.module';
import { backendProvider } from '../../kernel/router/backend-provider';
import { TokenStore } from '../../kernel/token/token-store.service';
import { EngineObjectRepository } from '../../shared/engine-objects.repository';
import { SharedModule } from '../../shared/shared.module';
import { certAuthBackend } from './cert.backend';

@Module({
  imports: [KernelModule, SharedModule],
  providers: [backendProvider('cert', { objects: EngineObjectRepository, tokens: TokenStore }, ({ objects, tokens }) => certAuthBackend({ objects, tokens }))],
})
export class CertAuthModule {}
