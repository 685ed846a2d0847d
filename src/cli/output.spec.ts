import { asVaultSecret } from './context';
import { humanDuration, looksLikeDuration } from './output';

describe('humanDuration (Vault CLI durations)', () => {
  it('prints seconds as Go durations without zero minutes or seconds after a larger unit', () => {
    expect([0, 45, 60, 90, 3600, 3601, 3660, 5400, 2_764_800, 86_399].map(humanDuration)).toEqual([
      '0s',
      '45s',
      '1m',
      '1m30s',
      '1h',
      '1h1s',
      '1h1m',
      '1h30m',
      '768h',
      '23h59m59s',
    ]);
  });
  it('knows which keys Vault prints as durations', () => {
    expect(['ttl', 'token_ttl', 'lease_duration', 'period', 'token_period', 'lease_max', 'ttl_max', 'num_uses', 'ttl_seconds'].map(looksLikeDuration)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });
});

describe('asVaultSecret (-format=json)', () => {
  it("orders the envelope as Vault's api.Secret and leaves out null auth and wrap_info", () => {
    const body = {
      request_id: 'r',
      lease_id: 'l',
      renewable: true,
      lease_duration: 60,
      data: { a: 1 },
      wrap_info: null,
      warnings: null,
      auth: null,
      mount_type: 'database',
    };
    const out = asVaultSecret(body);
    expect(Object.keys(out)).toEqual(['request_id', 'lease_id', 'lease_duration', 'renewable', 'data', 'warnings', 'mount_type']);
    expect(asVaultSecret({ ...body, mount_type: '', auth: { client_token: 't' }, term: 1 })).toEqual({
      request_id: 'r',
      lease_id: 'l',
      lease_duration: 60,
      renewable: true,
      data: { a: 1 },
      warnings: null,
      auth: { client_token: 't' },
      term: 1,
    });
    expect(asVaultSecret({ keys: ['a'] })).toEqual({ keys: ['a'] });
  });
});
