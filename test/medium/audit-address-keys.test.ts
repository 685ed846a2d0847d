/**
 * Crypto-shredding's period: a month's address key lives until `address_key_retention` (default
 * 90 days) after the month ends, and not a moment longer.
 */
import { buildConfig } from '../../src/config/config';
import { monthOf } from '../../src/audit/address-keys';
import { openAuditedKernel } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(60_000);

const DAY_MS = 86_400_000;

describe('audit address keys (medium)', () => {
  let k: TestKernel | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it('are destroyed exactly the retention period after their month ends (default 90 days)', async () => {
    expect(buildConfig({}, {}, {}).audit.addressKeyRetentionSeconds).toBe(90 * 86_400);
    expect(buildConfig({ audit: { address_key_retention: '30d' } }, {}, {}).audit.addressKeyRetentionSeconds).toBe(30 * 86_400);
    ({ k } = await openAuditedKernel());
    const now = new Date();
    const month = monthOf(now);
    const sealed = await k.audit.addressKeys.source('192.0.2.7', 'curl/8', now);
    expect(sealed.month).toBe(month);
    const monthEnd = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    expect(await k.audit.addressKeys.shred(new Date(monthEnd + 90 * DAY_MS - 1))).toEqual([]);
    const names = async () =>
      ((await k!.dataSource.query("SELECT name FROM kernel_secrets WHERE name LIKE 'audit_address_key/%'")) as { name: string }[]).map((r) => r.name);
    expect(await names()).toEqual([`audit_address_key/${month}`]);
    expect(await k.audit.addressKeys.shred(new Date(monthEnd + 90 * DAY_MS))).toEqual([month]);
    expect(await names()).toEqual([]);
  });
});
