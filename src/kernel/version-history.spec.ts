import { versionHistoryResponse } from './version-history';

describe('version history answer (Vault sys/version-history)', () => {
  it('keys oldest first; each names the version before it, the build date and the install time (RFC 3339, seconds)', () => {
    const res = versionHistoryResponse([
      { version: '1.17.0+secrethub.0.1.0', buildDate: '2026-11-22T00:00:00Z', installedAt: new Date('2026-12-01T10:00:00.123Z') },
      { version: '1.17.0+secrethub.0.2.0', buildDate: '2026-12-04T00:00:00Z', installedAt: new Date('2026-12-05T11:30:00Z') },
    ]);
    expect(res).toEqual({
      keys: ['1.17.0+secrethub.0.1.0', '1.17.0+secrethub.0.2.0'],
      key_info: {
        '1.17.0+secrethub.0.1.0': { build_date: '2026-11-22T00:00:00Z', previous_version: null, timestamp_installed: '2026-12-01T10:00:00Z' },
        '1.17.0+secrethub.0.2.0': {
          build_date: '2026-12-04T00:00:00Z',
          previous_version: '1.17.0+secrethub.0.1.0',
          timestamp_installed: '2026-12-05T11:30:00Z',
        },
      },
    });
    expect(versionHistoryResponse([])).toEqual({ keys: [], key_info: {} });
  });
});
