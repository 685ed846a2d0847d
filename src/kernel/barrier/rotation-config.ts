/**
 * Vault's automatic barrier-key rotation settings (`sys/rotate/config`): rotate after
 * `max_operations` encryptions, or once the active term is `interval` old; `enabled=false` turns
 * both off. The server setting `barrier_max_encryptions_per_term` stays a ceiling that always applies,
 * so the effective count is the lower of the two. Bounds and messages are Vault's (vault/keyring.go,
 * logical_system.go handleKeyRotationConfigUpdate).
 */
import { goDuration } from '../../framework/field-types';
import { badRequest } from '../errors';

/** 10% shy of the NIST bound for random-nonce AES-GCM (Vault's absoluteOperationMaximum). */
export const ROTATION_MAX_OPERATIONS = 3_865_470_566;
export const ROTATION_MIN_OPERATIONS = 1_000_000;
/** Vault's minimumRotationInterval: 24h (0 = no interval). */
export const ROTATION_MIN_INTERVAL_SECONDS = 24 * 3600;

export interface RotationConfig {
  maxOperations: number;
  /** 0: no time-based rotation. */
  intervalSeconds: number;
  enabled: boolean;
}

export const DEFAULT_ROTATION_CONFIG: RotationConfig = Object.freeze({ maxOperations: ROTATION_MAX_OPERATIONS, intervalSeconds: 0, enabled: true });

export interface RotationConfigInput {
  max_operations?: number;
  interval?: number;
  enabled?: boolean;
}

/** The stored config with the given fields changed; out-of-range results → 400 with Vault's messages (never the value). */
export function updatedRotationConfig(current: RotationConfig, input: RotationConfigInput): RotationConfig {
  const next: RotationConfig = {
    maxOperations: input.max_operations ?? current.maxOperations,
    intervalSeconds: input.interval ?? current.intervalSeconds,
    enabled: input.enabled ?? current.enabled,
  };
  if (next.intervalSeconds !== 0 && next.intervalSeconds < ROTATION_MIN_INTERVAL_SECONDS) throw badRequest('interval must be greater or equal to 24h0m0s');
  if (next.maxOperations < ROTATION_MIN_OPERATIONS || next.maxOperations > ROTATION_MAX_OPERATIONS) {
    throw badRequest(`max_operations must be in the range [${ROTATION_MIN_OPERATIONS},${ROTATION_MAX_OPERATIONS}]`);
  }
  return next;
}

/** Encryptions a term may do before it is rotated out: the server ceiling, lowered by an enabled config. */
export function effectiveMaxEncryptions(serverMax: number, config: RotationConfig): number {
  return config.enabled ? Math.min(serverMax, config.maxOperations) : serverMax;
}

/** The active term, installed at `installedAt`, is due for time-based rotation at `now`. */
export function intervalDue(config: RotationConfig, installedAt: Date, now: number): boolean {
  return config.enabled && config.intervalSeconds > 0 && now - installedAt.getTime() >= config.intervalSeconds * 1000;
}

/** The read answer, as Vault's: `interval` as a Go duration string, or the number 0 when unset. */
export function rotationConfigResponse(config: RotationConfig): Record<string, unknown> {
  return { max_operations: config.maxOperations, enabled: config.enabled, interval: config.intervalSeconds > 0 ? goDuration(config.intervalSeconds) : 0 };
}
