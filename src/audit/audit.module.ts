/**
 * The audit log as providers. Unseal is refused while any append-only guard is missing; the broker
 * (devices, signing key, chain) and the anomaly job run while unsealed (the seal hook's `audit`
 * stage: after the mounts are loaded, before leases and periodic functions act); at unseal and
 * daily, month keys past their retention are destroyed and partitions past `retention` are pruned.
 */
import { Inject, Module, type OnModuleInit, type Provider } from '@nestjs/common';
import type { Writable } from 'node:stream';
import { DataSource } from 'typeorm';
import type { ServerConfig } from '../config/config';
import { SERVER_CONFIG } from '../config/config.module';
import { typedToken } from '../framework/typed-token';
import { Barrier } from '../kernel/barrier/barrier';
import { InvalidationBus } from '../kernel/cluster/invalidation-bus';
import { LeaderLease } from '../kernel/cluster/leader-lease';
import { KernelModule } from '../kernel/kernel.module';
import { KernelSecretsRepository } from '../kernel/kernel-secrets.repository';
import { SealService } from '../kernel/seal/seal.service';
import { LOGGER, type Logger } from '../logger';
import { AuditAddressKeys } from './address-keys';
import { AnomalyRepository } from './anomaly.repository';
import { AnomalyScanner } from './anomaly-scanner';
import { AuditBroker } from './audit-broker';
import { AuditDeviceRepository } from './audit-device.repository';
import { AuditLogRepository } from './audit-log.repository';
import { BatchedAuditRenderer } from './audit-renderer';
import { AuditChainWriter } from './chain-writer';
import { AuditRetention } from './retention';

/** Where `file_path=stdout` audit devices write: process.stdout (tests provide their own). */
export const AUDIT_STDOUT = typedToken<Writable>('AuditStdout');

const DAY_MS = 86_400_000;

const logLines = (log: Logger) => ({ info: (m: string) => log.info(m), error: (m: string) => log.error(m) });

const providers: Provider[] = [
  { provide: AUDIT_STDOUT, useValue: process.stdout },
  { provide: AuditLogRepository, useFactory: (dataSource: DataSource) => new AuditLogRepository(dataSource), inject: [DataSource] },
  { provide: AnomalyRepository, useFactory: (dataSource: DataSource) => new AnomalyRepository(dataSource), inject: [DataSource] },
  {
    provide: AuditChainWriter,
    useFactory: (auditLog: AuditLogRepository, config: ServerConfig, log: Logger, lease: LeaderLease) => {
      const audit = config.audit;
      return new AuditChainWriter(auditLog, {
        checkpointEntries: audit.checkpointEntries,
        checkpointIntervalSeconds: audit.checkpointIntervalSeconds,
        checkpointFile: audit.checkpointFile,
        log: logLines(log),
        leader: lease,
      });
    },
    inject: [AuditLogRepository, SERVER_CONFIG, LOGGER, LeaderLease],
  },
  {
    provide: AuditAddressKeys,
    useFactory: (secrets: KernelSecretsRepository, config: ServerConfig) => new AuditAddressKeys(secrets, config.audit.addressKeyRetentionSeconds),
    inject: [KernelSecretsRepository, SERVER_CONFIG],
  },
  {
    provide: AuditBroker,
    useFactory: (
      dataSource: DataSource,
      secrets: KernelSecretsRepository,
      barrier: Barrier,
      chain: AuditChainWriter,
      addressKeys: AuditAddressKeys,
      bus: InvalidationBus,
      stdout: Writable,
      config: ServerConfig,
      log: Logger,
    ) =>
      new AuditBroker({
        devices: new AuditDeviceRepository(dataSource, barrier),
        secrets,
        chain,
        addressKeys,
        renderer: new BatchedAuditRenderer(),
        fileDir: config.audit.fileDir,
        stdout,
        bus,
        log: logLines(log),
      }),
    inject: [DataSource, KernelSecretsRepository, Barrier, AuditChainWriter, AuditAddressKeys, InvalidationBus, AUDIT_STDOUT, SERVER_CONFIG, LOGGER],
  },
  {
    provide: AnomalyScanner,
    useFactory: (anomalies: AnomalyRepository, addressKeys: AuditAddressKeys, config: ServerConfig, log: Logger, lease: LeaderLease) =>
      new AnomalyScanner(anomalies, addressKeys, config.audit.anomalies, logLines(log), lease),
    inject: [AnomalyRepository, AuditAddressKeys, SERVER_CONFIG, LOGGER, LeaderLease],
  },
  {
    provide: AuditRetention,
    useFactory: (auditLog: AuditLogRepository, chain: AuditChainWriter, config: ServerConfig, lease: LeaderLease) =>
      new AuditRetention(auditLog, chain, config.audit.retentionSeconds, lease),
    inject: [AuditLogRepository, AuditChainWriter, SERVER_CONFIG, LeaderLease],
  },
];

@Module({
  imports: [KernelModule],
  providers,
  exports: [AuditLogRepository, AnomalyRepository, AuditChainWriter, AuditAddressKeys, AuditBroker, AnomalyScanner, AuditRetention],
})
export class AuditModule implements OnModuleInit {
  private dailyTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(SealService) private readonly seal: SealService,
    @Inject(AuditLogRepository) private readonly auditLog: AuditLogRepository,
    @Inject(AuditBroker) private readonly broker: AuditBroker,
    @Inject(AnomalyScanner) private readonly scanner: AnomalyScanner,
    @Inject(AuditRetention) private readonly retention: AuditRetention,
    @Inject(AuditAddressKeys) private readonly addressKeys: AuditAddressKeys,
    @Inject(SERVER_CONFIG) private readonly config: ServerConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  onModuleInit(): void {
    this.seal.addLifecycleHook('audit', { afterUnseal: () => this.start(), beforeSeal: () => this.stop() });
  }

  private async start(): Promise<void> {
    const missing = await this.auditLog.missingGuards();
    if (missing.length > 0) throw new Error(`the audit log's append-only guards are missing or not ENABLE ALWAYS (${missing.join(', ')}); refusing to unseal`);
    await this.broker.start();
    await this.daily();
    this.dailyTimer = setInterval(() => void this.daily(), DAY_MS);
    this.dailyTimer.unref();
    this.scanner.start();
  }

  private async stop(): Promise<void> {
    if (this.dailyTimer) clearInterval(this.dailyTimer);
    await this.scanner.stop();
    await this.broker.stop();
  }

  /** Pruning re-hashes a month of entries: it runs in the background, never holding up unseal. */
  private async daily(): Promise<void> {
    const audit = this.config.audit;
    void this.retention.prune().then(
      (pruned) =>
        pruned &&
        this.log.info(`audit: pruned entries 1..${pruned.prunedThrough} (dropped ${pruned.partitions.join(', ')}; retention ${audit.retentionSeconds}s)`),
      (e: Error) => this.log.error(`audit: retention failed: ${e.message}`),
    );
    await this.addressKeys.shred().then(
      (months) => months.length && this.log.info(`audit: destroyed the address keys of ${months.join(', ')} (retention ${audit.addressKeyRetentionSeconds}s)`),
      (e: Error) => this.log.error(`audit: address key shredding failed: ${e.message}`),
    );
  }
}
