/**
 * Malformed JSON bodies holding a canary outside any string (where a parser's message would quote
 * it: `{"password": Tr0ub4dor&3xyz}`), sent to every kind of route: sys, KV v1 and v2, tokens, the
 * auth methods' logins, engines, unauthenticated seal routes, cubbyhole and wrapping. Each is a 400
 * whose error, audit entries and log lines hold none of the canary (issue 22, defect 2).
 */
import { createLogger } from '../../src/logger';
import { openAuditedKernel } from '../support/audit';
import { newCanary, watchCanary, type CanaryWatch } from '../support/canary';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

const CANARY = newCanary();

/** The canary where JSON.parse stops, in each position a message could quote it from. */
const MALFORMED = [
  `{"password": ${CANARY}}`,
  `{"password": "x", ${CANARY}}`,
  `{${CANARY}: 1}`,
  `{"data": {"password": [1, ${CANARY}]}}`,
  `{"data": tru${CANARY}}`,
  `{"password": "x"} ${CANARY}`,
  `{"password": "${CANARY}\n"}`,
  `{"password": "\\q${CANARY}"}`,
  `{"password": 0${CANARY}}`,
  `{"password": "${CANARY}`,
];

const ROUTES: [string, string][] = [
  ['PUT', 'sys/policies/acl/p'],
  ['PUT', 'sys/mounts/other'],
  ['PUT', 'sys/audit-hash/siem'],
  ['PUT', 'sys/capabilities-self'],
  ['PUT', 'sys/init'],
  ['PUT', 'sys/unseal'],
  ['PUT', 'sys/rekey/init'],
  ['PUT', 'sys/wrapping/wrap'],
  ['PUT', 'sys/leases/revoke'],
  ['PUT', 'kv1/app'],
  ['PUT', 'secret/data/app'],
  ['PUT', 'secret/metadata/app'],
  ['PUT', 'cubbyhole/app'],
  ['PUT', 'auth/token/create'],
  ['PUT', 'auth/token/lookup'],
  ['PUT', 'auth/userpass/login/alice'],
  ['PUT', 'auth/userpass/users/alice'],
  ['PUT', 'auth/approle/login'],
  ['PUT', 'auth/approle/role/app/secret-id'],
  ['PUT', 'pki/roles/web'],
  ['PUT', 'pki/issue/web'],
  ['PUT', 'database/config/pg'],
];

describe('malformed bodies on every kind of route (medium)', () => {
  let k: TestKernel;
  let watch: CanaryWatch;
  const logLines: string[] = [];

  beforeAll(async () => {
    const log = createLogger('debug', (line) => logLines.push(line));
    let plain;
    ({ k, call: plain } = await openAuditedKernel({ databaseDevice: true, log }));
    watch = await watchCanary(k, plain, CANARY, logLines);
    for (const [path, type] of [
      ['kv1', 'kv'],
      ['pki', 'pki'],
      ['database', 'database'],
    ]) {
      expect((await watch.call('PUT', `sys/mounts/${path}`, { type, options: type === 'kv' ? { version: '1' } : undefined })).status).toBe(204);
    }
    for (const method of ['userpass', 'approle']) expect((await watch.call('PUT', `sys/auth/${method}`, { type: method })).status).toBe(204);
    expect((await watch.call('PUT', 'auth/approle/role/app', { token_ttl: '1h' })).status).toBe(204);
  });
  afterAll(async () => k?.close());

  it('each is a 400 naming an offset, and the canary reaches no answer, entry or log line', async () => {
    for (const [method, path] of ROUTES) {
      for (const body of MALFORMED) {
        const res = await watch.call(method, path, body);
        expect({ path, body, status: res.status }).toEqual({ path, body, status: 400 });
        expect(res.json.errors).toEqual([expect.stringMatching(/^failed to parse JSON input: [a-z ]+ at offset \d+$/)]);
      }
    }
    // The canary also goes where it belongs, so the check knows entries are written and hashed.
    expect((await watch.call('PUT', 'secret/data/app', { data: { password: CANARY } })).status).toBe(200);
    await watch.check();
  });
});
