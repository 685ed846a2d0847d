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
import { hostname } from 'node:os';
import { sessionUrl } from '../database/session-connection';
import { typedToken } from '../framework/typed-token';
import { LOGGER, type Logger } from '../logger';
import { BUILD_DATE, REPORTED_VERSION } from '../version';
import { Barrier } from './barrier/barrier';
import { BarrierRepository } from './barrier/barrier.repository';
import { ResealJob } from './barrier/reseal-job';
import { InvalidationBus } from './cluster/invalidation-bus';
import { LeaderLease } from './cluster/leader-lease';
import { nodeIdentity } from './cluster/node-identity';
import { NodeRegistry } from './cluster/node-registry';
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
import { GenerateRootAttemptRepository } from './seal/generate-root-attempt.repository';
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
  /** The leader lease and node registry (config `api_addr`, `cluster_addr`, `ha_lease_ttl`, `ha_renew_interval`). */
  ha: { apiAddr: string; clusterAddr: string; leaseTtlSeconds: number; renewIntervalSeconds: number };
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
      const bus = new InvalidationBus(sessionUrl(dataSource), dataSource, (m) => log.info(m));
      // A keyring rotation, a new root key or sys/rotate/config on some node: every node reloads what changed.
      barrier.onChange((what) => {
        bus.publish('barrier', what).catch((e: Error) => log.error(`barrier: could not announce the ${what} change: ${e.message}`));
      });
      bus.subscribe((i) => {
        if (i.topic !== undefined && i.topic !== 'barrier') return;
        if (i.key === undefined || i.key === 'keyring')
          barrier.reloadKeyring().catch((e: Error) => log.error(`barrier: could not reload the keyring: ${e.message}`));
        if (i.key === undefined || i.key === 'rotation-config')
          barrier.reloadRotationConfig().catch((e: Error) => log.error(`barrier: could not reload the rotation config: ${e.message}`));
      });
      return bus;
    },
    inject: [DataSource, Barrier, LOGGER],
  },
  {
    provide: NodeRegistry,
    useFactory: (dataSource: DataSource, settings: KernelSettings, seal: SealService, log: Logger) => {
      const { ha } = settings;
      const registry = new NodeRegistry(dataSource, {
        identity: nodeIdentity(),
        hostname: hostname(),
        apiAddr: ha.apiAddr,
        clusterAddr: ha.clusterAddr,
        version: REPORTED_VERSION,
        heartbeatMs: ha.renewIntervalSeconds * 1000,
        staleMs: ha.leaseTtlSeconds * 1000,
        log: { error: (m) => log.error(m) },
      });
      // Only unsealed processes are members: the row is written at unseal and removed at seal.
      seal.addLifecycleHook('state', { afterUnseal: () => registry.start(), beforeSeal: () => registry.stop() });
      return registry;
    },
    inject: [DataSource, KERNEL_SETTINGS, SealService, LOGGER],
  },
  {
    provide: LeaderLease,
    useFactory: (dataSource: DataSource, settings: KernelSettings, seal: SealService, log: Logger) => {
      const lease = new LeaderLease(dataSource, {
        identity: nodeIdentity(),
        ttlMs: settings.ha.leaseTtlSeconds * 1000,
        renewIntervalMs: settings.ha.renewIntervalSeconds * 1000,
        log: { info: (m) => log.info(m), error: (m) => log.error(m) },
      });
      // In the `state` stage, after the registry: a single process is the leader before the audit and workers stages start.
      seal.addLifecycleHook('state', { afterUnseal: () => lease.start(), beforeSeal: () => lease.stop() });
      return lease;
    },
    // NodeRegistry first: its hook is added (and runs) before the lease's.
    inject: [DataSource, KERNEL_SETTINGS, SealService, LOGGER, NodeRegistry],
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
    useFactory: (seal: SealService, barrier: Barrier, tokens: TokenStore, dataSource: DataSource, log: Logger) =>
      new GenerateRootService(seal, barrier, tokens, new GenerateRootAttemptRepository(dataSource, barrier), (m) => log.info(m)),
    inject: [SealService, Barrier, TokenStore, DataSource, LOGGER],
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
    useFactory: (repository: LeaseRepository, mounts: MountTable, seal: SealService, settings: KernelSettings, log: Logger) => {
      const leases = new ExpirationManager(repository, mounts, {
        maxAttempts: LEASE_REVOKE_MAX_ATTEMPTS,
        tickMs: LEASE_TICK_MS,
        claimer: nodeIdentity(),
        claimerSilentSeconds: settings.ha.leaseTtlSeconds,
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
    inject: [LeaseRepository, MountTable, SealService, KERNEL_SETTINGS, LOGGER],
  },
  {
    provide: ResealJob,
    useFactory: (dataSource: DataSource, barrier: Barrier, secrets: KernelSecretsRepository, seal: SealService, lease: LeaderLease, log: Logger) => {
      const job = new ResealJob(dataSource, barrier, secrets, { info: (m) => log.info(m), error: (m) => log.error(m) }, (work) => lease.ifLeader(work));
      // In the background: reads open either location meanwhile, so nothing waits for it. The leader runs it, and a process
      // that becomes leader while unsealed starts it then; one that stops being leader stops it between two rows.
      let unsealed = false;
      lease.onChange((leader) => {
        if (leader && unsealed) job.start();
        else if (!leader) void job.stop();
      });
      seal.addLifecycleHook('workers', {
        afterUnseal: async () => {
          unsealed = true;
          job.start();
        },
        beforeSeal: () => {
          unsealed = false;
          return job.stop();
        },
      });
      return job;
    },
    inject: [DataSource, Barrier, KernelSecretsRepository, SealService, LeaderLease, LOGGER],
  },
  {
    provide: PasswordPolicies,
    useFactory: (repository: PasswordPolicyRepository) => new PasswordPolicies(repository),
    inject: [PasswordPolicyRepository],
  },
  {
    provide: PeriodicRunner,
    useFactory: (lease: LeaderLease, mounts: MountTable, seal: SealService, log: Logger) => {
      const periodic = new PeriodicRunner(mounts, {
        intervalMs: PERIODIC_INTERVAL_MS,
        fence: lease,
        log: { error: (m) => log.error(m) },
      });
      let unsealed = false;
      seal.addLifecycleHook('workers', {
        afterUnseal: async () => {
          unsealed = true;
          periodic.start();
        },
        beforeSeal: () => {
          unsealed = false;
          return periodic.stop();
        },
      });
      // A process that becomes leader while unsealed (the previous one stopped or stepped down) runs a pass at once.
      lease.onChange((leader) => leader && unsealed && void periodic.tick());
      return periodic;
    },
    // ExpirationManager first: its hook starts before the periodic runner's.
    inject: [LeaderLease, MountTable, SealService, LOGGER, ExpirationManager],
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
    @Inject(LeaderLease) private readonly lease: LeaderLease,
    @Inject(NodeRegistry) private readonly registry: NodeRegistry,
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
    // Sealing does not wait for its hooks' stops: the lease's release and the registry row's removal must reach the database before it closes.
    await this.lease.stop();
    await this.registry.stop();
    await this.managedKeys.closeAll();
    await this.seal.provider.close();
    await this.seal.oldProvider?.close();
    await this.bus.stop();
  }
}
