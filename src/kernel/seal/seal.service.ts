/**
 * Init, unseal, seal and key status of one node. See README.md for the invariants.
 * All state changes run under one mutex, so concurrent unseal requests cannot interleave.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { IntegrityError } from '../../crypto/aead';
import { constantTimeEqual, zero } from '../../crypto/hmac';
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
import type { SealProvider } from './seal-provider';
import type { SealRepository, StoredSealConfig } from './seal.repository';
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
  storage_type: string;
}

export interface InitOptions {
  secretShares: number;
  secretThreshold: number;
  /** Dev mode and tests: a caller-chosen root token id. */
  rootTokenId?: string;
}

export interface InitResult {
  keys: Buffer[];
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
  clusterName?: string;
  maxEncryptionsPerTerm: number;
  log: (message: string) => void;
}

export class SealService {
  private config: StoredSealConfig | undefined;
  private unsealed = false;
  private progress: Buffer[] = [];
  private progressNonce = '';
  private readonly mutex = new AsyncMutex();
  private readonly stagedHooks: { rank: number; hook: SealLifecycleHook }[] = [];
  /** stagedHooks in stage order. */
  private hooks: SealLifecycleHook[] = [];
  /** Stops begun at the last seal, awaited by the next unseal (they never reject). */
  private stopping: Promise<void>[] = [];

  constructor(private readonly deps: SealServiceDeps) {}

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

  async isInitialized(): Promise<boolean> {
    return (await this.loadConfig()) !== undefined;
  }

  async status(): Promise<SealStatus> {
    const config = await this.loadConfig();
    const status: SealStatus = {
      type: config?.sealType ?? this.deps.provider.type,
      initialized: config !== undefined,
      sealed: !this.unsealed,
      t: config?.secretThreshold ?? 0,
      n: config?.secretShares ?? 0,
      progress: this.progress.length,
      nonce: this.progressNonce,
      version: REPORTED_VERSION,
      build_date: BUILD_DATE,
      migration: false,
      recovery_seal: false,
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
    const problem = shareConfigError(options.secretShares, options.secretThreshold);
    if (problem) throw badRequest(problem);

    const { dataSource, provider } = this.deps;
    const unsealKey = randomKey();
    const rootKey = randomKey();
    const initBarrier = new Barrier(this.deps.barrierRepository, { maxEncryptionsPerTerm: this.deps.maxEncryptionsPerTerm, log: this.deps.log });
    try {
      const keys = await splitSecret(unsealKey, options.secretShares, options.secretThreshold);
      const rootKeyWrapped = await provider.wrapRootKey(rootKey, unsealKey);
      const keyringCiphertext = Barrier.newKeyringCiphertext(rootKey, new Date());
      const rootToken = await dataSource
        .transaction(async (manager) => {
          await this.deps.seals.insert(manager, {
            sealType: provider.type,
            secretShares: options.secretShares,
            secretThreshold: options.secretThreshold,
            rootKeyWrapped,
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
      this.deps.log(`seal: initialised with ${options.secretShares} share(s), threshold ${options.secretThreshold}`);
      return { keys, rootToken };
    } finally {
      initBarrier.seal();
      zero(unsealKey, rootKey);
    }
  }

  /** Submits one unseal key share (or resets progress). */
  submitUnsealKey(keyText: string | undefined, reset: boolean): Promise<SealStatus> {
    return this.mutex.run(async () => {
      const config = await this.loadConfig();
      if (!config) throw badRequest('Vault is not initialized');
      if (reset) {
        if (this.unsealed) throw badRequest('vault is unsealed');
        this.resetProgress();
        return this.status();
      }
      if (keyText === undefined || keyText === '') throw badRequest("'key' must be specified in request body as JSON, or 'reset' set to true");
      if (this.unsealed) return this.status();
      const key = decodeUnsealKey(keyText);
      if (!key) throw badRequest("'key' must be a valid hex or base64 string");
      const formatProblem = this.keyFormatError(key, config.secretThreshold);
      if (formatProblem) {
        zero(key);
        throw badRequest(formatProblem);
      }
      if (this.progress.some((p) => constantTimeEqual(p, key))) {
        zero(key);
        return this.status();
      }
      if (this.progress.length === 0) this.progressNonce = randomUUID();
      this.progress.push(key);
      if (this.progress.length < config.secretThreshold) return this.status();
      await this.unsealWithShares(config, this.progress);
      return this.status();
    });
  }

  keyFormatError(key: Buffer, threshold: number): string | null {
    const expected = expectedKeyBytes(threshold);
    if (threshold === 1) return key.length === expected ? null : `invalid key length: expected ${expected} bytes`;
    return shareFormatError(key, expected - 1);
  }

  /** Combines shares (any failure resets progress with "invalid key") and opens the barrier. */
  private async unsealWithShares(config: StoredSealConfig, shares: Buffer[]): Promise<void> {
    let unsealKey: Buffer | undefined;
    let rootKey: Buffer | undefined;
    try {
      unsealKey = await this.combine(shares, config.secretThreshold);
      rootKey = await this.deps.provider.unwrapRootKey(config.rootKeyWrapped, unsealKey);
    } catch (err) {
      if (!(err instanceof IntegrityError) && !(err instanceof ShamirError)) throw err;
      throw badRequest('unseal failed, invalid key');
    } finally {
      zero(unsealKey);
      this.resetProgress();
    }
    try {
      await this.openWithRootKey(rootKey);
    } finally {
      zero(rootKey);
    }
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
    return this.deps.provider.unwrapRootKey(config.rootKeyWrapped, unsealKey);
  }

  /** Auto-unseal providers (HSM) open the barrier without shares. */
  async autoUnseal(): Promise<boolean> {
    return this.mutex.run(async () => {
      const config = await this.loadConfig();
      if (!config || this.unsealed || !this.deps.provider.autoUnseal) return false;
      const rootKey = await this.deps.provider.unwrapRootKey(config.rootKeyWrapped);
      try {
        await this.openWithRootKey(rootKey);
      } finally {
        zero(rootKey);
      }
      return true;
    });
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

  seal(): Promise<void> {
    return this.mutex.run(async () => this.sealNow());
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
    this.resetProgress();
    if (this.unsealed) this.deps.log('seal: sealed');
    this.unsealed = false;
  }

  private resetProgress(): void {
    zero(...this.progress);
    this.progress = [];
    this.progressNonce = '';
  }

  /** Used by rekey after the new layout is committed. */
  forgetCachedConfig(): void {
    this.config = undefined;
  }

  requireUnsealed(): void {
    if (!this.unsealed) throw new ApiError(503, ['Vault is sealed']);
  }
}
