/**
 * Vault's user lockout, as pure functions: the name a counter is keyed on, the effective settings
 * of a mount, and the state transitions of one counter. The repository runs the same transitions
 * as single SQL statements (lockout.repository.ts); these functions are their specification.
 *
 * Invariants:
 * - a counter is keyed on (mount accessor, normalised name): `alice`, `Alice`, ` alice` and
 *   `ａｌｉｃｅ` share one counter;
 * - every login attempt is counted before its password is checked, so concurrent attempts cannot
 *   run more than `threshold` checks between two successes;
 * - a locked counter does not change until its lock expires (failures while locked do not extend it);
 * - a success deletes the counter.
 */
import type { UserLockoutSettings } from '../../framework/backend';
import { FieldError, toBool, toDurationSeconds, toInt } from '../../framework/field-types';

export interface LockoutConfig {
  /** Failed attempts that lock the name. */
  threshold: number;
  durationSeconds: number;
  /** The counter starts again after this long without a failed attempt. */
  counterResetSeconds: number;
  disabled: boolean;
}

/** Vault's defaults: 5 attempts, 15 minutes, 15 minutes. */
export const DEFAULT_LOCKOUT: LockoutConfig = { threshold: 5, durationSeconds: 15 * 60, counterResetSeconds: 15 * 60, disabled: false };

/** The one normalisation of login names: Unicode NFKC, surrounding whitespace trimmed, lower case. */
export function normaliseLoginName(name: string): string {
  return name.normalize('NFKC').trim().toLowerCase();
}

/** The effective settings: each one from the most specific layer that sets it (later layers win). */
export function effectiveLockout(...layers: (UserLockoutSettings | undefined)[]): LockoutConfig {
  const out = { ...DEFAULT_LOCKOUT };
  for (const layer of layers) {
    if (!layer) continue;
    if (layer.threshold !== undefined) out.threshold = layer.threshold;
    if (layer.durationSeconds !== undefined) out.durationSeconds = layer.durationSeconds;
    if (layer.counterResetSeconds !== undefined) out.counterResetSeconds = layer.counterResetSeconds;
    if (layer.disabled !== undefined) out.disabled = layer.disabled;
  }
  return out;
}

/**
 * Parses tune's `user_lockout_config` map. Vault's API names (`lockout_counter_reset_duration`,
 * `lockout_disable`) and the config file's (`lockout_counter_reset`, `disable_lockout`) are both accepted.
 * Throws FieldError (a 400) naming the bad key.
 */
export function parseUserLockoutConfig(input: Record<string, unknown>): UserLockoutSettings {
  const out: UserLockoutSettings = {};
  const duration = (key: string, v: unknown) => {
    const seconds = toDurationSeconds(`user_lockout_config.${key}`, v);
    if (seconds < 1) throw new FieldError(`user_lockout_config.${key} must be at least 1s`);
    return seconds;
  };
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || value === null || value === '') continue;
    switch (key) {
      case 'lockout_threshold': {
        const n = toInt(`user_lockout_config.${key}`, value);
        if (n < 1) throw new FieldError('user_lockout_config.lockout_threshold must be at least 1');
        out.threshold = n;
        break;
      }
      case 'lockout_duration':
        out.durationSeconds = duration(key, value);
        break;
      case 'lockout_counter_reset':
      case 'lockout_counter_reset_duration':
        out.counterResetSeconds = duration(key, value);
        break;
      case 'lockout_disable':
      case 'disable_lockout':
        out.disabled = toBool(`user_lockout_config.${key}`, value);
        break;
      default:
        throw new FieldError(`user_lockout_config: unknown setting ${JSON.stringify(key)}`);
    }
  }
  return out;
}

/** One counter. Times in milliseconds since the epoch. */
export interface LockoutState {
  /** Attempts since the counter (re)started that did not succeed (in flight or failed). */
  attempts: number;
  firstAttemptAt: number;
  lastAttemptAt: number;
  lockedUntil: number | null;
}

export function isLocked(state: LockoutState | undefined, now: number): boolean {
  return state?.lockedUntil != null && now < state.lockedUntil;
}

/** A counter whose lock expired, or that saw no attempt for `counterResetSeconds`, counts from zero. */
function isStale(state: LockoutState, now: number, config: LockoutConfig): boolean {
  if (state.lockedUntil !== null) return now >= state.lockedUntil;
  return now - state.lastAttemptAt >= config.counterResetSeconds * 1000;
}

/**
 * An attempt starts: counted before the password check. `allowed` false means the answer is the
 * wrong-password answer whatever the password (the check still runs, so the work is the same).
 */
export function beginAttempt(state: LockoutState | undefined, now: number, config: LockoutConfig): { state: LockoutState; allowed: boolean } {
  if (state && isLocked(state, now)) return { state, allowed: false };
  const base = !state || isStale(state, now, config) ? { attempts: 0, firstAttemptAt: now, lockedUntil: null } : state;
  const attempts = base.attempts + 1;
  // More attempts than the threshold in flight: the excess ones lock the name at once.
  const lockedUntil = attempts > config.threshold ? now + config.durationSeconds * 1000 : null;
  return { state: { attempts, firstAttemptAt: base.firstAttemptAt, lastAttemptAt: now, lockedUntil }, allowed: lockedUntil === null };
}

/** A counted attempt failed: the name is locked once `threshold` attempts have failed. */
export function recordFailure(state: LockoutState, now: number, config: LockoutConfig): LockoutState {
  if (state.lockedUntil !== null || state.attempts < config.threshold) return state;
  return { ...state, lockedUntil: now + config.durationSeconds * 1000 };
}
