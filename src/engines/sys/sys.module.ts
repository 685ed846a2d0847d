/** The system backend (sys/) as a module: it alone of the engines reaches the audit log. */
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AnomalyRepository } from '../../audit/anomaly.repository';
import { AnomalyScanner } from '../../audit/anomaly-scanner';
import { AuditBroker } from '../../audit/audit-broker';
import { AuditLogRepository } from '../../audit/audit-log.repository';
import { AuditModule } from '../../audit/audit.module';
import { AuditChainWriter } from '../../audit/chain-writer';
import { SERVER_CONFIG } from '../../config/config.module';
import { sanitizedConfig } from '../../config/sanitized';
import { Barrier } from '../../kernel/barrier/barrier';
import { InvalidationBus } from '../../kernel/cluster/invalidation-bus';
import { KernelModule } from '../../kernel/kernel.module';
import { ExpirationManager } from '../../kernel/leases/expiration-manager';
import { PasswordPolicies } from '../../kernel/password-policy/password-policies';
import { PolicyStore } from '../../kernel/policy/policy-store.service';
import { backendProvider } from '../../kernel/router/backend-provider';
import { InFlightRequests } from '../../kernel/router/in-flight';
import { KeyInventory } from '../../kernel/key-management/key-health';
import { ManagedKeys } from '../../kernel/managed-keys/managed-keys';
import { MountTable } from '../../kernel/router/mount-table';
import { GenerateRootService } from '../../kernel/seal/generate-root.service';
import { RecoveryRekeyService, RekeyService } from '../../kernel/seal/rekey.service';
import { SealService } from '../../kernel/seal/seal.service';
import { LeaderLease } from '../../kernel/cluster/leader-lease';
import { NodeRegistry } from '../../kernel/cluster/node-registry';
import { TokenStore } from '../../kernel/token/token-store.service';
import { VersionHistory } from '../../kernel/version-history';
import { ResponseWrapper } from '../../kernel/wrapping/response-wrapper';
import { LoginLockout } from '../../shared/lockout/lockout.service';
import { SharedModule } from '../../shared/shared.module';
import { systemBackend } from './system.backend';

const dependencies = {
  dataSource: DataSource,
  barrier: Barrier,
  bus: InvalidationBus,
  seal: SealService,
  lease: LeaderLease,
  registry: NodeRegistry,
  rekey: RekeyService,
  recoveryRekey: RecoveryRekeyService,
  generateRoot: GenerateRootService,
  tokens: TokenStore,
  policies: PolicyStore,
  passwordPolicies: PasswordPolicies,
  mounts: MountTable,
  leases: ExpirationManager,
  wrapper: ResponseWrapper,
  inFlight: InFlightRequests,
  versions: VersionHistory,
  lockout: LoginLockout,
  managedKeys: ManagedKeys,
  keyInventory: KeyInventory,
  broker: AuditBroker,
  chain: AuditChainWriter,
  auditLog: AuditLogRepository,
  anomalies: AnomalyRepository,
  scanner: AnomalyScanner,
  config: SERVER_CONFIG,
} as const;

@Module({
  imports: [KernelModule, AuditModule, SharedModule],
  providers: [
    backendProvider('system', dependencies, ({ broker, chain, auditLog, anomalies, scanner, config, ...kernel }) =>
      systemBackend({
        ...kernel,
        audit: { broker, chain, log: auditLog, anomalies, scanner },
        disableUnauthedRekeyEndpoints: config.listener.disableUnauthedRekeyEndpoints,
        disableUnauthedGenerateRootEndpoints: config.listener.disableUnauthedGenerateRootEndpoints,
        sanitizedConfig: () => sanitizedConfig(config),
      }),
    ),
  ],
})
export class SysModule {}
