/**
 * The kernel as Nest providers: barrier, seal, tokens, policies, mounts, leases, periodic functions,
 * the cluster bus, cubbyhole and wrapping. Seal-tied start and stop are seal lifecycle hooks (their
 * stages order them); the cluster bus starts when the application boots and, after the listener has
 * closed, the kernel seals and stops it at shutdown. Classes stay plain: every provider is a factory.
 */
import { KeyInventory } from './key-management/key-health';
import { SystemAudit } from './system-audit';
import { type BeforeApplicationShutdown, Inject, Module, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { withTryAdvisoryLock } from '../database/sql';
import { typedToken } from '../framework/typed-token';
import { LOGGER, type Logger } from '../logger';
import { BUILD_DATE, REPORTED_VERSION } from '../version';
import { Barrier } from './barrier/barrier';
import { BarrierRepository } from './barrier/barrier.repository';
import { ResealJob } from './barrier/reseal-job';
import { InvalidationBus } from './cluster/invalidation-bus';
import { CubbyholeRepository } from './cubbyhole/cubbyhole.repository';
import { KernelSecretsRepository } from './kernel-secrets.repository';
import { ExpirationManager } from './leases/expiration-manager';
import { LeaseRepository } from './leases/lease.repository';
import type { KmsLibrary } from './managed-keys/kms-library';
import { ManagedKeyRepository } from './managed-keys/managed-key.repository';
import { ManagedKeys } from './managed-keys/managed-keys';
import { PasswordPolicies } from './password-policy/password-policies';
import { PasswordPolicyRepository } from './password-policy/password-policy.repository';
import { PeriodicRunner } from './periodic/periodic-runner';
import { PolicyRepository } from './policy/policy.repository';
import { PolicyStore } from './policy/policy-store.service';
import { InFlightRequests } from './router/in-flight';
import { MountRepository } from './router/mount.repository';
import { MountTable } from './router/mount-table';
import { GenerateRootService } from './seal/generate-root.service';
import { RecoveryRekeyService, RekeyService } from './seal/rekey.service';
import { AutoUnsealLoop } from './seal/auto-unseal-loop';
import { Pkcs11SealProvider } from './seal/pkcs11-seal-provider';
import { ShamirSealProvider, type SealProvider } from './seal/seal-provider';
import type { SealConfiguration } from './seal/seal-settings';
import { SealRepository } from './seal/seal.repository';
import { SealService } from './seal/seal.service';
import { LocalUnsealCoordinator } from './seal/unseal-coordinator';
import { IpcUnsealCoordinator } from './cluster/ipc-unseal-coordinator';
import { isNodeWorker } from './cluster/node-identity';
import { TokenRepository } from './token/token.repository';
import { TokenStore } from './token/token-store.service';
import { VersionHistory } from './version-history';
import { ResponseWrapper } from './wrapping/response-wrapper';

/** What the kernel takes from the server configuration (ConfigModule provides it). */
export interface KernelSettings {
  maxEncryptionsPerTerm: number;
  clusterName?: string;
  seal: SealConfiguration;
  /** The `kms_library` stanzas managed keys name (sys/managed-keys). */
  kmsLibraries: KmsLibrary[];
}
export const KERNEL_SETTINGS = typedToken<KernelSettings>('KernelSettings');

/** Vault's: six failed revocations make a lease irrevocable. */
const LEASE_REVOKE_MAX_ATTEMPTS = 6;
/** How often due leases are looked for. */
const LEASE_TICK_MS = 1000;
/** How often backends' periodic functions run (Vault: every minute). */
const PERIODIC_INTERVAL_MS = 60_000;

function sealProviderFor(seal: SealConfiguration): SealProvider {
  return seal.active.type === 'pkcs11' ? new Pkcs11SealProvider(seal.active) : new ShamirSealProvider();
}

const repositories: Provider[] = [
  ...[BarrierRepository, SealRepository, PolicyRepository, MountRepository, PasswordPolicyRepository].map((repository) => ({
    provide: repository,
    useFactory: (dataSource: DataSource) => new repository(dataSource),
    inject: [DataSource],
  })),
  // Repositories of sealed columns: they seal and open with the barrier.
  ...[KernelSecretsRepository, TokenRepository, LeaseRepository, ManagedKeyRepository].map((repository) => ({
    provide: repository,
    useFactory: (dataSource: DataSource, barrier: Barrier) => new repository(dataSource, barrier),
    inject: [DataSource, Barrier],
  })),
];

const services: Provider[] = [
  {
    provide: Barrier,
    useFactory: (repository: BarrierRepository, settings: KernelSettings, log: Logger) =>
      new Barrier(repository, { maxEncryptionsPerTerm: settings.maxEncryptionsPerTerm, log: (m) => log.info(m) }),
    inject: [BarrierRepository, KERNEL_SETTINGS, LOGGER],
  },
  {
    provide: InvalidationBus,
    useFactory: (dataSource: DataSource, barrier: Barrier, log: Logger) => {
      const bus = new InvalidationBus((dataSource.options as { url?: string }).url, dataSource, (m) => log.info(m));
      // sys/rotate/config changed on some node: every node reloads it.
      bus.subscribe((i) => {
        if (i.topic === undefined || i.topic === 'barrier')
          barrier.reloadRotationConfig().catch((e: Error) => log.error(`barrier: could not reload the rotation config: ${e.message}`));
      });
      return bus;
    },
    inject: [DataSource, Barrier, LOGGER],
  },
  {
    provide: TokenStore,
    useFactory: (tokens: TokenRepository, secrets: KernelSecretsRepository, barrier: Barrier, bus: InvalidationBus) =>
      new TokenStore(tokens, secrets, barrier, bus),
    inject: [TokenRepository, KernelSecretsRepository, Barrier, InvalidationBus],
  },
  {
    provide: SealService,
    useFactory: (
      dataSource: DataSource,
      seals: SealRepository,
      barrierRepository: BarrierRepository,
      barrier: Barrier,
      tokens: TokenRepository,
      tokenStore: TokenStore,
      secrets: KernelSecretsRepository,
      settings: KernelSettings,
      log: Logger,
    ) =>
      new SealService({
        dataSource,
        seals,
        barrierRepository,
        barrier,
        tokens,
        tokenStore,
        secrets,
        provider: sealProviderFor(settings.seal),
        oldProvider: settings.seal.disabled && new Pkcs11SealProvider(settings.seal.disabled),
        clusterName: settings.clusterName,
        maxEncryptionsPerTerm: settings.maxEncryptionsPerTerm,
        coordinator: isNodeWorker() ? new IpcUnsealCoordinator(process, (m) => log.warn(m)) : new LocalUnsealCoordinator(),
        log: (m) => log.info(m),
      }),
    inject: [DataSource, SealRepository, BarrierRepository, Barrier, TokenRepository, TokenStore, KernelSecretsRepository, KERNEL_SETTINGS, LOGGER],
  },
  {
    provide: AutoUnsealLoop,
    useFactory: (seal: SealService, log: Logger) => new AutoUnsealLoop(seal, log),
    inject: [SealService, LOGGER],
  },
  ...[RekeyService, RecoveryRekeyService].map((service) => ({
    provide: service,
    useFactory: (seal: SealService, seals: SealRepository, barrier: Barrier, barrierRepository: BarrierRepository, log: Logger) =>
      new service(seal, seals, barrier, barrierRepository, (m) => log.info(m)),
    inject: [SealService, SealRepository, Barrier, BarrierRepository, LOGGER],
  })),
  {
    provide: GenerateRootService,
    useFactory: (seal: SealService, barrier: Barrier, tokens: TokenStore, log: Logger) => new GenerateRootService(seal, barrier, tokens, (m) => log.info(m)),
    inject: [SealService, Barrier, TokenStore, LOGGER],
  },
  {
    provide: VersionHistory,
    useFactory: (dataSource: DataSource, seal: SealService) => {
      const versions = new VersionHistory(dataSource, { version: REPORTED_VERSION, buildDate: BUILD_DATE });
      seal.addLifecycleHook('state', { afterUnseal: () => versions.record(), beforeSeal: () => undefined });
      return versions;
    },
    inject: [DataSource, SealService],
  },
  {
    provide: PolicyStore,
    useFactory: (repository: PolicyRepository, bus: InvalidationBus, seal: SealService) => {
      const policies = new PolicyStore(repository, bus);
      seal.addLifecycleHook('state', { afterUnseal: () => policies.ensureDefault(), beforeSeal: () => policies.clear() });
      return policies;
    },
    inject: [PolicyRepository, InvalidationBus, SealService],
  },
  {
    provide: MountTable,
    useFactory: (repository: MountRepository, bus: InvalidationBus, seal: SealService, tokens: TokenRepository, tokenStore: TokenStore) => {
      const mounts = new MountTable(repository, bus);
      seal.addLifecycleHook('state', { afterUnseal: () => mounts.load(), beforeSeal: () => mounts.clear() });
      // Disabling an auth method revokes every token it issued (and their children), in the same transaction.
      mounts.onDisable(async (m, entry) => {
        // Cached records are dropped after the commit: before it, a node could re-read and re-cache a row about to go.
        if (entry.class === 'auth' && (await tokens.deleteTreesByCreationPath(m, entry.path)) > 0) return () => tokenStore.invalidateAll();
      });
      return mounts;
    },
    inject: [MountRepository, InvalidationBus, SealService, TokenRepository, TokenStore],
  },
  {
    provide: CubbyholeRepository,
    useFactory: (dataSource: DataSource, barrier: Barrier) => new CubbyholeRepository(dataSource, barrier),
    inject: [DataSource, Barrier],
  },
  {
    provide: ExpirationManager,
    useFactory: (repository: LeaseRepository, mounts: MountTable, seal: SealService, log: Logger) => {
      const leases = new ExpirationManager(repository, mounts, {
        maxAttempts: LEASE_REVOKE_MAX_ATTEMPTS,
        tickMs: LEASE_TICK_MS,
        log: { info: (m) => log.info(m), error: (m) => log.error(m) },
      });
      // Revocation needs the issuing mount: the `workers` stage starts after `state` has loaded the mounts.
      seal.addLifecycleHook('workers', { afterUnseal: async () => leases.start(), beforeSeal: () => leases.stop() });
      // As Vault: disabling a mount first revokes every lease it issued; a revocation that fails aborts the disable.
      mounts.onDisable(async (_m, entry) => {
        await leases.revokePrefix(entry.path);
      });
      return leases;
    },
    inject: [LeaseRepository, MountTable, SealService, LOGGER],
  },
  {
    provide: ResealJob,
    useFactory: (dataSource: DataSource, barrier: Barrier, secrets: KernelSecretsRepository, seal: SealService, log: Logger) => {
      const job = new ResealJob(dataSource, barrier, secrets, { info: (m) => log.info(m), error: (m) => log.error(m) });
      // In the background: reads open either location meanwhile, so nothing waits for it.
      seal.addLifecycleHook('workers', { afterUnseal: async () => job.start(), beforeSeal: () => job.stop() });
      return job;
    },
    inject: [DataSource, Barrier, KernelSecretsRepository, SealService, LOGGER],
  },
  {
    provide: PasswordPolicies,
    useFactory: (repository: PasswordPolicyRepository) => new PasswordPolicies(repository),
    inject: [PasswordPolicyRepository],
  },
  {
    provide: PeriodicRunner,
    useFactory: (dataSource: DataSource, mounts: MountTable, seal: SealService, log: Logger) => {
      const periodic = new PeriodicRunner(mounts, {
        intervalMs: PERIODIC_INTERVAL_MS,
        exclusive: (pass) => withTryAdvisoryLock(dataSource, 'secrethub.periodic', pass),
        log: { error: (m) => log.error(m) },
      });
      seal.addLifecycleHook('workers', { afterUnseal: async () => periodic.start(), beforeSeal: () => periodic.stop() });
      return periodic;
    },
    // ExpirationManager first: its hook starts before the periodic runner's.
    inject: [DataSource, MountTable, SealService, LOGGER, ExpirationManager],
  },
  {
    provide: ResponseWrapper,
    useFactory: (tokenStore: TokenStore, cubbyhole: CubbyholeRepository) => new ResponseWrapper(tokenStore, cubbyhole),
    inject: [TokenStore, CubbyholeRepository],
  },
  { provide: InFlightRequests, useFactory: () => new InFlightRequests() },
  { provide: KeyInventory, useFactory: () => new KeyInventory() },
  { provide: SystemAudit, useFactory: () => new SystemAudit() },
  {
    provide: ManagedKeys,
    useFactory: (repository: ManagedKeyRepository, mounts: MountTable, seal: SealService, settings: KernelSettings) => {
      const keys = new ManagedKeys(repository, mounts, settings.kmsLibraries);
      // The PINs are barrier-sealed: no token stays logged in while sealed.
      seal.addLifecycleHook('state', { afterUnseal: async () => undefined, beforeSeal: () => keys.closeAll() });
      return keys;
    },
    inject: [ManagedKeyRepository, MountTable, SealService, KERNEL_SETTINGS],
  },
];

const exported = [...repositories, ...services].map((p) => (p as { provide: unknown }).provide) as Provider[];

@Module({ providers: [...repositories, ...services], exports: exported })
export class KernelModule implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(InvalidationBus) private readonly bus: InvalidationBus,
    @Inject(SealService) private readonly seal: SealService,
    @Inject(ResealJob) private readonly reseal: ResealJob,
    @Inject(AutoUnsealLoop) private readonly autoUnseal: AutoUnsealLoop,
    @Inject(ManagedKeys) private readonly managedKeys: ManagedKeys,
  ) {}

  /** The bus first, so that an auto-unseal loads state other nodes will invalidate. */
  async onApplicationBootstrap(): Promise<void> {
    await this.bus.start();
    await this.seal.joinNode();
    this.autoUnseal.start();
  }

  /**
   * Before any shutdown hook (@nestjs/typeorm's may destroy the DataSource first): the reseal job
   * stops between two rows and gives its connection back, so the pool closes every connection.
   */
  beforeApplicationShutdown(): Promise<void> {
    return this.reseal.stop();
  }

  /** Runs after the listener has closed (Nest disposes the HTTP server before shutdown hooks). */
  async onApplicationShutdown(): Promise<void> {
    await this.autoUnseal.stop();
    this.seal.leaveNode();
    await this.seal.seal();
    await this.managedKeys.closeAll();
    await this.seal.provider.close();
    await this.seal.oldProvider?.close();
    await this.bus.stop();
  }
}
