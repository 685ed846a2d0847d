/**
 * Init, unseal, seal and key status of one process. See README.md for the invariants.
 * All state changes run under one mutex, so concurrent unseal requests cannot interleave. The
 * unseal progress is the node's (the UnsealCoordinator's): in a multi-worker node every worker
 * shares it, and one worker's unseal or `sys/seal` is every worker's.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { IntegrityError } from '../../crypto/aead';
import { zero } from '../../crypto/hmac';
import { randomBase62, randomKey } from '../../crypto/random';
import { combineShares, shareConfigError, ShamirError, shareFormatError, splitSecret } from '../../crypto/shamir';
import { BUILD_DATE, REPORTED_VERSION } from '../../version';
import { AsyncMutex } from '../async-mutex';
import { Barrier } from '../barrier/barrier';
import type { BarrierRepository } from '../barrier/barrier.repository';
import { ApiError, badRequest } from '../errors';
import type { KernelSecretsRepository } from '../kernel-secrets.repository';
import { TokenStore } from '../token/token-store.service';
import type { TokenRepository } from '../token/token.repository';
import { recoveryKeyCheck, verifyRecoveryKey } from './recovery-key';
import { migrateSeal, migrationKeyLayout, migrationPending, migrationProblem } from './seal-migration';
import { SealUnavailableError, type SealProvider, type WrappedRootKey } from './seal-provider';
import { describeHsmKey } from './seal-settings';
import type { SealRepository, StoredSealConfig } from './seal.repository';
import type { UnsealCoordinator } from './unseal-coordinator';
import { decodeUnsealKey, expectedKeyBytes } from './unseal-key';

export interface SealStatus {
  type: string;
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
  nonce: string;
  version: string;
  build_date: string;
  migration: boolean;
  cluster_name?: string;
  cluster_id?: string;
  recovery_seal: boolean;
  recovery_seal_type?: string;
  storage_type: string;
}

export interface InitOptions {
  secretShares: number;
  secretThreshold: number;
  /** Auto seals only: the recovery key layout. */
  recoveryShares?: number;
  recoveryThreshold?: number;
  /** Dev mode and tests: a caller-chosen root token id. */
  rootTokenId?: string;
}

export interface InitResult {
  /** Unseal key shares (Shamir); empty for an auto seal. */
  keys: Buffer[];
  /** Recovery key shares (auto seal); empty for Shamir. */
  recoveryKeys: Buffer[];
  rootToken: string;
}

/**
 * Something that must start after unseal and stop at seal (token caches, lease restore, ...).
 * Sealing does not wait for a stop that returns a promise, but the next unseal does, before any
 * hook starts: a stop still running cannot undo what a new start sets up.
 */
export interface SealLifecycleHook {
  afterUnseal(): Promise<void>;
  beforeSeal(): void | Promise<void>;
}

/**
 * When a hook runs: at unseal the stages start in this order (hooks of one stage in the order they
 * were added), at seal they stop in the reverse order. `state` loads what routing and the ACL read
 * (policies, mounts); `audit` then opens the audit devices, before `workers` (leases, periodic
 * functions) may act; `backends` hold engines' caches and connections.
 */
export const SEAL_HOOK_STAGES = ['state', 'audit', 'workers', 'backends'] as const;
export type SealHookStage = (typeof SEAL_HOOK_STAGES)[number];

export interface SealServiceDeps {
  dataSource: DataSource;
  seals: SealRepository;
  barrierRepository: BarrierRepository;
  barrier: Barrier;
  tokens: TokenRepository;
  tokenStore: TokenStore;
  secrets: KernelSecretsRepository;
  provider: SealProvider;
  /** The disabled seal stanza's provider, during a migration away from an HSM seal. */
  oldProvider?: SealProvider;
  clusterName?: string;
  maxEncryptionsPerTerm: number;
  /** Where the unseal progress lives: this process, or the node's parent. */
  coordinator: UnsealCoordinator;
  log: (message: string) => void;
}

export class SealService {
  private config: StoredSealConfig | undefined;
  private unsealed = false;
  private readonly mutex = new AsyncMutex();
  private readonly stagedHooks: { rank: number; hook: SealLifecycleHook }[] = [];
  /** stagedHooks in stage order. */
  private hooks: SealLifecycleHook[] = [];
  /** Stops begun at the last seal, awaited by the next unseal (they never reject). */
  private stopping: Promise<void>[] = [];

  constructor(private readonly deps: SealServiceDeps) {
    // Under an auto seal another node's rekey replaces the root key; this node unwraps the stored one.
    if (deps.provider.autoUnseal) deps.barrier.useStoredRootKey(() => this.storedRootKey());
  }

  /** The root key the stored seal row wraps (auto seal), read afresh. */
  private async storedRootKey(): Promise<Buffer> {
    const config = await this.loadFreshConfig();
    if (!config) throw new Error('the seal is not initialised');
    return this.providerCall(() => this.deps.provider.unwrapRootKey(config.rootKey));
  }

  get isSealed(): boolean {
    return !this.unsealed;
  }

  get provider(): SealProvider {
    return this.deps.provider;
  }

  addLifecycleHook(stage: SealHookStage, hook: SealLifecycleHook): void {
    this.stagedHooks.push({ rank: SEAL_HOOK_STAGES.indexOf(stage), hook });
    // Stable: hooks of one stage keep the order they were added in.
    this.hooks = this.stagedHooks.sort((a, b) => a.rank - b.rank).map((h) => h.hook);
  }

  /** Runs `section` under the seal mutex (rekey uses it too). */
  exclusive<T>(section: () => Promise<T>): Promise<T> {
    return this.mutex.run(section);
  }

  async loadConfig(): Promise<StoredSealConfig | undefined> {
    if (!this.config || !this.unsealed) this.config = await this.deps.seals.load();
    return this.config;
  }

  /** The stored row, not the cache: another node may have rekeyed the recovery key (share checks use this). */
  async loadFreshConfig(): Promise<StoredSealConfig | undefined> {
    this.config = undefined;
    return this.loadConfig();
  }

  async isInitialized(): Promise<boolean> {
    return (await this.loadConfig()) !== undefined;
  }

  async status(): Promise<SealStatus> {
    const config = await this.loadConfig();
    const auto = this.deps.provider.autoUnseal;
    const migration = migrationPending(config, this.deps.provider);
    // Under an auto seal t and n are the recovery key layout (Vault's RecoveryConfig); during a
    // migration, the layout of the old seal's keys, which the migration takes.
    const layout =
      config && migration ? migrationKeyLayout(config) : auto ? config?.recovery : config && { threshold: config.secretThreshold, shares: config.secretShares };
    const { progress, nonce } = this.unsealed ? { progress: 0, nonce: '' } : await this.deps.coordinator.progress();
    const status: SealStatus = {
      type: this.deps.provider.type,
      initialized: config !== undefined,
      sealed: !this.unsealed,
      t: layout?.threshold ?? 0,
      n: layout?.shares ?? 0,
      progress,
      nonce,
      version: REPORTED_VERSION,
      build_date: BUILD_DATE,
      migration,
      recovery_seal: auto,
      ...(auto ? { recovery_seal_type: 'shamir' } : {}),
      storage_type: 'postgresql',
    };
    if (this.unsealed && config) {
      status.cluster_name = config.clusterName;
      status.cluster_id = config.clusterId;
    }
    return status;
  }

  initialize(options: InitOptions): Promise<InitResult> {
    return this.mutex.run(() => this.initializeNow(options));
  }

  private async initializeNow(options: InitOptions): Promise<InitResult> {
    if (await this.isInitialized()) throw badRequest('Vault is already initialized');
    const { provider } = this.deps;
    if (provider.autoUnseal) return this.initializeAutoSeal(options);
    if ((options.recoveryShares ?? 0) > 0 || (options.recoveryThreshold ?? 0) > 0)
      throw badRequest('parameters recovery_shares,recovery_threshold not applicable to seal type shamir');
    const problem = shareConfigError(options.secretShares, options.secretThreshold);
    if (problem) throw badRequest(problem);
    const unsealKey = randomKey();
    try {
      const keys = await splitSecret(unsealKey, options.secretShares, options.secretThreshold);
      const rootToken = await this.createRoot(options, (rootKey) => provider.wrapRootKey(rootKey, unsealKey), {
        sealType: 'shamir',
        secretShares: options.secretShares,
        secretThreshold: options.secretThreshold,
      });
      this.deps.log(`seal: initialised with ${options.secretShares} share(s), threshold ${options.secretThreshold}`);
      return { keys, recoveryKeys: [], rootToken };
    } finally {
      zero(unsealKey);
    }
  }

  /** Vault's auto seal init: the HSM wraps the root key, the operators get recovery keys, and the server unseals at once. */
  private async initializeAutoSeal(options: InitOptions): Promise<InitResult> {
    const { provider } = this.deps;
    if (options.secretShares > 0 || options.secretThreshold > 0) {
      const given = [options.secretShares > 0 ? 'secret_shares' : '', options.secretThreshold > 0 ? 'secret_threshold' : ''].filter(Boolean);
      throw badRequest(`parameters ${given.join(',')} not applicable to seal type ${provider.type}`);
    }
    const shares = options.recoveryShares ?? 0;
    const threshold = options.recoveryThreshold ?? 0;
    if (shares < 1) throw badRequest('recovery configuration must specify a positive number of shares');
    const problem = shareConfigError(shares, threshold);
    if (problem) throw badRequest(`invalid recovery configuration: ${problem}`);
    await this.openProvider();
    const recoveryKey = randomKey();
    try {
      const recoveryKeys = await splitSecret(recoveryKey, shares, threshold);
      const recovery = { shares, threshold, check: recoveryKeyCheck(recoveryKey) };
      const rootToken = await this.createRoot(options, (rootKey) => this.providerCall(() => provider.wrapRootKey(rootKey)), {
        sealType: provider.type,
        secretShares: 1,
        secretThreshold: 1,
        recovery,
      });
      this.deps.log(`seal: initialised with ${provider.type}; ${shares} recovery share(s), threshold ${threshold}`);
      await this.autoUnsealNow();
      return { keys: [], recoveryKeys, rootToken };
    } finally {
      zero(recoveryKey);
    }
  }

  /** One transaction: the seal row, the first keyring and the root token. */
  private async createRoot(
    options: InitOptions,
    wrap: (rootKey: Buffer) => Promise<WrappedRootKey>,
    layout: Pick<StoredSealConfig, 'sealType' | 'secretShares' | 'secretThreshold' | 'recovery'>,
  ): Promise<string> {
    const rootKey = randomKey();
    const initBarrier = new Barrier(this.deps.barrierRepository, { maxEncryptionsPerTerm: this.deps.maxEncryptionsPerTerm, log: this.deps.log });
    try {
      const rootKeyWrapped = await wrap(rootKey);
      const keyringCiphertext = Barrier.newKeyringCiphertext(rootKey, new Date());
      const rootToken = await this.deps.dataSource
        .transaction(async (manager) => {
          await this.deps.seals.insert(manager, {
            ...layout,
            rootKey: rootKeyWrapped,
            clusterName: this.deps.clusterName ?? `vault-cluster-${randomBase62(8).toLowerCase()}`,
            clusterId: randomUUID(),
          });
          await this.deps.barrierRepository.insertInitial(manager, keyringCiphertext, new Date());
          initBarrier.openNew(rootKey, keyringCiphertext);
          return TokenStore.initialise(manager, initBarrier, this.deps.tokens, this.deps.secrets, options.rootTokenId);
        })
        .catch((err: { code?: string }) => {
          if (err.code === '23505') throw badRequest('Vault is already initialized');
          throw err;
        });
      this.config = undefined;
      return rootToken;
    } finally {
      initBarrier.seal();
      zero(rootKey);
    }
  }

  /**
   * Submits one unseal key share (or resets progress). The share joins the node's progress; the
   * worker given the threshold combines and unseals, then every worker is unsealed with its root key.
   */
  async submitUnsealKey(keyText: string | undefined, reset: boolean, migrate = false): Promise<SealStatus> {
    const share = await this.mutex.run(async () => {
      const config = await this.loadConfig();
      if (!config) throw badRequest('Vault is not initialized');
      const pending = migrationPending(config, this.deps.provider);
      if (!reset) {
        if (pending && !migrate) throw badRequest('migrate option not provided and seal migration is pending');
        if (!pending && migrate) throw badRequest("can't perform a seal migration, no migration seal found");
      }
      if (reset) {
        if (this.unsealed) throw badRequest('vault is unsealed');
        await this.deps.coordinator.reset();
        return undefined;
      }
      if (keyText === undefined || keyText === '') throw badRequest("'key' must be specified in request body as JSON, or 'reset' set to true");
      if (this.unsealed) return undefined;
      const key = decodeUnsealKey(keyText);
      if (!key) throw badRequest("'key' must be a valid hex or base64 string");
      const threshold = this.unsealThreshold(config);
      const formatProblem = this.keyFormatError(key, threshold);
      if (formatProblem) {
        zero(key);
        throw badRequest(formatProblem);
      }
      return { key, threshold };
    });
    if (share) {
      const outcome = await this.deps.coordinator.submit(share.key, share.threshold);
      if (outcome.kind === 'threshold') await this.unsealAsCombiner(outcome.shares);
    }
    return this.mutex.run(() => this.status());
  }

  /** This worker has the round's shares: it combines and unseals, then the node unseals everywhere. */
  private async unsealAsCombiner(shares: Buffer[]): Promise<void> {
    let key: Buffer | undefined;
    try {
      key = await this.mutex.run(async () => {
        const config = await this.loadConfig();
        if (this.unsealed || !config) return undefined;
        await this.unsealWithShares(config, shares);
        return Buffer.from(this.deps.barrier.currentRootKey());
      });
    } catch (err) {
      await this.deps.coordinator.failed();
      throw err;
    } finally {
      zero(...shares);
    }
    if (!key) return this.deps.coordinator.failed();
    try {
      await this.deps.coordinator.unsealed(key);
    } finally {
      zero(key);
    }
  }

  keyFormatError(key: Buffer, threshold: number): string | null {
    const expected = expectedKeyBytes(threshold);
    if (threshold === 1) return key.length === expected ? null : `invalid key length: expected ${expected} bytes`;
    return shareFormatError(key, expected - 1);
  }

  /** How many shares unseal: the recovery threshold under an auto seal (after sys/seal), else the unseal threshold. */
  private unsealThreshold(config: StoredSealConfig): number {
    if (migrationPending(config, this.deps.provider)) return migrationKeyLayout(config).threshold;
    return this.deps.provider.autoUnseal && config.recovery ? config.recovery.threshold : config.secretThreshold;
  }

  /**
   * Combines shares (any failure is "invalid key"; the progress was already reset) and opens the
   * barrier. Under an auto seal the shares are recovery key shares: they prove the operators'
   * quorum, and the HSM unwraps the root key.
   */
  private async unsealWithShares(config: StoredSealConfig, shares: Buffer[]): Promise<void> {
    let combined: Buffer | undefined;
    let rootKey: Buffer | undefined;
    try {
      combined = await this.combine(shares, this.unsealThreshold(config));
      if (migrationPending(config, this.deps.provider)) {
        const combinedKey = combined;
        rootKey = await this.providerCall(() => migrateSeal({ ...this.deps, log: this.deps.log }, config, combinedKey));
        this.config = undefined;
      } else if (this.deps.provider.autoUnseal && config.recovery) {
        verifyRecoveryKey(combined, config.recovery.check);
        rootKey = await this.unwrapWithProvider(config);
      } else {
        rootKey = await this.deps.provider.unwrapRootKey(config.rootKey, combined);
      }
    } catch (err) {
      if (!(err instanceof IntegrityError) && !(err instanceof ShamirError)) throw err;
      throw badRequest('unseal failed, invalid key');
    } finally {
      zero(combined);
    }
    try {
      await this.openWithRootKey(rootKey);
    } finally {
      zero(rootKey);
    }
  }

  /**
   * The node's command: unseal with the root key of the worker that combined the shares (the
   * quorum was checked there; the barrier authenticates the key). An auto seal unwraps with the HSM
   * instead, so a root key replaced since (auto seal rekey) cannot leave a worker sealed.
   */
  private unsealWithNodeKey(rootKey: Buffer): Promise<void> {
    return this.mutex.run(async () => {
      if (this.unsealed) return;
      const config = await this.loadFreshConfig();
      if (!config) throw new Error('not initialised');
      if (migrationPending(config, this.deps.provider)) throw new Error('a seal migration is pending');
      if (!this.deps.provider.autoUnseal) return this.openWithRootKey(rootKey);
      await this.openProvider();
      const unwrapped = await this.unwrapWithProvider(config);
      try {
        await this.openWithRootKey(unwrapped);
      } finally {
        zero(unwrapped);
      }
    });
  }

  /** Before this worker listens: the node's unseal and seal commands run here (an unsealed node unseals it now). */
  joinNode(): Promise<void> {
    return this.deps.coordinator.attach({ unseal: (key) => this.unsealWithNodeKey(key), seal: () => this.seal() });
  }

  /** At shutdown: the node's commands no longer run here. */
  leaveNode(): void {
    this.deps.coordinator.detach();
  }

  /** The unseal key from shares: the key itself for 1-of-1, else Shamir combination. */
  async combine(shares: Buffer[], threshold: number): Promise<Buffer> {
    if (threshold === 1) return Buffer.from(shares[0]);
    return combineShares(shares);
  }

  /** Verifies that `unsealKey` opens the stored root key; returns the root key (caller zeroes it). */
  async verifyUnsealKey(unsealKey: Buffer): Promise<Buffer> {
    const config = await this.deps.seals.load();
    if (!config) throw badRequest('Vault is not initialized');
    return this.deps.provider.unwrapRootKey(config.rootKey, unsealKey);
  }

  /**
   * Auto seals: opens the barrier with the HSM alone (at start, and right after init). False when
   * there is nothing to do (Shamir, not initialised, already unsealed); throws SealUnavailableError
   * when the HSM cannot be used, naming what failed.
   */
  autoUnseal(): Promise<boolean> {
    return this.mutex.run(() => this.autoUnsealNow());
  }

  private async autoUnsealNow(): Promise<boolean> {
    const config = await this.loadConfig();
    if (!config || this.unsealed || !this.deps.provider.autoUnseal || migrationPending(config, this.deps.provider)) return false;
    await this.openProvider();
    const rootKey = await this.unwrapWithProvider(config);
    try {
      await this.openWithRootKey(rootKey);
    } finally {
      zero(rootKey);
    }
    return true;
  }

  /**
   * The root key from the HSM. When the configured key is not the one that wrapped it (a new
   * key_label: seal key rotation), the root key is rewrapped under the configured key in one
   * conditional update; until that commits, the old key (still in the HSM) keeps unwrapping.
   */
  private async unwrapWithProvider(config: StoredSealConfig): Promise<Buffer> {
    const { provider } = this.deps;
    const rootKey = await this.providerCall(() => provider.unwrapRootKey(config.rootKey));
    const current = provider.currentKey();
    const stored = config.rootKey.hsmKey;
    if (current && stored && (current.label !== stored.label || current.id !== stored.id || current.mechanism !== stored.mechanism)) {
      const rewrapped = await this.providerCall(() => provider.wrapRootKey(rootKey));
      await this.deps.seals.replaceRootKey(config.rootKey.ciphertext, rewrapped);
      this.config = undefined;
      this.deps.log(`seal: root key rewrapped from HSM key ${describeHsmKey(stored)} to ${describeHsmKey(current)}`);
    }
    return rootKey;
  }

  /** Why the stored seal is not the configured one and what to do, or undefined. */
  async pendingMigration(): Promise<string | undefined> {
    const config = await this.loadConfig();
    if (!config || !migrationPending(config, this.deps.provider)) return undefined;
    return (
      migrationProblem(config, this.deps) ??
      `seal migration from ${config.sealType} to ${this.deps.provider.type} is pending: unseal with "migrate": true and the ${config.sealType === 'shamir' ? 'unseal' : 'recovery'} keys`
    );
  }

  get oldProvider(): SealProvider | undefined {
    return this.deps.oldProvider;
  }

  private async openProvider(): Promise<void> {
    await this.providerCall(() => this.deps.provider.open());
  }

  /** Runs a provider operation; a failure of the HSM itself becomes a 500 with its one-line reason (never the PIN). */
  private async providerCall<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof SealUnavailableError) throw new ApiError(500, [err.message]);
      throw err;
    }
  }

  private async openWithRootKey(rootKey: Buffer): Promise<void> {
    try {
      await this.deps.barrier.unseal(rootKey);
    } catch (err) {
      if (err instanceof IntegrityError) throw badRequest('unseal failed, invalid key');
      throw err;
    }
    try {
      await this.deps.tokenStore.open();
      await Promise.all(this.stopping.splice(0));
      for (const hook of this.hooks) await hook.afterUnseal();
    } catch (err) {
      this.sealNow();
      throw err;
    }
    this.config = await this.deps.seals.load();
    this.unsealed = true;
    this.deps.log('seal: unsealed');
  }

  /** Seals this process only (shutdown, the node's command). */
  seal(): Promise<void> {
    return this.mutex.run(async () => this.sealNow());
  }

  /** `sys/seal`: seals this process, then every worker of the node (and the node forgets its key). */
  async sealNode(): Promise<void> {
    await this.seal();
    await this.deps.coordinator.sealed();
  }

  private sealNow(): void {
    for (const hook of [...this.hooks].reverse()) {
      try {
        const stopped = hook.beforeSeal();
        if (stopped instanceof Promise) this.stopping.push(stopped.catch((err: Error) => this.deps.log(`seal: hook failed while stopping: ${err.message}`)));
      } catch (err) {
        this.deps.log(`seal: hook failed while sealing: ${(err as Error).message}`);
      }
    }
    this.deps.tokenStore.close();
    this.deps.barrier.seal();
    if (this.unsealed) this.deps.log('seal: sealed');
    this.unsealed = false;
  }

  /** Used by rekey after the new layout is committed. */
  forgetCachedConfig(): void {
    this.config = undefined;
  }

  requireUnsealed(): void {
    if (!this.unsealed) throw new ApiError(503, ['Vault is sealed']);
  }
}
