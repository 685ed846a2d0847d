/**
 * The server's module graph without its HTTP face (composition root; tests build their kernels
 * from it): configuration, database, kernel, audit, the backends and the request pipeline.
 */
import { LeaderLease } from './kernel/cluster/leader-lease';
import { NodeRegistry } from './kernel/cluster/node-registry';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApplicationModule } from './application/application.module';
import { AuditAddressKeys } from './audit/address-keys';
import { AnomalyRepository } from './audit/anomaly.repository';
import { AnomalyScanner } from './audit/anomaly-scanner';
import { AuditBroker } from './audit/audit-broker';
import { AuditLogRepository } from './audit/audit-log.repository';
import { AuditModule } from './audit/audit.module';
import { AuditChainWriter } from './audit/chain-writer';
import { AuditRetention } from './audit/retention';
import { AppRoleModule } from './auth/approle/approle.module';
import { CertAuthModule } from './auth/cert/cert.module';
import { TokenAuthModule } from './auth/token/token.module';
import { UserpassModule } from './auth/userpass/userpass.module';
import type { ServerConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule, type DatabaseHandle } from './database/database.module';
import { CubbyholeModule } from './engines/cubbyhole/cubbyhole.module';
import { DatabaseEngineModule } from './engines/database/database-engine.module';
import { KvModule } from './engines/kv/kv.module';
import { TransitModule } from './engines/transit/transit.module';
import { PkiModule } from './engines/pki/pki.module';
import { RabbitmqModule } from './engines/rabbitmq/rabbitmq.module';
import { SysModule } from './engines/sys/sys.module';
import { Barrier } from './kernel/barrier/barrier';
import { InvalidationBus } from './kernel/cluster/invalidation-bus';
import { CubbyholeRepository } from './kernel/cubbyhole/cubbyhole.repository';
import { KernelModule } from './kernel/kernel.module';
import { ExpirationManager } from './kernel/leases/expiration-manager';
import { PasswordPolicies } from './kernel/password-policy/password-policies';
import { PeriodicRunner } from './kernel/periodic/periodic-runner';
import { PolicyStore } from './kernel/policy/policy-store.service';
import { InFlightRequests } from './kernel/router/in-flight';
import { MountTable } from './kernel/router/mount-table';
import { GenerateRootService } from './kernel/seal/generate-root.service';
import { RecoveryRekeyService, RekeyService } from './kernel/seal/rekey.service';
import { SealService } from './kernel/seal/seal.service';
import { TokenStore } from './kernel/token/token-store.service';
import { VersionHistory } from './kernel/version-history';
import { ManagedKeys } from './kernel/managed-keys/managed-keys';
import { ResponseWrapper } from './kernel/wrapping/response-wrapper';
import type { Logger } from './logger';
import { SharedModule } from './shared/shared.module';

/** Every secrets engine and auth method the server offers: adding one is adding its module here. */
export const BACKEND_MODULES = [
  SysModule,
  TokenAuthModule,
  CubbyholeModule,
  UserpassModule,
  AppRoleModule,
  CertAuthModule,
  DatabaseEngineModule,
  PkiModule,
  RabbitmqModule,
  KvModule,
  TransitModule,
];

@Module({})
export class CoreModule {
  static forRoot(config: ServerConfig, log: Logger, database: DatabaseHandle): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        ConfigModule.forRoot(config, log),
        DatabaseModule.forRoot(database),
        KernelModule,
        AuditModule,
        SharedModule,
        ...BACKEND_MODULES,
        ApplicationModule,
      ],
      exports: [KernelModule, AuditModule, ApplicationModule],
    };
  }
}

/** The kernel's services in one object (sys handlers and tests reach them by name). */
export interface Kernel {
  dataSource: DataSource;
  barrier: Barrier;
  seal: SealService;
  rekey: RekeyService;
  recoveryRekey: RecoveryRekeyService;
  generateRoot: GenerateRootService;
  tokenStore: TokenStore;
  policies: PolicyStore;
  /** Vault's password policies; engines generate passwords with `passwordPolicies.generate(name)`. */
  passwordPolicies: PasswordPolicies;
  mounts: MountTable;
  bus: InvalidationBus;
  cubbyhole: CubbyholeRepository;
  wrapper: ResponseWrapper;
  leases: ExpirationManager;
  periodic: PeriodicRunner;
  /** The leader lease (singleton work) and the node registry of the processes sharing the database. */
  lease: LeaderLease;
  registry: NodeRegistry;
  /** The requests being handled (sys/in-flight-req); the pipeline adds and removes them. */
  inFlight: InFlightRequests;
  /** Versions that have unsealed this storage (sys/version-history). */
  versions: VersionHistory;
  /** Vault's managed keys registry (sys/managed-keys): engines get HSM keys through it. */
  managedKeys: ManagedKeys;
  audit: {
    broker: AuditBroker;
    chain: AuditChainWriter;
    log: AuditLogRepository;
    addressKeys: AuditAddressKeys;
    retention: AuditRetention;
    anomalies: { scanner: AnomalyScanner; repository: AnomalyRepository };
  };
}

export function kernelOf(app: INestApplicationContext): Kernel {
  return {
    dataSource: app.get(DataSource),
    barrier: app.get(Barrier),
    seal: app.get(SealService),
    lease: app.get(LeaderLease),
    registry: app.get(NodeRegistry),
    rekey: app.get(RekeyService),
    recoveryRekey: app.get(RecoveryRekeyService),
    generateRoot: app.get(GenerateRootService),
    tokenStore: app.get(TokenStore),
    policies: app.get(PolicyStore),
    passwordPolicies: app.get(PasswordPolicies),
    mounts: app.get(MountTable),
    bus: app.get(InvalidationBus),
    cubbyhole: app.get(CubbyholeRepository),
    wrapper: app.get(ResponseWrapper),
    leases: app.get(ExpirationManager),
    periodic: app.get(PeriodicRunner),
    inFlight: app.get(InFlightRequests),
    versions: app.get(VersionHistory),
    managedKeys: app.get(ManagedKeys),
    audit: {
      broker: app.get(AuditBroker),
      chain: app.get(AuditChainWriter),
      log: app.get(AuditLogRepository),
      addressKeys: app.get(AuditAddressKeys),
      retention: app.get(AuditRetention),
      anomalies: { scanner: app.get(AnomalyScanner), repository: app.get(AnomalyRepository) },
    },
  };
}
