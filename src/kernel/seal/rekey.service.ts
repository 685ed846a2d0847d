/**
 * Rekey: replace the unseal key (and its shares) without touching the root key or keyring.
 * Started and cancelled with a sudo token (checked by the caller); advanced with the current
 * shares. With `require_verification` the new shares only take effect once threshold-many of them
 * are submitted back to `sys/rekey/verify`; until then the old shares keep working.
 * All progress is in memory: a restart cancels a rekey and the old shares stay valid.
 */
import { randomUUID } from 'node:crypto';
import { IntegrityError } from '../../crypto/aead';
import { constantTimeEqual, zero } from '../../crypto/hmac';
import { randomKey } from '../../crypto/random';
import { shareConfigError, ShamirError, splitSecret } from '../../crypto/shamir';
import type { Barrier } from '../barrier/barrier';
import { badRequest } from '../errors';
import type { SealRepository } from './seal.repository';
import type { SealService } from './seal.service';
import { decodeUnsealKey } from './unseal-key';

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

interface PendingVerification {
  nonce: string;
  unsealKey: Buffer;
  progress: Buffer[];
}

interface RekeyOperation {
  nonce: string;
  started: Date;
  shares: number;
  threshold: number;
  requireVerification: boolean;
  progress: Buffer[];
  pending?: PendingVerification;
}

export interface RekeyInitOptions {
  secretShares: number;
  secretThreshold: number;
  requireVerification: boolean;
}

export class RekeyService {
  private operation: RekeyOperation | null = null;

  constructor(
    private readonly seal: SealService,
    private readonly seals: SealRepository,
    private readonly barrier: Barrier,
    private readonly log: (message: string) => void,
  ) {
    seal.addLifecycleHook('state', { afterUnseal: async () => undefined, beforeSeal: () => this.clear() });
  }

  async status(): Promise<RekeyStatus> {
    const config = await this.seal.loadConfig();
    const op = this.operation;
    const status: RekeyStatus = {
      nonce: op?.nonce ?? '',
      started: op !== null,
      t: op?.threshold ?? 0,
      n: op?.shares ?? 0,
      progress: op?.progress.length ?? 0,
      required: config?.secretThreshold ?? 0,
      pgp_fingerprints: null,
      backup: false,
      verification_required: op?.requireVerification ?? false,
    };
    if (op?.pending) status.verification_nonce = op.pending.nonce;
    return status;
  }

  start(options: RekeyInitOptions): Promise<RekeyStatus> {
    return this.seal.exclusive(async () => {
      this.seal.requireUnsealed();
      if (this.seal.provider.autoUnseal) throw badRequest(`rekey of the barrier key is not supported with the ${this.seal.provider.type} seal yet`);
      if (this.operation) throw badRequest('rekey already in progress');
      const problem = shareConfigError(options.secretShares, options.secretThreshold);
      if (problem) throw badRequest(problem);
      this.operation = {
        nonce: randomUUID(),
        started: new Date(),
        shares: options.secretShares,
        threshold: options.secretThreshold,
        requireVerification: options.requireVerification,
        progress: [],
      };
      this.log(`rekey: started (${options.secretShares} shares, threshold ${options.secretThreshold})`);
      return this.status();
    });
  }

  cancel(nonce?: string): Promise<void> {
    return this.seal.exclusive(async () => {
      if (this.operation && nonce && nonce !== this.operation.nonce) throw badRequest('incorrect nonce');
      if (this.operation) this.log('rekey: cancelled');
      this.clear();
    });
  }

  /** Submits one current share. Returns the status, or the new shares once the threshold is met. */
  update(keyText: string | undefined, nonce: string | undefined): Promise<RekeyStatus | RekeyUpdateResult> {
    return this.seal.exclusive(async () => {
      this.seal.requireUnsealed();
      const op = this.operation;
      if (!op) throw badRequest('no rekey in progress');
      if (!nonce) throw badRequest('missing nonce');
      if (nonce !== op.nonce) throw badRequest(`incorrect nonce supplied; nonce for this rekey operation is ${op.nonce}`);
      if (op.pending)
        throw badRequest(`rekey operation already finished; verification must be performed; nonce for the verification operation is ${op.pending.nonce}`);
      const config = await this.seal.loadConfig();
      if (!config) throw badRequest('Vault is not initialized');
      const key = this.decode(keyText, config.secretThreshold);
      if (op.progress.some((p) => constantTimeEqual(p, key))) {
        zero(key);
        throw badRequest('given key has already been provided during this generation operation');
      }
      op.progress.push(key);
      if (op.progress.length < config.secretThreshold) return this.status();

      await this.authenticateProgress(op, config.secretThreshold);
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
        return result;
      }
      try {
        await this.commit(unsealKey, op.shares, op.threshold);
      } finally {
        zero(unsealKey);
        this.clear();
      }
      return result;
    });
  }

  verifyStatus(): RekeyVerifyStatus {
    const op = this.operation;
    if (!op?.pending) throw badRequest('no rekey verification in progress');
    return { nonce: op.pending.nonce, started: true, t: op.threshold, n: op.shares, progress: op.pending.progress.length };
  }

  /** Restarts verification with a new nonce (DELETE sys/rekey/verify). */
  resetVerification(): Promise<RekeyVerifyStatus> {
    return this.seal.exclusive(async () => {
      const op = this.operation;
      if (!op?.pending) throw badRequest('no rekey verification in progress');
      zero(...op.pending.progress);
      op.pending.progress = [];
      op.pending.nonce = randomUUID();
      return this.verifyStatus();
    });
  }

  /** Submits one NEW share; at the new threshold the new unseal key replaces the old one. */
  verify(keyText: string | undefined, nonce: string | undefined): Promise<RekeyVerifyStatus | { nonce: string; complete: true }> {
    return this.seal.exclusive(async () => {
      this.seal.requireUnsealed();
      const op = this.operation;
      const pending = op?.pending;
      if (!op || !pending) throw badRequest('no rekey verification in progress');
      if (nonce !== pending.nonce) throw badRequest(`incorrect nonce supplied; nonce for this verify operation is ${pending.nonce}`);
      const key = this.decode(keyText, op.threshold);
      if (pending.progress.some((p) => constantTimeEqual(p, key))) {
        zero(key);
        throw badRequest('given key has already been provided during this verify operation');
      }
      pending.progress.push(key);
      if (pending.progress.length < op.threshold) return this.verifyStatus();

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
      if (!matches) throw badRequest('rekey verification failed; incorrect key shares supplied');
      const done = { nonce: pending.nonce, complete: true as const };
      try {
        await this.commit(pending.unsealKey, op.shares, op.threshold);
      } finally {
        this.clear();
      }
      return done;
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

  /** The submitted current shares must open the stored root key; otherwise progress resets. */
  private async authenticateProgress(op: RekeyOperation, threshold: number): Promise<void> {
    let unsealKey: Buffer | undefined;
    let rootKey: Buffer | undefined;
    try {
      unsealKey = await this.seal.combine(op.progress, threshold);
      rootKey = await this.seal.verifyUnsealKey(unsealKey);
    } catch (err) {
      if (!(err instanceof IntegrityError) && !(err instanceof ShamirError)) throw err;
      throw badRequest('rekey failed: invalid key');
    } finally {
      zero(unsealKey, rootKey, ...op.progress);
      op.progress = [];
    }
  }

  /** One transaction: the root key wrapped under the new unseal key, with the new share layout. */
  private async commit(unsealKey: Buffer, shares: number, threshold: number): Promise<void> {
    const config = await this.seals.load();
    if (!config) throw badRequest('Vault is not initialized');
    const wrapped = await this.seal.provider.wrapRootKey(this.barrier.currentRootKey(), unsealKey);
    await this.seals.replaceRootKey(config.rootKey.ciphertext, wrapped, { shares, threshold });
    this.seal.forgetCachedConfig();
    this.log(`rekey: committed (${shares} shares, threshold ${threshold})`);
  }

  private clear(): void {
    const op = this.operation;
    if (!op) return;
    zero(...op.progress);
    if (op.pending) zero(op.pending.unsealKey, ...op.pending.progress);
    this.operation = null;
  }
}
