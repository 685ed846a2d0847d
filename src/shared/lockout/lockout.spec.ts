import { FieldError } from '../../framework/field-types';
import {
  beginAttempt,
  DEFAULT_LOCKOUT,
  effectiveLockout,
  isLocked,
  normaliseLoginName,
  parseUserLockoutConfig,
  recordFailure,
  type LockoutState,
} from './lockout';

const config = { threshold: 3, durationSeconds: 60, counterResetSeconds: 30, disabled: false };

/** A failed attempt at `now` (begin, then the failure). */
function fail(state: LockoutState | undefined, now: number): { state: LockoutState; allowed: boolean } {
  const begun = beginAttempt(state, now, config);
  return { state: recordFailure(begun.state, now, config), allowed: begun.allowed };
}

describe('normaliseLoginName', () => {
  it('folds case, surrounding whitespace and Unicode compatibility forms into one name', () => {
    for (const n of ['alice', 'Alice', ' alice', 'ALICE\t', '\u3000alice', 'ａｌｉｃｅ', 'Ａlice ']) expect(normaliseLoginName(n)).toBe('alice');
    expect(normaliseLoginName('al ice')).toBe('al ice');
  });
});

describe('lockout transitions', () => {
  it('locks after `threshold` failures, for `duration`; a failure while locked does not extend the lock', () => {
    let s: LockoutState | undefined;
    for (let i = 0; i < 3; i++) {
      const r = fail(s, 1000 + i);
      expect(r.allowed).toBe(true);
      s = r.state;
    }
    expect(s?.lockedUntil).toBe(1002 + 60_000);
    expect(isLocked(s, 1003)).toBe(true);
    const whileLocked = fail(s, 30_000);
    expect(whileLocked.allowed).toBe(false);
    expect(whileLocked.state).toEqual(s);
    expect(isLocked(s, 1002 + 60_000)).toBe(false);
  });

  it('an expired lock starts the counter again', () => {
    let s: LockoutState | undefined;
    for (let i = 0; i < 3; i++) s = fail(s, i).state;
    const after = beginAttempt(s, 2 + 60_000, config);
    expect(after).toEqual({ allowed: true, state: { attempts: 1, firstAttemptAt: 60_002, lastAttemptAt: 60_002, lockedUntil: null } });
  });

  it('the counter resets after counter_reset without attempts', () => {
    let s = fail(undefined, 0).state;
    s = fail(s, 1000).state;
    expect(s.attempts).toBe(2);
    expect(beginAttempt(s, 1000 + 29_999, config).state.attempts).toBe(3);
    expect(beginAttempt(s, 1000 + 30_000, config).state).toEqual({ attempts: 1, firstAttemptAt: 31_000, lastAttemptAt: 31_000, lockedUntil: null });
  });

  it('attempts in flight beyond the threshold are refused and lock the name', () => {
    let s: LockoutState | undefined;
    const allowed: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const r = beginAttempt(s, 10, config);
      allowed.push(r.allowed);
      s = r.state;
    }
    expect(allowed).toEqual([true, true, true, false, false]);
    expect(isLocked(s, 11)).toBe(true);
  });
});

describe('settings', () => {
  it('the most specific layer wins, setting by setting', () => {
    expect(effectiveLockout()).toEqual(DEFAULT_LOCKOUT);
    expect(effectiveLockout({ threshold: 10, disabled: true }, { threshold: 2 }, undefined)).toEqual({ ...DEFAULT_LOCKOUT, threshold: 2, disabled: true });
  });

  it("parses tune's user_lockout_config with Vault's and the config file's names; bad values are field errors", () => {
    expect(parseUserLockoutConfig({ lockout_threshold: '7', lockout_duration: '10m', lockout_counter_reset_duration: 30, lockout_disable: 'true' })).toEqual({
      threshold: 7,
      durationSeconds: 600,
      counterResetSeconds: 30,
      disabled: true,
    });
    expect(parseUserLockoutConfig({ lockout_counter_reset: '1s', disable_lockout: false })).toEqual({ counterResetSeconds: 1, disabled: false });
    expect(() => parseUserLockoutConfig({ lockout_threshold: 0 })).toThrow(FieldError);
    expect(() => parseUserLockoutConfig({ lockout_duration: 'soon' })).toThrow(FieldError);
    expect(() => parseUserLockoutConfig({ lockout_tresh: 1 })).toThrow(FieldError);
  });
});
