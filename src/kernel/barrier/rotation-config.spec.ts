import { ApiError } from '../errors';
import { goDuration } from '../../framework/field-types';
import { DEFAULT_ROTATION_CONFIG, effectiveMaxEncryptions, intervalDue, rotationConfigResponse, updatedRotationConfig } from './rotation-config';

describe('barrier rotation config (Vault sys/rotate/config)', () => {
  it('defaults to Vault’s: the NIST-derived maximum, no interval, enabled', () => {
    expect(rotationConfigResponse(DEFAULT_ROTATION_CONFIG)).toEqual({ max_operations: 3865470566, enabled: true, interval: 0 });
  });

  it('changes only the fields given and answers the interval as a Go duration', () => {
    const c = updatedRotationConfig(DEFAULT_ROTATION_CONFIG, { interval: 90000 });
    expect(c).toEqual({ maxOperations: 3865470566, intervalSeconds: 90000, enabled: true });
    expect(rotationConfigResponse(updatedRotationConfig(c, { max_operations: 1_000_000, enabled: false }))).toEqual({
      max_operations: 1000000,
      enabled: false,
      interval: '25h0m0s',
    });
    expect(updatedRotationConfig(c, { interval: 0 }).intervalSeconds).toBe(0);
  });

  it('refuses what Vault refuses, with Vault’s messages and never the value', () => {
    const refused = (input: Parameters<typeof updatedRotationConfig>[1]) => {
      try {
        updatedRotationConfig(DEFAULT_ROTATION_CONFIG, input);
      } catch (e) {
        expect(e).toBeInstanceOf(ApiError);
        return (e as ApiError).errors;
      }
      throw new Error('accepted');
    };
    expect(refused({ interval: 86399 })).toEqual(['interval must be greater or equal to 24h0m0s']);
    expect(refused({ max_operations: 999_999 })).toEqual(['max_operations must be in the range [1000000,3865470566]']);
    expect(refused({ max_operations: 3_865_470_567 })).toEqual(['max_operations must be in the range [1000000,3865470566]']);
    expect(updatedRotationConfig(DEFAULT_ROTATION_CONFIG, { interval: 86400, max_operations: 1_000_000 }).maxOperations).toBe(1_000_000);
  });

  it('the server ceiling always applies; a disabled config adds nothing', () => {
    expect(effectiveMaxEncryptions(50, DEFAULT_ROTATION_CONFIG)).toBe(50);
    expect(effectiveMaxEncryptions(3_865_470_566, { ...DEFAULT_ROTATION_CONFIG, maxOperations: 2_000_000 })).toBe(2_000_000);
    expect(effectiveMaxEncryptions(3_865_470_566, { maxOperations: 2_000_000, intervalSeconds: 0, enabled: false })).toBe(3_865_470_566);
  });

  it('time-based rotation is due once the term is as old as the interval, and only when enabled', () => {
    const installed = new Date('2026-01-01T00:00:00Z');
    const day = { maxOperations: 3_865_470_566, intervalSeconds: 86400, enabled: true };
    expect(intervalDue(day, installed, installed.getTime() + 86_399_000)).toBe(false);
    expect(intervalDue(day, installed, installed.getTime() + 86_400_000)).toBe(true);
    expect(intervalDue({ ...day, enabled: false }, installed, installed.getTime() + 10 * 86_400_000)).toBe(false);
    expect(intervalDue(DEFAULT_ROTATION_CONFIG, installed, installed.getTime() + 10 * 86_400_000)).toBe(false);
  });

  it('formats durations as Go does', () => {
    expect(goDuration(45)).toBe('45s');
    expect(goDuration(90)).toBe('1m30s');
    expect(goDuration(86400)).toBe('24h0m0s');
    expect(goDuration(2147483647)).toBe('596523h14m7s');
  });
});
