/** The request pipeline as a provider: the one caller of ACL, audit and handlers. */
import { Module } from '@nestjs/common';
import { AuditAddressKeys } from '../audit/address-keys';
import { AuditBroker } from '../audit/audit-broker';
import { AuditModule } from '../audit/audit.module';
import type { ServerConfig } from '../config/config';
import { SERVER_CONFIG } from '../config/config.module';
import { KernelModule } from '../kernel/kernel.module';
import { ExpirationManager } from '../kernel/leases/expiration-manager';
import { PolicyStore } from '../kernel/policy/policy-store.service';
import { InFlightRequests } from '../kernel/router/in-flight';
import { MountTable } from '../kernel/router/mount-table';
import { SealService } from '../kernel/seal/seal.service';
import { SystemAudit } from '../kernel/system-audit';
import { TokenStore } from '../kernel/token/token-store.service';
import { ResponseWrapper } from '../kernel/wrapping/response-wrapper';
import { LOGGER, type Logger } from '../logger';
import { RequestPipeline } from './request-pipeline';

@Module({
  imports: [KernelModule, AuditModule],
  providers: [
    {
      provide: RequestPipeline,
      useFactory: (
        mounts: MountTable,
        seal: SealService,
        tokens: TokenStore,
        policies: PolicyStore,
        config: ServerConfig,
        log: Logger,
        broker: AuditBroker,
        addressKeys: AuditAddressKeys,
        wrapper: ResponseWrapper,
        leases: ExpirationManager,
        inFlight: InFlightRequests,
        systemAudit: SystemAudit,
      ) => {
        const pipeline = new RequestPipeline({
          mounts,
          seal,
          tokens,
          policies,
          listener: config.listener,
          log,
          audit: { broker, addressKeys },
          wrapper,
          leases,
          inFlight,
        });
        systemAudit.attach((event) => pipeline.auditSystemOperation(event));
        return pipeline;
      },
      inject: [
        MountTable,
        SealService,
        TokenStore,
        PolicyStore,
        SERVER_CONFIG,
        LOGGER,
        AuditBroker,
        AuditAddressKeys,
        ResponseWrapper,
        ExpirationManager,
        InFlightRequests,
        SystemAudit,
      ],
    },
  ],
  exports: [RequestPipeline],
})
export class ApplicationModule {}
