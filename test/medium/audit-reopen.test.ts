/**
 * Reopening audit devices (what SIGHUP does, e2e `audit`): a device that could not be opened at
 * unseal is tried again, and serves once its file can be opened; until then it keeps failing closed.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/logger';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(60_000);

describe('audit device reopen (medium)', () => {
  let k: TestKernel | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it('tries a device that could not be opened at unseal again, and keeps it failing closed while it still cannot be opened', async () => {
    let call: Call;
    let key: string;
    const logged: string[] = [];
    ({ k, call, key } = await openAuditedKernel({ log: createLogger('info', (l) => logged.push(l)) }));
    expect((await call('PUT', 'sys/audit/siem', { type: 'file', options: { file_path: 'siem/audit.log' } })).status).toBe(204);
    await k.seal.seal();
    const file = join(k.auditConfig.fileDir, 'siem/audit.log');
    rmSync(file);
    mkdirSync(file); // EISDIR when opened for writing
    await k.seal.submitUnsealKey(key, false);
    expect((await call('GET', 'sys/mounts')).status).toBe(500);

    await k.audit.broker.reopen();
    expect(logged.some((l) => l.includes('audit device "siem/" could not be reopened'))).toBe(true);
    expect((await call('GET', 'sys/mounts')).status).toBe(500);

    rmSync(file, { recursive: true });
    await k.audit.broker.reopen();
    expect(logged.some((l) => l.includes('audit device "siem/" reopened'))).toBe(true);
    expect((await call('GET', 'sys/mounts')).status).toBe(200);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.type, l.request.path])).toEqual([
      ['request', 'sys/mounts'],
      ['response', 'sys/mounts'],
    ]);
  });
});
