/** The RabbitMQ secrets engine. */
import { Module } from '@nestjs/common';
import { KernelModule } from '../../kernel/kernel.module';
import { PasswordPolicies } from '../../kernel/password-policy/password-policies';
import { backendProvider } from '../../kernel/router/backend-provider';
import { EngineObjectRepository } from '../../shared/engine-objects.repository';
import { SharedModule } from '../../shared/shared.module';
import { rabbitmqBackend } from './rabbitmq.backend';

@Module({
  imports: [KernelModule, SharedModule],
  providers: [
    backendProvider('rabbitmq', { objects: EngineObjectRepository, passwordPolicies: PasswordPolicies }, ({ objects, passwordPolicies }) =>
      rabbitmqBackend(objects, (name) => passwordPolicies.generate(name)),
    ),
  ],
})
export class RabbitmqModule {}
