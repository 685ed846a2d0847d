/**
 * Credential anomalies over a real audit chain: real requests through the audited pipeline (request
 * rate, error rate, failed logins without a token) and entries appended through the real broker for
 * what one test process cannot send (many source addresses, a month whose address key is destroyed,
 * userpass and AppRole entries without their mounts); the job, its cursor and idempotence; the
 * sys/audit/anomalies API beside the device route; sys/metrics; no clear address or token anywhere
 * it writes or answers; and brute force found in refused logins on real userpass and AppRole mounts.
 */
import { randomUUID } from 'node:crypto';
import { buildConfig } from '../../src/config/config';
import type { AuditTrace, AuditTokenView } from '../../src/audit/audit-entry';
import { AnomalyScanner } from '../../src/audit/anomaly-scanner';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

/** One aligned day: the test's traffic (seconds) falls in one window unless it runs across midnight UTC. */
const WINDOW_SECONDS = 86_400;
const anomalies = {
  ...buildConfig({}, {}, {}).audit.anomalies,
  enabled: false,
  windowSeconds: WINDOW_SECONDS,
  requestRate: 20,
  errorMinErrors: 10,
  sourceIps: 5,
  loginFailures: 5,
};
/** A time after which every window holding entries written now has closed. */
const afterWindows = () => new Date(Date.now() + (WINDOW_SECONDS + 60) * 1000);
const HOUR = 3_600_000;

type Row = Record<string, string>;

describe('audit anomalies (medium)', () => {
  let k: TestKernel;
  let call: Call;
  let rootToken: string;
  const secrets: string[] = [];
  const hashOf = async (input: string) => (await call('PUT', 'sys/audit-hash/chain', { input })).json.hash as string;

  /** Appends a request and its response through the broker, with the source address and token given. */
  async function appendThroughBroker(spec: {
    path: string;
    status: number;
    data?: Record<string, unknown>;
    address: string;
    addressTime?: Date;
    token?: AuditTokenView;
    clientToken?: string;
    mountType?: string;
  }) {
    const time = new Date();
    const mountPath = spec.path.startsWith('auth/') ? spec.path.split('/').slice(0, 2).join('/') + '/' : 'secret/';
    const trace: AuditTrace = {
      requestId: randomUUID(),
      time,
      operation: 'update',
      path: spec.path,
      mount: {
        path: mountPath,
        type: spec.mountType ?? 'kv',
        accessor: `${spec.mountType ?? 'kv'}_0123abcd`,
        class: mountPath.startsWith('auth/') ? 'auth' : 'secret',
        clearRequestKeys: [],
        clearResponseKeys: [],
      },
      data: spec.data ?? {},
      token: spec.token,
      clientToken: spec.clientToken,
      source: await k.audit.addressKeys.source(spec.address, undefined, spec.addressTime ?? time),
    };
    await k.audit.broker.logRequest(trace);
    await k.audit.broker.logResponse(trace, { status: spec.status, error: spec.status >= 400 ? 'invalid credentials' : undefined });
  }

  const tokenView = (accessor: string, displayName: string): AuditTokenView => ({
    accessor,
    displayName,
    policies: ['default'],
    tokenType: 'service',
    ttlSeconds: 3600,
    issueTime: new Date(),
    meta: {},
  });

  beforeAll(async () => {
    ({ k, call, rootToken } = await openAuditedKernel({ databaseDevice: true, audit: { anomalies } }));
    secrets.push(rootToken);
    expect((await call('PUT', 'secret/data/app', { data: { v: 'x' } })).status).toBe(200);
    expect((await call('PUT', 'sys/policies/acl/reader', { policy: 'path "secret/data/app" { capabilities = ["read"] }' })).status).toBe(204);
  });

  afterAll(async () => {
    await k?.close();
  });

  it('finds request rate, error rate, brute force (users normalised, AppRole roles), many source addresses and unusual hours; a rescan adds nothing', async () => {
    const reader = (await call('PUT', 'auth/token/create', { policies: ['reader'] })).json.auth;
    const stranger = (await call('PUT', 'auth/token/create', { policies: ['default'] })).json.auth;
    secrets.push(reader.client_token, reader.accessor, stranger.client_token, stranger.accessor);
    // Real requests: 25 reads by one token; 12 refused reads by another.
    for (let i = 0; i < 25; i++) expect((await call('GET', 'secret/data/app', undefined, reader.client_token)).status).toBe(200);
    for (let i = 0; i < 12; i++) expect((await call('GET', 'secret/data/app', undefined, stranger.client_token)).status).toBe(403);
    // Failed logins without a token on a userpass-shaped path: five spellings of one user.
    for (const name of ['alice', 'Alice', '%20alice', 'ALICE', 'alice%E3%80%80'])
      expect((await call('PUT', `auth/userpass/login/${name}`, { password: 'pw' }, '')).status).toBe(403);
    for (const name of ['dave', 'erin']) await call('PUT', `auth/userpass/login/${name}`, { password: 'pw' }, '');

    // AppRole logins refused six times for one role_id (the device hashes role_id in request.data).
    for (let i = 0; i < 6; i++)
      await appendThroughBroker({
        path: 'auth/approle/login',
        status: 400,
        data: { role_id: 'role-id-0001', secret_id: 'secret-id-value' },
        address: '203.0.113.7',
        mountType: 'approle',
      });
    // One userpass token used from six addresses, and twice from a month whose address key is then destroyed.
    const bobToken = tokenView('synthetic-accessor-bob', 'userpass-Bob');
    secrets.push('synthetic-accessor-bob', 'hvs.synthetic-token-bob');
    for (let i = 1; i <= 6; i++)
      await appendThroughBroker({ path: 'secret/data/app', status: 200, address: `198.51.100.${i}`, token: bobToken, clientToken: 'hvs.synthetic-token-bob' });
    const now = new Date();
    const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 0, 12));
    const startOfMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    for (let i = 0; i < 2; i++)
      await appendThroughBroker({
        path: 'secret/data/app',
        status: 200,
        address: '198.51.100.99',
        addressTime: lastMonth,
        token: bobToken,
        clientToken: 'hvs.synthetic-token-bob',
      });
    expect(await k.audit.addressKeys.shred(new Date(startOfMonth + k.auditConfig.addressKeyRetentionSeconds * 1000 + 1000))).toEqual([
      lastMonth.toISOString().slice(0, 7),
    ]);
    // Carol worked five days at three hours of the day twelve hours away from now; now she is active.
    const thisHour = Math.floor(Date.now() / HOUR) * HOUR;
    for (let day = 1; day <= 5; day++) {
      for (const offset of [11, 12, 13]) {
        await k.dataSource.query("INSERT INTO audit_anomaly_activity (subject_type, subject, hour_start, entries) VALUES ('user', 'carol', $1, 4)", [
          new Date(thisHour - day * 86_400_000 + offset * HOUR),
        ]);
      }
    }
    await appendThroughBroker({ path: 'secret/data/app', status: 200, address: '198.51.100.50', token: tokenView('synthetic-accessor-carol', 'ldap-carol') });
    secrets.push('synthetic-accessor-carol');

    const [readerHash, strangerHash, bobHash, roleHash] = [
      await hashOf(reader.accessor),
      await hashOf(stranger.accessor),
      await hashOf('synthetic-accessor-bob'),
      await hashOf('role-id-0001'),
    ];
    expect(await k.audit.anomalies.repository.cursor()).toBe(0);
    const first = await k.audit.anomalies.scanner.scanNow(afterWindows());
    const lastResponse: Row[] = await k.dataSource.query("SELECT max(sequence_number)::text AS s FROM audit_logs WHERE event_type = 'response'");
    expect(first).toMatchObject({ newAnomalies: 7, lastSequence: Number(lastResponse[0].s) });
    expect(await k.audit.anomalies.repository.cursor()).toBe(Number(lastResponse[0].s));

    const rows: Row[] = await k.dataSource.query(
      'SELECT kind, subject_type, subject, severity, observed::text, details FROM audit_anomalies ORDER BY kind, subject_type, subject',
    );
    expect(rows.map((r) => [r.kind, r.subject_type, r.subject, r.severity, r.observed])).toEqual([
      ['error_rate', 'token_accessor', strangerHash, 'medium', '12'],
      ['login_bruteforce', 'approle_role', roleHash, 'high', '6'],
      ['login_bruteforce', 'user', 'alice', 'high', '5'],
      ['request_rate', 'token_accessor', readerHash, 'medium', '25'],
      ['source_ips', 'token_accessor', bobHash, 'medium', '6'],
      ['source_ips', 'user', 'bob', 'medium', '6'],
      ['unusual_hours', 'user', 'carol', 'low', '1'],
    ]);
    expect(rows.find((r) => r.kind === 'source_ips' && r.subject_type === 'user')?.details).toEqual({
      distinct_sources: 6,
      unreadable_sources: 2,
      requests: 8,
    });
    expect(rows.find((r) => r.kind === 'login_bruteforce' && r.subject_type === 'approle_role')?.details).toMatchObject({
      identifier: 'role_id',
      failed_logins: 6,
    });
    const unusual = rows.find((r) => r.kind === 'unusual_hours')?.details as unknown as {
      usual_hours_utc: number[];
      history_days: number;
      history_entries: number;
    };
    expect(unusual).toMatchObject({
      usual_hours_utc: [11, 12, 13].map((o) => new Date(thisHour + o * HOUR).getUTCHours()).sort((a, b) => a - b),
      history_entries: 60,
    });
    expect(unusual.history_days).toBeGreaterThanOrEqual(5); // 6 when those hours cross midnight UTC

    // Scanning again reads nothing; scanning the same entries again (cursor reset) adds no row.
    expect(await k.audit.anomalies.scanner.scanNow(afterWindows())).toMatchObject({ entries: 0, newAnomalies: 0, lastSequence: Number(lastResponse[0].s) });
    await k.dataSource.query('UPDATE audit_anomaly_cursor SET last_sequence = 0');
    expect(await k.audit.anomalies.scanner.scanNow(afterWindows())).toMatchObject({ newAnomalies: 0, updatedAnomalies: 7 });
    expect((await k.dataSource.query('SELECT count(*)::int AS n FROM audit_anomalies'))[0].n).toBe(7);
  });

  it('lists, reads and resolves anomalies through the pipeline (sudo only); the device route no longer takes "anomalies"', async () => {
    const listed = await call('GET', 'sys/audit/anomalies?list=true');
    expect(listed.status).toBe(200);
    expect(listed.json.data.keys).toHaveLength(7);
    const alice = listed.json.data.keys.find(
      (id: string) => listed.json.data.key_info[id].subject === 'alice' && listed.json.data.key_info[id].kind === 'login_bruteforce',
    );
    expect(listed.json.data.key_info[alice]).toMatchObject({
      kind: 'login_bruteforce',
      subject_type: 'user',
      subject: 'alice',
      severity: 'high',
      resolved: false,
    });
    expect((await call('GET', 'sys/audit/anomalies?list=true&kind=login_bruteforce')).json.data.keys).toHaveLength(2);
    expect((await call('GET', 'sys/audit/anomalies?list=true&severity=low')).json.data.keys).toHaveLength(1);
    const badFilter = await call('GET', 'sys/audit/anomalies?list=true&severity=urgent');
    expect(badFilter.status).toBe(400);
    expect(badFilter.json.errors[0]).toMatch(/severity/);

    const read = await call('GET', `sys/audit/anomalies/${alice}`);
    expect(read.status).toBe(200);
    expect(read.json.data).toMatchObject({
      id: alice,
      kind: 'login_bruteforce',
      subject: 'alice',
      observed: 5,
      threshold: 5,
      resolved: false,
      resolved_by: null,
    });
    expect(read.json.data.first_sequence).toBeLessThanOrEqual(read.json.data.last_sequence);

    const resolved = await call('PUT', `sys/audit/anomalies/${alice}`, { resolved: true, note: 'pen test' });
    expect(resolved.status).toBe(200);
    expect(resolved.json.data).toMatchObject({
      resolved: true,
      resolved_by: 'root',
      resolved_by_accessor: expect.stringMatching(/^hmac-sha256:/),
      resolution_note: 'pen test',
    });
    const again = await call('PUT', `sys/audit/anomalies/${alice}`, { resolved: true, note: 'other' });
    expect(again.json.data).toEqual(resolved.json.data); // idempotent: the first resolution stands
    expect((await call('GET', 'sys/audit/anomalies?list=true&resolved=false')).json.data.keys).toHaveLength(6);
    expect((await call('GET', 'sys/audit/anomalies?list=true&resolved=true')).json.data.keys).toEqual([alice]);

    for (const [method, url, body, status, message] of [
      ['PUT', `sys/audit/anomalies/${alice}`, { resolved: false }, 400, /not reopened/],
      ['PUT', `sys/audit/anomalies/${alice}`, {}, 400, /resolved/],
      ['GET', 'sys/audit/anomalies/not-a-uuid', undefined, 400, /UUID/],
      ['GET', `sys/audit/anomalies/${randomUUID()}`, undefined, 404, undefined],
      ['PUT', `sys/audit/anomalies/${randomUUID()}`, { resolved: true }, 404, undefined],
      ['PUT', 'sys/audit/anomalies', { type: 'file', options: { file_path: 'x.log' } }, 400, /reserved/],
      ['PUT', 'sys/audit/anomalies/x/y', { type: 'file', options: { file_path: 'x.log' } }, 400, /reserved/],
    ] as [string, string, unknown, number, RegExp | undefined][]) {
      const res = await call(method, url, body);
      expect([url, res.status]).toEqual([url, status]);
      if (message) expect(res.json.errors[0]).toMatch(message);
    }
    // A resolve is not a device enable (the device route would take {type: "file"} at anomalies/<id>).
    expect((await call('PUT', `sys/audit/anomalies/${alice}`, { type: 'file', resolved: true })).status).toBe(200);
    expect(Object.keys((await call('GET', 'sys/audit')).json.data)).toEqual(['chain/']);

    const scan = await call('PUT', 'sys/audit/anomalies/scan');
    expect(scan.status).toBe(200);
    expect(scan.json.data).toMatchObject({ scanned: true, new_anomalies: 0 });

    const limited = (await call('PUT', 'auth/token/create', { policies: ['reader'] })).json.auth.client_token as string;
    secrets.push(limited);
    for (const [method, url, body] of [
      ['GET', 'sys/audit/anomalies?list=true'],
      ['GET', `sys/audit/anomalies/${alice}`],
      ['PUT', `sys/audit/anomalies/${alice}`, { resolved: true }],
      ['PUT', 'sys/audit/anomalies/scan'],
    ] as [string, string, unknown][]) {
      expect([url, (await call(method, url, body, limited)).status]).toEqual([url, 403]);
    }
  });

  it('sys/metrics counts anomalies by kind, severity and resolution, and the scan cursor; JSON and Prometheus text', async () => {
    const res = await call('GET', 'sys/metrics');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ Counters: [], Samples: [] });
    const gauges = res.json.Gauges as { Name: string; Value: number; Labels: Record<string, string> }[];
    const counted: Row[] = await k.dataSource.query('SELECT kind, severity, resolved::text, count(*)::int AS n FROM audit_anomalies GROUP BY 1, 2, 3');
    const anomalyGauges = gauges.filter((g) => g.Name === 'secrethub_audit_anomalies');
    expect(anomalyGauges.reduce((sum, g) => sum + g.Value, 0)).toBe(7);
    for (const c of counted)
      expect(anomalyGauges).toContainEqual({
        Name: 'secrethub_audit_anomalies',
        Value: c.n,
        Labels: { kind: c.kind, severity: c.severity, resolved: c.resolved },
      });
    expect(anomalyGauges).toContainEqual({
      Name: 'secrethub_audit_anomalies',
      Value: 1,
      Labels: { kind: 'login_bruteforce', severity: 'high', resolved: 'true' },
    });
    expect(gauges.find((g) => g.Name === 'secrethub_audit_anomaly_scan_last_sequence')?.Value).toBe(await k.audit.anomalies.repository.cursor());

    const prometheus = await call('GET', 'sys/metrics?format=prometheus');
    expect(prometheus.status).toBe(200);
    expect(prometheus.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = prometheus.body as string;
    expect(text).toContain('# TYPE secrethub_audit_anomalies gauge\n');
    expect(text).toContain('secrethub_audit_anomalies{kind="login_bruteforce",severity="high",resolved="true"} 1\n');
    expect(text).toContain(`secrethub_audit_anomaly_scan_last_sequence ${await k.audit.anomalies.repository.cursor()}\n`);
    expect((await call('GET', 'sys/metrics?format=xml')).status).toBe(400);
    const limited = (await call('PUT', 'auth/token/create', { policies: ['default'] })).json.auth.client_token as string;
    expect((await call('GET', 'sys/metrics', undefined, limited)).status).toBe(403);
  });

  it('in the background: a failed run logs one line and the next interval retries', async () => {
    const errors: string[] = [];
    const scanner = new AnomalyScanner(
      k.audit.anomalies.repository,
      k.audit.addressKeys,
      { ...anomalies, enabled: true, intervalSeconds: 1 },
      { info: () => undefined, error: (m) => errors.push(m) },
      k.lease,
    );
    const scannedAt = async () => ((await k.dataSource.query('SELECT scanned_at FROM audit_anomaly_cursor'))[0].scanned_at as Date).getTime();
    const before = await scannedAt();
    await k.dataSource.query('ALTER TABLE audit_anomaly_cursor RENAME TO audit_anomaly_cursor_away');
    scanner.start();
    try {
      while (errors.length === 0) await new Promise((r) => setTimeout(r, 100));
      await k.dataSource.query('ALTER TABLE audit_anomaly_cursor_away RENAME TO audit_anomaly_cursor');
      while ((await scannedAt()) === before) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await scanner.stop();
    }
    expect(errors[0]).toBe('audit anomalies: scan failed, retrying in 1s: relation "audit_anomaly_cursor" does not exist');
  });

  it('stores and answers no clear source address, token or accessor', async () => {
    const stored = JSON.stringify([
      ...(await k.dataSource.query('SELECT row_to_json(a) AS r FROM audit_anomalies a')),
      ...(await k.dataSource.query('SELECT row_to_json(a) AS r FROM audit_anomaly_activity a')),
    ]);
    const listed = await call('GET', 'sys/audit/anomalies?list=true');
    const answers = [
      JSON.stringify(listed.json),
      ...(await Promise.all((listed.json.data.keys as string[]).map(async (id) => JSON.stringify((await call('GET', `sys/audit/anomalies/${id}`)).json)))),
    ];
    answers.push(JSON.stringify((await call('GET', 'sys/metrics')).json));
    for (const text of [stored, ...answers]) {
      for (const clear of ['192.0.2.10', '198.51.100.', '203.0.113.7', 'role-id-0001', 'secret-id-value', ...secrets]) expect(text).not.toContain(clear);
    }
  });
});

describe('audit anomalies from refused logins on real userpass and AppRole mounts (medium)', () => {
  let k: TestKernel | undefined;
  afterAll(async () => {
    jest.useRealTimers();
    await k?.close();
  });

  it('PUT sys/audit/anomalies/scan flags brute force on the user of refused userpass logins and on the role of refused AppRole logins, whitespace variants of its role_id included', async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel({ databaseDevice: true, audit: { anomalies } }));
    expect((await call('POST', 'sys/auth/userpass', { type: 'userpass' })).status).toBe(204);
    expect((await call('POST', 'auth/userpass/users/alice', { password: 'right-password' })).status).toBe(204);
    expect((await call('POST', 'sys/auth/approle', { type: 'approle' })).status).toBe(204);
    expect((await call('POST', 'auth/approle/role/deploy', { token_policies: 'default' })).status).toBe(204);
    expect((await call('POST', 'auth/approle/role/deploy/role-id', { role_id: 'deploy-role-id' })).status).toBe(204);
    const secretId = (await call('POST', 'auth/approle/role/deploy/secret-id')).json.data.secret_id as string;

    // Without a token, as clients log in: one success each, then five refusals (Vault's answers).
    expect((await call('POST', 'auth/userpass/login/alice', { password: 'right-password' }, '')).status).toBe(200);
    expect((await call('POST', 'auth/approle/login', { role_id: 'deploy-role-id', secret_id: secretId }, '')).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const wrongPassword = await call('POST', 'auth/userpass/login/alice', { password: `guess-${i}` }, '');
      expect([wrongPassword.status, wrongPassword.json]).toEqual([400, { errors: ['invalid username or password'] }]);
      // Whitespace variants of the role_id (the login trims it) are one subject, not five below the threshold.
      const wrongSecretId = await call(
        'POST',
        'auth/approle/login',
        { role_id: `${' '.repeat(i)}deploy-role-id${'\t'.repeat(i % 2)}`, secret_id: `guess-${i}` },
        '',
      );
      expect([wrongSecretId.status, wrongSecretId.json]).toEqual([400, { errors: ['invalid role or secret ID'] }]);
    }
    const roleIdHash = (await call('PUT', 'sys/audit-hash/chain', { input: 'deploy-role-id' })).json.hash as string;

    // The scan takes only windows that closed (30 s after their end): the clock moves past this one rather than the test waiting a day.
    jest.useFakeTimers({
      now: afterWindows(),
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
    const scan = await call('PUT', 'sys/audit/anomalies/scan');
    jest.useRealTimers();
    expect(scan.status).toBe(200);
    expect(scan.json.data).toMatchObject({ scanned: true, new_anomalies: 2 });

    const listed = (await call('GET', 'sys/audit/anomalies?list=true')).json.data;
    const found = (listed.keys as string[])
      .map((id) => listed.key_info[id])
      .map(({ kind, subject_type, subject, severity }) => ({ kind, subject_type, subject, severity }));
    expect(found.sort((a, b) => a.subject_type.localeCompare(b.subject_type))).toEqual([
      { kind: 'login_bruteforce', subject_type: 'approle_role', subject: roleIdHash, severity: 'high' },
      { kind: 'login_bruteforce', subject_type: 'user', subject: 'alice', severity: 'high' },
    ]);
    for (const id of listed.keys as string[])
      expect((await call('GET', `sys/audit/anomalies/${id}`)).json.data).toMatchObject({ observed: 5, threshold: 5, details: { failed_logins: 5 } });
  });
});
