/**
 * Generate root (Vault's sys/generate-root): a quorum of key holders makes a new root token without
 * an existing one. Shamir seal: the shares combine to the unseal key, which must open the stored
 * root key (and that must be the barrier's). Auto seal: they combine to the recovery key, which
 * must pass its check value.
 *
 * Invariants:
 * - one attempt at a time for every process of every node: it is a row (generate-root-attempt.repository.ts)
 *   changed under its lock, so shares sent to any process count toward it once each, and exactly one
 *   process makes the token; the OTP and shares are barrier-sealed there; a restart or a seal of one
 *   process leaves the attempt to the others (cancel ends it);
 * - the new token leaves only XOR-encoded with the OTP chosen at start; the OTP is shown once, in
 *   the response that generated it, and never logged; log lines carry the nonce only;
 * - submitted shares are zeroed when the attempt ends, completes or fails; after the last share
 *   progress is 0 again whatever the outcome, and the attempt with its nonce stays on failure;
 * - a share already submitted is refused (constant-time compare) without counting twice;
 * - state changes run under the seal mutex, so they never interleave with this process's unseal,
 *   seal or rekey.
 */
import { randomUUID } from 'node:crypto';
import { IntegrityError } from '../../crypto/aead';
import { constantTimeEqual, zero } from '../../crypto/hmac';
import { encodeRootToken, generateRootTokenOtp, ROOT_TOKEN_OTP_LENGTH } from '../../crypto/root-token-otp';
import { ShamirError } from '../../crypto/shamir';
import type { Barrier } from '../barrier/barrier';
import { badRequest } from '../errors';
import type { TokenStore } from '../token/token-store.service';
import { type GenerateRootAttempt, type GenerateRootAttemptRepository, GenerateRootInProgressError } from './generate-root-attempt.repository';
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

type SubmitOutcome = { status: GenerateRootStatus } | { refused: Error };

export class GenerateRootService {
  constructor(
    private readonly seal: SealService,
    private readonly barrier: Barrier,
    private readonly tokens: TokenStore,
    private readonly attempts: GenerateRootAttemptRepository,
    private readonly log: (message: string) => void,
  ) {}

  /** GET sys/generate-root/attempt; `otp` only in the answer to the start that generated it. */
  async status(otp = ''): Promise<GenerateRootStatus> {
    const config = await this.requireConfig();
    const attempt = await this.attempts.summary();
    return {
      nonce: attempt?.nonce ?? '',
      started: attempt !== undefined,
      progress: attempt?.progress ?? 0,
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
      const nonce = await this.attempts
        .locked(async (current) => {
          if (current) throw new GenerateRootInProgressError();
          const next: GenerateRootAttempt = { nonce: randomUUID(), otp: pad, progress: [] };
          return { result: next.nonce, next };
        })
        .catch((err: Error) => {
          throw err instanceof GenerateRootInProgressError ? badRequest(err.message) : err;
        });
      this.log(`generate-root: root generation initialized (nonce ${nonce})`);
      return this.status(generated ? pad : '');
    });
  }

  cancel(): Promise<void> {
    return this.seal.exclusive(async () => {
      this.seal.requireUnsealed();
      const attempt = await this.attempts.summary();
      await this.attempts.remove();
      if (attempt) this.log(`generate-root: root generation canceled (nonce ${attempt.nonce})`);
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
    // A refusal after the attempt changed (a wrong quorum resets its progress) is stored before it is thrown.
    const outcome = await this.attempts.locked(async (attempt): Promise<{ result: SubmitOutcome; next: GenerateRootAttempt | null }> => {
      if (!attempt) throw badRequest('no root generation in progress');
      if (nonce !== attempt.nonce) throw badRequest(`incorrect nonce supplied; nonce for this root generation operation is "${attempt.nonce}"`);
      if (attempt.progress.some((p) => constantTimeEqual(p, key))) throw badRequest('given key has already been provided during this generation operation');
      const next: GenerateRootAttempt = { ...attempt, progress: [...attempt.progress, Buffer.from(key)] };
      const progress = next.progress.length;
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
      if (progress < required) return { result: { status: answer('') }, next };
      const refused = await this.authenticate(next, config, required);
      if (refused) return { result: { refused }, next: { ...next, progress: [] } };
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
        encoded = encodeRootToken(token, next.otp);
      } catch (err) {
        // Unreachable while OTPs are checked at start; never leave an unreachable root token behind.
        await this.tokens.revoke(info);
        throw err;
      }
      this.log(`generate-root: root generation finished (nonce ${next.nonce})`);
      return { result: { status: answer(encoded) }, next: null };
    });
    zero(key);
    if ('refused' in outcome) throw outcome.refused;
    return outcome.status;
  }

  /**
   * The shares must combine to the unseal key that opens the stored root key, the barrier's own
   * (Shamir), or to the recovery key (auto seal). Gives the refusal when they do not (the caller
   * then stores the attempt with no progress); the combined key is zeroed either way.
   */
  private async authenticate(attempt: GenerateRootAttempt, config: StoredSealConfig, required: number): Promise<Error | undefined> {
    let combined: Buffer | undefined;
    let rootKey: Buffer | undefined;
    let reason: string | undefined;
    try {
      try {
        combined = await this.seal.combine(attempt.progress, required);
      } catch (err) {
        if (err instanceof ShamirError) return badRequest(`failed to compute root key: ${err.message}`);
        throw err;
      }
      if (this.seal.provider.autoUnseal) {
        if (!config.recovery) return badRequest('root generation aborted: unable to authenticate: recovery key not configured');
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
      zero(combined, rootKey);
    }
    if (!reason) return undefined;
    this.log(`generate-root: root generation aborted (nonce ${attempt.nonce}): invalid key shares`);
    return badRequest(`root generation aborted: ${reason}`);
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
}
