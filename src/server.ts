/**
 * The composition root: storage → migrations → kernel → request pipeline → HTTP listener.
 * Also the graceful stop: stop accepting, finish in-flight requests, seal, close the database,
 * stop the embedded PostgreSQL.
 */
import { ExpirationManager } from './kernel/leases/expiration-manager';
import { LeaseRepository } from './kernel/leases/lease.repository';
import { PeriodicRunner } from './kernel/periodic/periodic-runner';
import { withTryAdvisoryLock } from './database/sql';
import { CubbyholeRepository } from './kernel/cubbyhole/cubbyhole.repository';
import { ResponseWrapper } from './kernel/wrapping/response-wrapper';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { DataSource } from 'typeorm';
import type { ServerConfig } from './config/config';
import { openDatabase } from './database/data-source';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './database/embedded-postgres';
import { registerBackends } from './backends';
import { createApiServer, type HttpServerHandle } from './http/http-server';
import { Barrier } from './kernel/barrier/barrier';
import { BarrierRepository } from './kernel/barrier/barrier.repository';
import { InvalidationBus } from './kernel/cluster/invalidation-bus';
import { KernelSecretsRepository } from './kernel/kernel-secrets.repository';
import { PolicyRepository } from './kernel/policy/policy.repository';
import { PolicyStore } from './kernel/policy/policy.store';
import { PasswordPolicies } from './kernel/password-policy/password-policies';
import { PasswordPolicyRepository } from './kernel/password-policy/password-policy.repository';
import { MountRepository } from './kernel/router/mount.repository';
import { MountTable } from './kernel/router/mount-table';
import { RequestPipeline } from './application/request-pipeline';
import { RekeyService } from './kernel/seal/rekey.service';
import { ShamirSealProvider } from './kernel/seal/seal-provider';
import { SealRepository } from './kernel/seal/seal.repository';
import { SealService } from './kernel/seal/seal.service';
import { TokenRepository } from './kernel/token/token.repository';
import { TokenStore } from './kernel/token/token.store';
import type { Logger } from './logger';
import { AuditRetention } from './audit/retention';
import { AuditAddressKeys } from './audit/address-keys';
import { BatchedAuditRenderer } from './audit/audit-renderer';
import { AuditBroker } from './audit/audit-broker';
import { AuditDeviceRepository } from './audit/audit-device.repository';
import { AuditLogRepository } from './audit/audit-log.repository';
import { AuditChainWriter } from './audit/chain-writer';
import { AnomalyRepository } from './audit/anomaly.repository';
import { AnomalyScanner } from './audit/anomaly-scanner';
import { InFlightRequests } from './kernel/router/in-flight';
import { VersionHistory } from './kernel/version-history';
import { BUILD_DATE, REPORTED_VERSION } from './version';

export interface Kernel {
  dataSource: DataSource;
  barrier: Barrier;
  seal: SealService;
  rekey: RekeyService;
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
  /** The requests being handled (sys/in-flight-req); the pipeline adds and removes them. */
  inFlight: InFlightRequests;
  /** Versions that have unsealed this storage (sys/version-history). */
  versions: VersionHistory;
  audit: { broker: AuditBroker; chain: AuditChainWriter; log: AuditLogRepository; addressKeys: AuditAddressKeys; retention: AuditRetention; anomalies: { scanner: AnomalyScanner; repository: AnomalyRepository } };
}

/** Vault's: six failed revocations make a lease irrevocable. */
const LEASE_REVOKE_MAX_ATTEMPTS = 6;
/** How often due leases are looked for. */
const LEASE_TICK_MS = 1000;
/** How often backends' periodic functions run (Vault: every minute). */
const PERIODIC_INTERVAL_MS = 60_000;

/** Builds the kernel on an open, migrated DataSource; `file_path=stdout` audit devices write to `auditStdout`. */
export function buildKernel(dataSource: DataSource, config: Pick<ServerConfig, 'maxEncryptionsPerTerm' | 'clusterName' | 'seal' | 'audit'>, log: Logger, auditStdout: Writable = process.stdout): Kernel {
  if (config.seal) throw new Error('seal "pkcs11" is not available in this build yet; remove the seal stanza to use Shamir');
  const info = (m: string) => log.info(m);
  const barrierRepository = new BarrierRepository(dataSource);
  const barrier = new Barrier(barrierRepository, { maxEncryptionsPerTerm: config.maxEncryptionsPerTerm, log: info });
  const secrets = new KernelSecretsRepository(dataSource);
  const tokens = new TokenRepository(dataSource);
  const bus = new InvalidationBus((dataSource.options as { url?: string }).url, dataSource, info);
  const tokenStore = new TokenStore(tokens, secrets, barrier, bus);
  const seals = new SealRepository(dataSource);
  const seal = new SealService({
    dataSource,
    seals,
    barrierRepository,
    barrier,
    tokens,
    tokenStore,
    secrets,
    provider: new ShamirSealProvider(),
    clusterName: config.clusterName,
    maxEncryptionsPerTerm: config.maxEncryptionsPerTerm,
    log: info,
  });
  const rekey = new RekeyService(seal, seals, barrier, info);
  // sys/rotate/config changed on some node: every node reloads it.
  bus.subscribe((i) => {
    if (i.topic === undefined || i.topic === 'barrier') barrier.reloadRotationConfig().catch((e: Error) => log.error(`barrier: could not reload the rotation config: ${e.message}`));
  });
  const versions = new VersionHistory(dataSource, { version: REPORTED_VERSION, buildDate: BUILD_DATE });
  seal.addLifecycleHook({ afterUnseal: () => versions.record(), beforeSeal: () => undefined });
  const policies = new PolicyStore(new PolicyRepository(dataSource), bus);
  seal.addLifecycleHook({ afterUnseal: () => policies.ensureDefault(), beforeSeal: () => policies.clear() });
  const mounts = new MountTable(new MountRepository(dataSource), bus);
  seal.addLifecycleHook({ afterUnseal: () => mounts.load(), beforeSeal: () => mounts.clear() });
  // Disabling an auth method revokes every token it issued (and their children), in the same transaction.
  mounts.onDisable(async (m, entry) => {
    // Cached records are dropped after the commit: before it, a node could re-read and re-cache a row about to go.
    if (entry.class === 'auth' && (await tokens.deleteTreesByCreationPath(m, entry.path)) > 0) return () => tokenStore.invalidateAll();
  });
  const audit = buildAudit(dataSource, config.audit, { barrier, secrets, bus, stdout: auditStdout }, log);
  seal.addLifecycleHook({ afterUnseal: () => audit.start(), beforeSeal: () => audit.stop() });
  const cubbyhole = new CubbyholeRepository(dataSource, barrier);
  const leases = new ExpirationManager(new LeaseRepository(dataSource), mounts, barrier, { maxAttempts: LEASE_REVOKE_MAX_ATTEMPTS, tickMs: LEASE_TICK_MS, log: { info: (m) => log.info(m), error: (m) => log.error(m) } });
  // After the mounts are loaded (hooks run in order): revocation needs the issuing mount.
  seal.addLifecycleHook({ afterUnseal: async () => leases.start(), beforeSeal: () => leases.stop() });
  // As Vault: disabling a mount first revokes every lease it issued; a revocation that fails aborts the disable.
  mounts.onDisable(async (_m, entry) => {
    await leases.revokePrefix(entry.path);
  });
  const passwordPolicies = new PasswordPolicies(new PasswordPolicyRepository(dataSource));
  const periodic = new PeriodicRunner(mounts, { intervalMs: PERIODIC_INTERVAL_MS, exclusive: (pass) => withTryAdvisoryLock(dataSource, 'secrethub.periodic', pass), log: { error: (m) => log.error(m) } });
  seal.addLifecycleHook({ afterUnseal: async () => periodic.start(), beforeSeal: () => periodic.stop() });
  return { dataSource, barrier, seal, rekey, tokenStore, policies, passwordPolicies, mounts, bus, cubbyhole, wrapper: new ResponseWrapper(tokenStore, cubbyhole), leases, periodic, inFlight: new InFlightRequests(), versions, audit: audit.parts };
}

/**
 * The audit log: unseal is refused while any append-only guard is missing; the broker (devices,
 * signing key, chain) and the anomaly job run while unsealed; at unseal and daily, month keys past
 * their retention are destroyed and partitions past `retention` are pruned.
 */
function buildAudit(dataSource: DataSource, config: ServerConfig['audit'], k: { barrier: Barrier; secrets: KernelSecretsRepository; bus: InvalidationBus; stdout: Writable }, log: Logger) {
  const auditLog = new AuditLogRepository(dataSource);
  const logger = { info: (m: string) => log.info(m), error: (m: string) => log.error(m) };
  const chain = new AuditChainWriter(auditLog, { checkpointEntries: config.checkpointEntries, checkpointIntervalSeconds: config.checkpointIntervalSeconds, checkpointFile: config.checkpointFile, log: logger });
  const addressKeys = new AuditAddressKeys(k.secrets, k.barrier, config.addressKeyRetentionSeconds);
  const renderer = new BatchedAuditRenderer();
  const broker = new AuditBroker({ devices: new AuditDeviceRepository(dataSource), secrets: k.secrets, barrier: k.barrier, chain, addressKeys, renderer, fileDir: config.fileDir, stdout: k.stdout, bus: k.bus, log: logger });
  const anomalyRepository = new AnomalyRepository(dataSource);
  const scanner = new AnomalyScanner(anomalyRepository, addressKeys, config.anomalies, logger);
  const retention = new AuditRetention(auditLog, chain, config.retentionSeconds);
  let dailyTimer: NodeJS.Timeout | undefined;
  // Pruning re-hashes a month of entries: it runs in the background, never holding up unseal.
  const daily = async () => {
    void retention.prune().then(
      (pruned) => pruned && log.info(`audit: pruned entries 1..${pruned.prunedThrough} (dropped ${pruned.partitions.join(', ')}; retention ${config.retentionSeconds}s)`),
      (e: Error) => log.error(`audit: retention failed: ${e.message}`),
    );
    await addressKeys.shred().then(
      (months) => months.length && log.info(`audit: destroyed the address keys of ${months.join(', ')} (retention ${config.addressKeyRetentionSeconds}s)`),
      (e: Error) => log.error(`audit: address key shredding failed: ${e.message}`),
    );
  };
  return {
    parts: { broker, chain, log: auditLog, addressKeys, retention, anomalies: { scanner, repository: anomalyRepository } },
    async start() {
      const missing = await auditLog.missingGuards();
      if (missing.length > 0) throw new Error(`the audit log's append-only guards are missing or not ENABLE ALWAYS (${missing.join(', ')}); refusing to unseal`);
      await broker.start();
      await daily();
      dailyTimer = setInterval(() => void daily(), 86_400_000);
      dailyTimer.unref();
      scanner.start();
    },
    async stop() {
      if (dailyTimer) clearInterval(dailyTimer);
      await scanner.stop();
      await broker.stop();
    },
  };
}

export interface RunningServer {
  address: string;
  kernel: Kernel;
  /** Dev mode only: the unseal key and root token. */
  dev?: { unsealKey: string; rootToken: string };
  stop(): Promise<void>;
}

export async function startServer(config: ServerConfig, log: Logger): Promise<RunningServer> {
  let embedded: EmbeddedPostgresHandle | undefined;
  let devDir: string | undefined;
  let url = config.databaseUrl;
  if (!url) {
    const dataDir = config.dev ? (devDir = mkdtempSync(join(tmpdir(), 'secrethub-dev-'))) : config.dataDir;
    embedded = await startEmbeddedPostgres(dataDir, (m) => log.info(m));
    url = embedded.url;
  }
  let dataSource: DataSource | undefined;
  let http: HttpServerHandle | undefined;
  let stopBus: (() => Promise<void>) | undefined;
  const cleanup = async () => {
    await stopBus?.();
    await http?.close().catch((e: Error) => log.error(`stop: http: ${e.message}`));
    await dataSource?.destroy().catch((e: Error) => log.error(`stop: database: ${e.message}`));
    await embedded?.stop().catch((e: Error) => log.error(`stop: embedded PostgreSQL: ${e.message}`));
    if (devDir) {
      embedded?.removeData();
      rmSync(devDir, { recursive: true, force: true });
    }
  };
  try {
    const opened = await openDatabase(url);
    dataSource = opened.dataSource;
    for (const name of opened.applied) log.info(`migration applied: ${name}`);
    const kernel = buildKernel(dataSource, config, log);
    await kernel.bus.start();
    stopBus = () => kernel.bus.stop();
    registerBackends(kernel, { disableUnauthedRekeyEndpoints: config.listener.disableUnauthedRekeyEndpoints, userLockout: config.userLockout, config }, log);
    const pipeline = new RequestPipeline({ mounts: kernel.mounts, seal: kernel.seal, tokens: kernel.tokenStore, policies: kernel.policies, listener: config.listener, log, audit: kernel.audit, wrapper: kernel.wrapper, leases: kernel.leases, inFlight: kernel.inFlight });
    http = await createApiServer(pipeline, config.listener, log);

    let dev: RunningServer['dev'];
    if (config.dev && !(await kernel.seal.isInitialized())) {
      const init = await kernel.seal.initialize({ secretShares: 1, secretThreshold: 1, rootTokenId: config.devRootTokenId });
      const unsealKey = init.keys[0].toString('base64');
      await kernel.seal.submitUnsealKey(unsealKey, false);
      dev = { unsealKey, rootToken: init.rootToken };
      // As Vault's dev mode: KV version 2 at secret/.
      await kernel.mounts.enable({ class: 'secret', path: 'secret', type: 'kv', options: { version: '2' }, description: 'key/value secret storage' });
    }
    const address = await http.listen();
    log.info(`listening on ${address}`);
    return {
      address,
      kernel,
      dev,
      async stop() {
        await http?.close().catch((e: Error) => log.error(`stop: http: ${e.message}`));
        http = undefined;
        await kernel.seal.seal();
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
