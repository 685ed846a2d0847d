/**
 * Rekey, one instance per target (Vault's barrier and recovery rekey configs).
 * - `barrier`, Shamir seal (sys/rekey): replace the unseal key (and its shares) without touching
 *   the root key or keyring.
 * - `barrier`, auto seal (sys/rekey, Vault's BarrierRekeyInit with recovery keys): authorised by
 *   the recovery shares, shares/threshold forced to 1, no keys returned; the commit replaces the
 *   ROOT key (root-key-rotation.ts).
 * - `recovery` (sys/rekey-recovery-key, auto seal only): authorised by the current recovery shares;
 *   a new 32-byte recovery key, split into the new layout, replaces the old one.
 * Started and cancelled with a sudo token (checked by the caller); advanced with the current
 * shares. With `require_verification` the new shares only take effect once threshold-many of them
 * are submitted back to `.../verify`; until then the old shares keep working.
 * Progress is in the database (rekey-operation.repository.ts), shared by every process of every
 * node: shares sent to any of them count toward one operation, and a restart keeps it. Each change
 * runs under the operation's row lock; a refused submission that resets progress (wrong shares)
 * or a failed commit that ends the operation stores that before its error is answered.
 */
import { randomUUID } from 'node:crypto';
import { IntegrityError } from '../../crypto/aead';
import { constantTimeEqual, zero } from '../../crypto/hmac';
import { randomKey } from '../../crypto/random';
import { shareConfigError, ShamirError, splitSecret } from '../../crypto/shamir';
import type { Barrier } from '../barrier/barrier';
import type { BarrierRepository } from '../barrier/barrier.repository';
import { ApiError, badRequest } from '../errors';
import { recoveryKeyCheck, verifyRecoveryKey } from './recovery-key';
import { RekeyInProgressError, type RekeyOperation, RekeyOperationRepository, type RekeySummary } from './rekey-operation.repository';
import { rotateRootKey } from './root-key-rotation';
import { SealUnavailableError } from './seal-provider';
import type { SealRepository, StoredSealConfig } from './seal.repository';
import type { SealService } from './seal.service';
import { decodeUnsealKey } from './unseal-key';

export type RekeyTarget = 'barrier' | 'recovery';

export interface RekeyStatus {
  nonce: string;
  started: boolean;
  t: number;
  n: number;
  progress: number;
  required: number;
  pgp_fingerprints: null;
  backup: boolean;
  verification_required: boolean;
  verification_nonce?: string;
}

export interface RekeyUpdateResult {
  nonce: string;
  complete: true;
  keys: string[];
  keys_base64: string[];
  pgp_fingerprints: null;
  backup: boolean;
  verification_required: boolean;
  verification_nonce?: string;
}

export interface RekeyVerifyStatus {
  nonce: string;
  started: boolean;
  t: number;
  n: number;
  progress: number;
}

export interface RekeyInitOptions {
  secretShares: number;
  secretThreshold: number;
  requireVerification: boolean;
}

/** What a locked section leaves: the operation to store (null: none) and its answer or error. */
interface SectionOutcome<T> {
  next: RekeyOperation | null;
  value?: T;
  error?: unknown;
}

export class RekeyService {
  private readonly operations: RekeyOperationRepository;

  constructor(
    private readonly seal: SealService,
    private readonly seals: SealRepository,
    private readonly barrier: Barrier,
    private readonly barrierRepository: BarrierRepository,
    private readonly log: (message: string) => void,
    readonly target: RekeyTarget = 'barrier',
  ) {
    this.operations = new RekeyOperationRepository(seals.dataSource, barrier);
  }

  /** Whether the current recovery shares authorise this rekey (auto seal), rather than the unseal shares. */
  private get byRecoveryKeys(): boolean {
    return this.target === 'recovery' || this.seal.provider.autoUnseal;
  }

  /** The shares needed to authorise: the recovery threshold under an auto seal. */
  private required(config: StoredSealConfig | undefined): number {
    if (!config) return 0;
    return this.byRecoveryKeys ? (config.recovery?.threshold ?? 0) : config.secretThreshold;
  }

  private requireSupported(): void {
    if (this.target === 'recovery' && !this.seal.provider.autoUnseal) throw badRequest('recovery rekeying not supported');
  }

  /**
   * Runs `section` under this process's seal mutex and the operation's row lock; stores the
   * operation it leaves, then answers its value or throws its error.
   */
  private async change<T>(section: (op: RekeyOperation | null) => Promise<SectionOutcome<T>>): Promise<T> {
    const outcome = await this.seal.exclusive(() =>
      this.operations.locked(this.target, async (op) => {
        const result = await section(op);
        return { result, next: result.next };
      }),
    );
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.value as T;
  }

  async status(): Promise<RekeyStatus> {
    this.requireSupported();
    const config = await this.seal.loadConfig();
    return this.statusOf(await this.operations.summary(this.target), config);
  }

  private statusOf(op: RekeySummary | undefined, config: StoredSealConfig | undefined): RekeyStatus {
    const status: RekeyStatus = {
      nonce: op?.nonce ?? '',
      started: op !== undefined,
      t: op?.threshold ?? 0,
      n: op?.shares ?? 0,
      progress: op?.progress ?? 0,
      required: this.required(config),
      pgp_fingerprints: null,
      backup: false,
      verification_required: op?.requireVerification ?? false,
    };
    if (op?.verificationNonce) status.verification_nonce = op.verificationNonce;
    return status;
  }

  private async statusAfter(op: RekeyOperation): Promise<RekeyStatus> {
    return this.statusOf(summaryOf(op), await this.seal.loadConfig());
  }

  async start(options: RekeyInitOptions): Promise<RekeyStatus> {
    this.requireSupported();
    let { secretShares: shares, secretThreshold: threshold } = options;
    if (this.target === 'barrier' && this.seal.provider.autoUnseal) {
      // Vault: the HSM stores the root key, so the barrier "shares" are forced to 1.
      shares = 1;
      threshold = 1;
      if (options.requireVerification) throw badRequest('requiring verification not supported when rekeying the barrier key with recovery keys');
    }
    const problem = shareConfigError(shares, threshold);
    if (problem && this.target === 'recovery') throw new ApiError(500, [`invalid recovery configuration: ${problem}`]);
    if (problem) throw badRequest(problem);
    this.seal.requireUnsealed();
    try {
      return await this.change(async (op) => {
        if (op) throw badRequest('rekey already in progress');
        const next: RekeyOperation = {
          nonce: randomUUID(),
          started: new Date(),
          shares,
          threshold,
          requireVerification: options.requireVerification,
          progress: [],
        };
        this.log(`${this.name}: started (${shares} shares, threshold ${threshold})`);
        return { next, value: await this.statusAfter(next) };
      });
    } catch (err) {
      if (err instanceof RekeyInProgressError) throw badRequest('rekey already in progress');
      throw err;
    }
  }

  private get name(): string {
    return this.target === 'recovery' ? 'recovery rekey' : 'rekey';
  }

  cancel(nonce?: string): Promise<void> {
    return this.seal.exclusive(async () => {
      this.requireSupported();
      const op = await this.operations.summary(this.target);
      if (op && nonce && nonce !== op.nonce) throw badRequest('incorrect nonce');
      if (op && (await this.operations.remove(this.target, op.nonce))) this.log(`${this.name}: cancelled`);
    });
  }

  /** Submits one current share. Returns the status, or the new shares once the threshold is met. */
  update(keyText: string | undefined, nonce: string | undefined): Promise<RekeyStatus | RekeyUpdateResult> {
    this.requireSupported();
    this.seal.requireUnsealed();
    return this.change(async (op): Promise<SectionOutcome<RekeyStatus | RekeyUpdateResult>> => {
      if (!op) throw badRequest(this.target === 'recovery' ? 'no recovery rekey in progress' : 'no rekey in progress');
      if (!nonce) throw badRequest('missing nonce');
      if (nonce !== op.nonce) throw badRequest(`incorrect nonce supplied; nonce for this rekey operation is ${op.nonce}`);
      if (op.pending)
        throw badRequest(`rekey operation already finished; verification must be performed; nonce for the verification operation is ${op.pending.nonce}`);
      const config = await this.seal.loadFreshConfig();
      if (!config) throw badRequest('Vault is not initialized');
      const required = this.required(config);
      const key = this.decode(keyText, required);
      if (op.progress.some((p) => constantTimeEqual(p, key))) {
        zero(key);
        throw badRequest(`given key has already been provided during this ${this.target === 'recovery' ? 'rekey' : 'generation'} operation`);
      }
      op.progress.push(key);
      if (op.progress.length < required) return { next: op, value: await this.statusAfter(op) };

      try {
        await this.authenticateProgress(op, config, required);
      } catch (error) {
        // Progress starts over (stored), as in Vault.
        return { next: op, error };
      }
      if (this.target === 'barrier' && this.seal.provider.autoUnseal) return this.rotateRoot(op);
      const unsealKey = randomKey();
      const shares = await splitSecret(unsealKey, op.shares, op.threshold);
      const result: RekeyUpdateResult = {
        nonce: op.nonce,
        complete: true,
        keys: shares.map((s) => s.toString('hex')),
        keys_base64: shares.map((s) => s.toString('base64')),
        pgp_fingerprints: null,
        backup: false,
        verification_required: op.requireVerification,
      };
      zero(...shares);
      if (op.requireVerification) {
        op.pending = { nonce: randomUUID(), unsealKey, progress: [] };
        result.verification_nonce = op.pending.nonce;
        return { next: op, value: result };
      }
      try {
        await this.commit(op, unsealKey);
        return { next: null, value: result };
      } catch (error) {
        return { next: null, error };
      } finally {
        zero(unsealKey);
      }
    });
  }

  /** Auto seal sys/rekey: the root key is replaced; no key shares to return. The operation ends either way. */
  private async rotateRoot(op: RekeyOperation): Promise<SectionOutcome<RekeyUpdateResult>> {
    try {
      await rotateRootKey({ seals: this.seals, barrierRepository: this.barrierRepository, barrier: this.barrier, provider: this.seal.provider });
    } catch (err) {
      return { next: null, error: err instanceof SealUnavailableError ? new ApiError(500, [err.message]) : err };
    }
    this.seal.forgetCachedConfig();
    this.log('rekey: committed; the root key was replaced (auto seal)');
    return {
      next: null,
      value: { nonce: op.nonce, complete: true, keys: [], keys_base64: [], pgp_fingerprints: null, backup: false, verification_required: false },
    };
  }

  async verifyStatus(): Promise<RekeyVerifyStatus> {
    this.requireSupported();
    const op = await this.operations.summary(this.target);
    if (!op?.verificationNonce) throw badRequest('no rekey verification in progress');
    return { nonce: op.verificationNonce, started: true, t: op.threshold, n: op.shares, progress: op.verificationProgress };
  }

  /** Restarts verification with a new nonce (DELETE sys/rekey/verify). */
  resetVerification(): Promise<RekeyVerifyStatus> {
    this.requireSupported();
    this.seal.requireUnsealed();
    return this.change(async (op) => {
      if (!op?.pending) throw badRequest('no rekey verification in progress');
      zero(...op.pending.progress);
      op.pending.progress = [];
      op.pending.nonce = randomUUID();
      return { next: op, value: verifyStatusOf(op) };
    });
  }

  /** Submits one NEW share; at the new threshold the new unseal key replaces the old one. */
  verify(keyText: string | undefined, nonce: string | undefined): Promise<RekeyVerifyStatus | { nonce: string; complete: true }> {
    this.requireSupported();
    this.seal.requireUnsealed();
    return this.change(async (op): Promise<SectionOutcome<RekeyVerifyStatus | { nonce: string; complete: true }>> => {
      const pending = op?.pending;
      if (!op || !pending) throw badRequest('no rekey verification in progress');
      if (nonce !== pending.nonce) throw badRequest(`incorrect nonce supplied; nonce for this verify operation is ${pending.nonce}`);
      const key = this.decode(keyText, op.threshold);
      if (pending.progress.some((p) => constantTimeEqual(p, key))) {
        zero(key);
        throw badRequest('given key has already been provided during this verify operation');
      }
      pending.progress.push(key);
      if (pending.progress.length < op.threshold) return { next: op, value: verifyStatusOf(op) };

      let combined: Buffer | undefined;
      try {
        combined = await this.seal.combine(pending.progress, op.threshold);
      } catch (err) {
        if (!(err instanceof ShamirError)) throw err;
      } finally {
        zero(...pending.progress);
        pending.progress = [];
      }
      const matches = combined !== undefined && constantTimeEqual(combined, pending.unsealKey);
      zero(combined);
      if (!matches) return { next: op, error: badRequest('rekey verification failed; incorrect key shares supplied') };
      try {
        await this.commit(op, pending.unsealKey);
        return { next: null, value: { nonce: pending.nonce, complete: true as const } };
      } catch (error) {
        return { next: null, error };
      }
    });
  }

  private decode(keyText: string | undefined, threshold: number): Buffer {
    if (!keyText) throw badRequest("'key' must be specified in request body as JSON");
    const key = decodeUnsealKey(keyText);
    if (!key) throw badRequest("'key' must be a valid hex or base64 string");
    const problem = this.seal.keyFormatError(key, threshold);
    if (problem) {
      zero(key);
      throw badRequest(problem);
    }
    return key;
  }

  /**
   * The submitted current shares must open the stored root key (Shamir) or pass the recovery key
   * check (auto seal); otherwise progress resets.
   */
  private async authenticateProgress(op: RekeyOperation, config: StoredSealConfig, threshold: number): Promise<void> {
    let unsealKey: Buffer | undefined;
    let rootKey: Buffer | undefined;
    try {
      unsealKey = await this.seal.combine(op.progress, threshold);
      if (this.byRecoveryKeys) {
        if (!config.recovery) throw new Error('the stored seal has no recovery keys');
        verifyRecoveryKey(unsealKey, config.recovery.check);
        op.authorisedCheck = config.recovery.check;
      } else {
        rootKey = await this.seal.verifyUnsealKey(unsealKey);
      }
    } catch (err) {
      if (!(err instanceof IntegrityError) && !(err instanceof ShamirError)) throw err;
      if (this.byRecoveryKeys) throw badRequest('recovery key verification failed: recovery key does not match submitted values');
      throw badRequest('rekey failed: invalid key');
    } finally {
      zero(unsealKey, rootKey, ...op.progress);
      op.progress = [];
    }
  }

  /**
   * Recovery: the new layout and check value in one conditional UPDATE over the check value the
   * shares were proven against. Barrier (Shamir): one transaction, the root key wrapped under the
   * new unseal key, with the new share layout.
   */
  private async commit(op: RekeyOperation, newKey: Buffer): Promise<void> {
    const { shares, threshold } = op;
    if (this.target === 'recovery') {
      if (!op.authorisedCheck) throw new Error('recovery rekey committed without authorisation');
      await this.seals.replaceRecoveryKey(op.authorisedCheck, { shares, threshold, check: recoveryKeyCheck(newKey) });
      this.seal.forgetCachedConfig();
      this.log(`recovery rekey: committed (${shares} shares, threshold ${threshold})`);
      return;
    }
    const unsealKey = newKey;
    const config = await this.seals.load();
    if (!config) throw badRequest('Vault is not initialized');
    const wrapped = await this.seal.provider.wrapRootKey(this.barrier.currentRootKey(), unsealKey);
    await this.seals.replaceRootKey(config.rootKey.ciphertext, wrapped, { shares, threshold });
    this.seal.forgetCachedConfig();
    this.log(`rekey: committed (${shares} shares, threshold ${threshold})`);
  }
}

function summaryOf(op: RekeyOperation): RekeySummary {
  return {
    nonce: op.nonce,
    shares: op.shares,
    threshold: op.threshold,
    requireVerification: op.requireVerification,
    progress: op.progress.length,
    ...(op.pending ? { verificationNonce: op.pending.nonce } : {}),
    verificationProgress: op.pending?.progress.length ?? 0,
  };
}

function verifyStatusOf(op: RekeyOperation): RekeyVerifyStatus {
  return { nonce: op.pending?.nonce ?? '', started: true, t: op.threshold, n: op.shares, progress: op.pending?.progress.length ?? 0 };
}

/** sys/rekey-recovery-key: the same flow over the recovery keys (its own Nest provider). */
export class RecoveryRekeyService extends RekeyService {
  constructor(seal: SealService, seals: SealRepository, barrier: Barrier, barrierRepository: BarrierRepository, log: (message: string) => void) {
    super(seal, seals, barrier, barrierRepository, log, 'recovery');
  }
}
