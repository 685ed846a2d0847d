/**
 * A canary secret sent through endpoints and error paths never appears in the audit log (database
 * and file devices), the server log (debug level) or an error response.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/logger';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

const CANARY = 'canary-7f3a9c41e2b8d6';

describe('audit canary (medium)', () => {
  let k: TestKernel | undefined;
  afterEach(async () => k?.close());

  it('the canary reaches no audit entry, no log line and no error response', async () => {
    const logLines: string[] = [];
    const log = createLogger('debug', (line) => logLines.push(line));
    let call: Call;
    ({ k, call } = await openAuditedKernel({ databaseDevice: true, log }));
    expect((await call('PUT', 'sys/audit/siem', { type: 'file', options: { file_path: 'siem.log' } })).status).toBe(204);
    await call('PUT', 'sys/mounts/kv1', { type: 'kv', options: { version: '1' } });

    const errors: { url: string; status: number; body: string }[] = [];
    const requests: [string, string, unknown?, string?][] = [
      ['PUT', 'secret/data/c', { data: { password: CANARY, nested: [{ pin: CANARY }] } }],
      ['GET', 'secret/data/c'],
      ['PATCH', 'secret/data/c', { data: { other: CANARY } }],
      ['PUT', 'secret/data/c', { options: { cas: 1 }, data: { password: CANARY } }], // cas mismatch
      ['PUT', 'secret/data/c', { data: CANARY }], // not a map
      ['PUT', 'secret/metadata/c', { custom_metadata: { owner: CANARY } }],
      ['GET', 'secret/metadata/c'],
      ['GET', `secret/data/c?version=${CANARY}`],
      ['PUT', 'secret/data/d', `{"data": {"password": "${CANARY}"`], // malformed JSON
      ['PUT', 'kv1/c', { value: CANARY, ttl: CANARY }],
      ['PUT', 'kv1/d', { value: CANARY }],
      ['GET', 'kv1/d'],
      ['PUT', 'auth/token/create', { meta: { note: CANARY }, ttl: CANARY }],
      ['PUT', 'auth/token/create', { meta: { note: CANARY }, policies: ['default'] }],
      ['PUT', 'auth/token/lookup', { token: CANARY }],
      ['GET', 'auth/token/lookup-self', undefined, CANARY], // the canary as a token
      ['GET', 'secret/data/c', undefined, `hvs.${CANARY}`],
      ['PUT', 'sys/policies/acl/p', { policy: `# ${CANARY}\npath "secret/*" { capabilities = ["read"] }` }],
      ['GET', 'sys/policies/acl/p'],
      ['PUT', 'sys/policies/acl/q', { policy: `path "x" { capabilities = ["${CANARY}"] }` }], // bad policy
      ['PUT', 'sys/audit-hash/siem', { input: CANARY }],
      ['PUT', 'sys/capabilities-self', { paths: ['secret/data/c'], extra: CANARY }],
      ['PUT', 'no/such/mount', { value: CANARY }],
    ];
    for (const [method, url, body, token] of requests) {
      const res = await call(method, url, body, token);
      if (res.status >= 400) errors.push({ url, status: res.status, body: res.body ?? '' });
    }
    expect(errors.length).toBeGreaterThanOrEqual(8);

    const entries: { row: string }[] = await k.dataSource.query("SELECT row_to_json(a)::text || convert_from(entry_bytes, 'UTF8') AS row FROM audit_logs a");
    expect(entries.length).toBeGreaterThan(2 * requests.length - 4);
    const auditText = entries.map((e) => e.row).join('\n');
    const fileText = readFileSync(join(k.auditConfig.fileDir, 'siem.log'), 'utf8');
    expect(fileText.split('\n').length).toBeGreaterThan(2 * requests.length - 4);
    // The audit log does see the requests: the hash of the canary is there.
    const canaryHash = (await call('PUT', 'sys/audit-hash/siem', { input: CANARY })).json.hash as string;
    expect(fileText).toContain(canaryHash);

    expect(auditText).not.toContain(CANARY);
    expect(fileText).not.toContain(CANARY);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(CANARY);
    for (const e of errors) expect({ ...e, leaked: e.body.includes(CANARY) }).toMatchObject({ leaked: false });
  });
});
