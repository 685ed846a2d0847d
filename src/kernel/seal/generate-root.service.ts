/**
 * Generate root (Vault's sys/generate-root): a quorum of key holders makes a new root token without
 * an existing one. Shamir seal: the shares combine to the unseal key, which must open the stored
 * root key (and that must be the barrier's). Auto seal: they combine to the recovery key, which
 * must pass its check value.
 *
 * Invariants:
 * - one attempt at a time, per process, in memory: a restart or a seal cancels it (no token made);
 * - the new token leaves only XOR-encoded with the OTP chosen at start; the OTP is shown once, in
 *   the response that generated it, and never logged; log lines carry the nonce only;
 * - submitted shares are zeroed when the attempt ends, completes or fails; after the last share
 *   progress is 0 again whatever the outcome, and the attempt with its nonce stays on failure;
 * - a share already submitted is refused (constant-time compare) without counting twice;
 * - state changes run under the seal mutex, so they never interleave with unseal, seal or rekey.
 */
import { randomUUID } from 'node:crypto';
import { IntegrityError } from '../../crypto/aead';
import { constantTimeEqual, zero } from '../../crypto/hmac';
import { encodeRootToken, generateRootTokenOtp, ROOT_TOKEN_OTP_LENGTH } from '../../crypto/root-token-otp';
import { ShamirError } from '../../crypto/shamir';
import type { Barrier } from '../barrier/barrier';
import { badRequest } from '../errors';
import type { TokenStore } from '../token/token-store.service';
import type { StoredSealConfig } from './seal.repository';
import type { SealService } from './seal.service';
import { verifyRecoveryKey } from './recovery-key';
import { decodeUnsealKey } from './unseal-key';

/** Vault's GenerateRootStatusResponse: every field always present. */
export interface GenerateRootStatus {
  nonce: string;
  started: boolean;
  progress: number;
  required: number;
  complete: boolean;
  encoded_token: string;
  encoded_root_token: string;
  pgp_fingerprint: string;
  otp: string;
  otp_length: number;
}

interface GenerateRootAttempt {
  nonce: string;
  otp: string;
  progress: Buffer[];
}

export class GenerateRootService {
  private attempt: GenerateRootAttempt | null = null;

  constructor(
    private readonly seal: SealService,
    private readonly barrier: Barrier,
    private readonly tokens: TokenStore,
    private readonly log: (message: string) => void,
  ) {
    seal.addLifecycleHook('state', { afterUnseal: async () => undefined, beforeSeal: () => this.clear() });
  }

  /** GET sys/generate-root/attempt; `otp` only in the answer to the start that generated it. */
  async status(otp = ''): Promise<GenerateRootStatus> {
    const config = await this.requireConfig();
    const attempt = this.attempt;
    return {
      nonce: attempt?.nonce ?? '',
      started: attempt !== null,
      progress: attempt?.progress.length ?? 0,
      required: this.required(config),
      complete: false,
      encoded_token: '',
      encoded_root_token: '',
      pgp_fingerprint: '',
      otp,
      otp_length: ROOT_TOKEN_OTP_LENGTH,
    };
  }

  /** Starts an attempt. Without an OTP the server makes one and returns it, this once. */
  start(otp: string | undefined): Promise<GenerateRootStatus> {
    return this.seal.exclusive(async () => {
      const generated = !otp;
      const pad = otp || generateRootTokenOtp();
      // Byte length, as Vault's len(): the pad must cover the token byte for byte.
      if (Buffer.byteLength(pad, 'utf8') !== ROOT_TOKEN_OTP_LENGTH) throw badRequest('OTP string is wrong length');
      this.seal.requireUnsealed();
      if (this.attempt) throw badRequest('root generation already in progress');
      this.attempt = { nonce: randomUUID(), otp: pad, progress: [] };
      this.log(`generate-root: root generation initialized (nonce ${this.attempt.nonce})`);
      return this.status(generated ? pad : '');
    });
  }

  cancel(): Promise<void> {
    return this.seal.exclusive(async () => {
      this.seal.requireUnsealed();
      if (this.attempt) this.log(`generate-root: root generation canceled (nonce ${this.attempt.nonce})`);
      this.clear();
    });
  }

  /** Submits one share (unseal key share, or recovery key share under an auto seal). */
  update(keyText: string | undefined, nonce: string | undefined): Promise<GenerateRootStatus> {
    return this.seal.exclusive(async () => {
      if (!keyText) throw badRequest("'key' must be specified in request body as JSON");
      const key = decodeUnsealKey(keyText);
      if (!key) throw badRequest("'key' must be a valid hex or base64 string");
      try {
        return await this.submit(key, nonce ?? '');
      } catch (err) {
        zero(key);
        throw err;
      }
    });
  }

  private async submit(key: Buffer, nonce: string): Promise<GenerateRootStatus> {
    const config = await this.requireConfig(true);
    const required = this.required(config);
    const problem = this.seal.keyFormatError(key, required);
    if (problem) throw badRequest(problem);
    this.seal.requireUnsealed();
    const attempt = this.attempt;
    if (!attempt) throw badRequest('no root generation in progress');
    if (nonce !== attempt.nonce) throw badRequest(`incorrect nonce supplied; nonce for this root generation operation is "${attempt.nonce}"`);
    if (attempt.progress.some((p) => constantTimeEqual(p, key))) throw badRequest('given key has already been provided during this generation operation');
    attempt.progress.push(key);
    const progress = attempt.progress.length;
    const answer = (encoded: string): GenerateRootStatus => ({
      nonce,
      started: true,
      progress,
      required,
      complete: progress === required,
      encoded_token: encoded,
      encoded_root_token: encoded,
      pgp_fingerprint: '',
      otp: '',
      otp_length: 0,
    });
    if (progress < required) return answer('');

    await this.authenticate(attempt, config, required);
    const { token, info } = await this.tokens.create({
      policies: ['root'],
      orphan: true,
      displayName: 'root',
      creationPath: 'auth/token/root',
      meta: {},
      renewable: false,
    });
    let encoded: string;
    try {
      encoded = encodeRootToken(token, attempt.otp);
    } catch (err) {
      // Unreachable while OTPs are checked at start; never leave an unreachable root token behind.
      await this.tokens.revoke(info);
      throw err;
    }
    this.log(`generate-root: root generation finished (nonce ${attempt.nonce})`);
    this.clear();
    return answer(encoded);
  }

  /**
   * The shares must combine to the unseal key that opens the stored root key, the barrier's own
   * (Shamir), or to the recovery key (auto seal). Progress is zeroed and reset either way.
   */
  private async authenticate(attempt: GenerateRootAttempt, config: StoredSealConfig, required: number): Promise<void> {
    let combined: Buffer | undefined;
    let rootKey: Buffer | undefined;
    let reason: string | undefined;
    try {
      try {
        combined = await this.seal.combine(attempt.progress, required);
      } catch (err) {
        if (err instanceof ShamirError) throw badRequest(`failed to compute root key: ${err.message}`);
        throw err;
      }
      if (this.seal.provider.autoUnseal) {
        if (!config.recovery) throw badRequest('root generation aborted: unable to authenticate: recovery key not configured');
        try {
          verifyRecoveryKey(combined, config.recovery.check);
        } catch (err) {
          if (!(err instanceof IntegrityError)) throw err;
          reason = 'unable to authenticate: recovery key verification failed: recovery key does not match submitted values';
        }
      } else {
        try {
          rootKey = await this.seal.verifyUnsealKey(combined);
          if (!constantTimeEqual(rootKey, this.barrier.currentRootKey())) reason = 'root key verification failed: root key does not match';
        } catch (err) {
          if (!(err instanceof IntegrityError)) throw err;
          reason = 'unable to authenticate: failed to decrypt keys from storage: cipher: message authentication failed';
        }
      }
    } finally {
      zero(combined, rootKey, ...attempt.progress);
      attempt.progress = [];
    }
    if (reason) {
      this.log(`generate-root: root generation aborted (nonce ${attempt.nonce}): invalid key shares`);
      throw badRequest(`root generation aborted: ${reason}`);
    }
  }

  /** Shares needed: the recovery threshold under an auto seal, else the unseal threshold. */
  private required(config: StoredSealConfig): number {
    return this.seal.provider.autoUnseal && config.recovery ? config.recovery.threshold : config.secretThreshold;
  }

  /** `fresh`: read the stored row (the recovery key may have been rekeyed on another node). */
  private async requireConfig(fresh = false): Promise<StoredSealConfig> {
    const config = await (fresh ? this.seal.loadFreshConfig() : this.seal.loadConfig());
    if (!config) throw badRequest('server is not yet initialized');
    return config;
  }

  private clear(): void {
    if (!this.attempt) return;
    zero(...this.attempt.progress);
    this.attempt = null;
  }
}
