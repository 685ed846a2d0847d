/**
 * The scenarios, as data: adding one is adding one entry to SCENARIOS. Each entry says what one
 * request does, prepares SecretHub (through its API, as root) and returns the requests autocannon
 * sends to SecretHub and, where there is one, to the floor (bench/floor/server.ts). With audit on
 * (bench/run.ts), every SecretHub server has a `database` audit device and the floor INSERTs one
 * audit row per request, in every scenario.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { cfsslInstalled, cfsslNewCertBody, startCfssl } from './lib/cfssl';
import type autocannon from 'autocannon';
import { once, policyToken, tokenHeader } from './lib/fixtures';
import { inParallel, type VaultApi } from './lib/http';
import type { LoadPlan } from './lib/load';
import { auditSequence, query } from './lib/postgres';
import { entryTemplates, measureWriter } from './lib/audit-writer';
import { checkCreds, cleanUp, credsCyclePlan, DB_CREDS_MOUNT, DB_CREDS_ROLE, measureTargetCosts, setUpDatabaseMount } from './lib/db-creds';
import { createDataSource } from '../src/database/data-source';
import { kvReadVersionSql } from '../src/engines/kv/kv-v2.repository';
import { ALL_ENTITIES } from '../src/entities';
import { TRANSIT_SCENARIOS } from './transit-scenarios';

export interface Check {
  name: string;
  target: string;
  value: string;
  pass: boolean;
}

export interface BenchContext {
  api: VaultApi;
  /** SecretHub's own database. */
  serverDbUrl: string;
  /** The second SecretHub server and its database, grown to 100k secrets (cost-growth scenarios). */
  large?: { api: VaultApi; serverDbUrl: string };
  floorUrl: string;
  floorToken: string;
  /** Whether the SecretHub servers have a `database` audit device enabled (and the floor audits). */
  audit: boolean;
  /** A database of its own for the audit chain writer measured without a server (audit-append). */
  auditDbUrl: string;
  /** db-creds: the database the `database` engine (and the floor) create users from, as the bench's admin user. */
  targetUrl: string;
  /** Set-up shared between scenarios (tokens, secrets), made once. */
  fixtures: Map<string, Promise<unknown>>;
}

export interface ScenarioSetup {
  /** Against the first SecretHub server, or the second (100k secrets) for a `growthOf` scenario. */
  secrethub: LoadPlan;
  floor?: LoadPlan;
  /** Another server measured in the floor's place (the pki scenarios' cfssl), named in the notes. */
  comparison?: { name: string; baseUrl: string; pid: number; plan: LoadPlan };
  /** A `growthOf` scenario: the plan of the scenario it grows from, against the first server. */
  baseline?: LoadPlan;
  /** Returns an error message when a probe response (status 2xx) has the wrong shape. */
  checkBody?: (body: Record<string, unknown>) => string | undefined;
  notes?: string[];
  checks?: Check[];
  details?: Record<string, unknown>;
  /** Runs after the measured rounds, with no load running: further figures for the notes, checks and JSON details. */
  after?: () => Promise<{ notes?: string[]; checks?: Check[]; details?: Record<string, unknown> }>;
}

export interface Scenario {
  name: string;
  description: string;
  connections: number;
  /** The node:crypto primitive whose one-core rate bounds this scenario (lib/crypto-limit.ts). */
  primitive?: string;
  /** Items (primitive operations) one request carries, e.g. a batch's; the crypto-limit ratio counts items. Default 1. */
  itemsPerRequest?: number;
  /** Target: SecretHub req/s ÷ floor req/s at least this. */
  minFloorRatio?: number;
  /** Target: p99 latency under this many ms (the issues set it for kv-read only). */
  maxP99Ms?: number;
  /** Target: audit entries committed on SecretHub's chain per second of the measured run, at least this. */
  minAuditEntriesPerSecond?: number;
  /** One operation of the scenario is this many requests in sequence on a connection (printed as operations/s besides req/s). */
  operation?: { name: string; requests: number };
  /** Cost growth: req/s on the 100k-secret server within `tolerance` of `scenario` on the first server, measured in alternation. */
  growthOf?: { scenario: string; tolerance: number };
  setup(ctx: BenchContext): Promise<ScenarioSetup>;
}

/** The KV v2 `data` of every secret: JSON of exactly 1 KiB. */
export const VALUE: Record<string, string> = {
  value: randomBytes(1024)
    .toString('base64url')
    .slice(0, 1024 - '{"value":""}'.length),
};
export const READ_PATHS = Array.from({ length: 100 }, (_, i) => `bench/read-${String(i).padStart(3, '0')}`);
const WRITE_KEYS = 1000;
const USERPASS_PASSWORD = randomBytes(18).toString('base64url');
const USERPASS_TIMING_SAMPLES = 300;
const TOTAL_SECRETS_BIG = 100_000;
/** audit-append's second figure: the chain writer alone, at these numbers of concurrent appenders, this long each. */
const WRITER_CONCURRENCY = [32, 256];
const WRITER_SECONDS = 5;
/** db-creds: sequential samples of the target's own costs (connect; create + drop), after the load. */
const TARGET_COST_SAMPLES = 50;

/** pki-issue-*: one EC P-256 root per run on `pki-bench/`, a role per key type, cfssl beside it when installed. */
async function pkiIssueSetup(ctx: BenchContext, keyType: 'ec' | 'rsa'): Promise<ScenarioSetup> {
  const mount = 'pki-bench';
  if (!ctx.fixtures.has(mount)) {
    ctx.fixtures.set(
      mount,
      (async () => {
        await ctx.api.ok('POST', `sys/mounts/${mount}`, { type: 'pki', config: { max_lease_ttl: '87600h' } });
        await ctx.api.ok('POST', `${mount}/root/generate/internal`, { common_name: 'bench root', key_type: 'ec', key_bits: 256, ttl: '8760h' });
      })(),
    );
  }
  await ctx.fixtures.get(mount);
  const bits = keyType === 'ec' ? 256 : 2048;
  await ctx.api.ok('POST', `${mount}/roles/${keyType}`, {
    allowed_domains: ['example.com'],
    allow_subdomains: true,
    key_type: keyType,
    key_bits: bits,
    ttl: '1h',
    no_store: false,
  });
  const token = await policyToken(ctx.api, `bench-pki-${keyType}`, `path "${mount}/issue/${keyType}" { capabilities = ["update"] }`);
  const body = JSON.stringify({ common_name: 'svc.example.com' });
  const setup: ScenarioSetup = {
    secrethub: {
      requests: [{ method: 'POST', path: `/v1/${mount}/issue/${keyType}`, headers: { ...tokenHeader(token), 'content-type': 'application/json' }, body }],
    },
    checkBody: (b) =>
      typeof (b.data as { certificate?: unknown } | undefined)?.certificate === 'string' || (b.result as { certificate?: unknown } | undefined)?.certificate
        ? undefined
        : `unexpected issue body: ${JSON.stringify(b).slice(0, 200)}`,
    notes: [],
  };
  if (!cfsslInstalled()) {
    setup.notes?.push('cfssl is not installed (Debian package golang-cfssl): no comparison, targets not checked');
    return setup;
  }
  const cfssl = await startCfssl();
  setup.comparison = {
    name: 'cfssl serve',
    baseUrl: cfssl.baseUrl,
    pid: cfssl.pid,
    plan: {
      requests: [
        {
          method: 'POST',
          path: '/api/v1/cfssl/newcert',
          headers: { 'content-type': 'application/json' },
          body: cfsslNewCertBody('svc.example.com', { algo: keyType === 'ec' ? 'ecdsa' : 'rsa', size: bits }),
        },
      ],
    },
  };
  setup.notes?.push(
    `the floor row is cfssl ${spawnSync('cfssl', ['version'], { encoding: 'utf8' }).stdout.split('\n')[0].trim()} (cfssl serve, /api/v1/cfssl/newcert: a new ${keyType.toUpperCase()}-${bits} key and a certificate from an EC P-256 CA, as SecretHub's pki/issue from its EC P-256 root); SecretHub stores each certificate, cfssl keeps none`,
  );
  setup.after = async () => {
    await cfssl.stop();
    return {};
  };
  return setup;
}

/** p50 / p99 / mean of a sample, in ms with 0.1 precision. */
function distribution(samples: number[]): { p50: number; p99: number; mean: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (x: number) => Math.round(x * 10) / 10;
  return { p50: round(at(0.5)), p99: round(at(0.99)), mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length), n: sorted.length };
}

/** Sequential, interleaved timings (ms) of a known user with a wrong password and of an unknown user. */
async function loginTimings(api: VaultApi, mount: string, samples: number): Promise<{ knownWrongPassword: number[]; unknownUser: number[] }> {
  const out = { knownWrongPassword: [] as number[], unknownUser: [] as number[] };
  const time = async (name: string) => {
    const start = process.hrtime.bigint();
    const r = await api.call('POST', `auth/${mount}/login/${name}`, { password: 'not-the-password' }, '');
    if (r.status !== 400) throw new Error(`userpass-login: a wrong login answered ${r.status}`);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  for (let i = 0; i < samples; i++) {
    out.knownWrongPassword.push(await time('bench-user'));
    out.unknownUser.push(await time(`nobody-${i}`));
  }
  return out;
}

/** 100 secrets of 1 KiB under secret/bench/, written through the API, and a read-only token for them. */
function readFixture(ctx: BenchContext, api = ctx.api): Promise<{ token: string }> {
  return once(ctx, `read ${api.baseUrl}`, async () => {
    const token = await policyToken(api, 'bench-read', 'path "secret/data/bench/*" { capabilities = ["read"] }');
    await inParallel(READ_PATHS, 8, (p) => api.ok('PUT', `secret/data/${p}`, { data: VALUE }));
    return { token };
  });
}

function readPlan(baseUrl: string, token: string): LoadPlan {
  // Every connection cycles through the 100 secrets (prebuilt requests: no per-request cost in the load generator).
  return { requests: READ_PATHS.map((p) => ({ method: 'GET', path: `/v1/secret/data/${p}`, headers: tokenHeader(token) })) };
}

/** A non-root token with the default policy (lookup-self only), made once. */
function lookupToken(ctx: BenchContext): Promise<string> {
  return once(ctx, 'lookup', async () => {
    const created = await ctx.api.ok('POST', 'auth/token/create', { policies: ['default'] });
    return (created.auth as { client_token: string }).client_token;
  });
}

const lookupPlan = (token: string): LoadPlan => ({ requests: [{ method: 'GET', path: '/v1/auth/token/lookup-self', headers: tokenHeader(token) }] });
const checkLookup = (b: Record<string, unknown>) =>
  Array.isArray((b.data as { policies?: unknown } | undefined)?.policies) ? undefined : `unexpected lookup-self body: ${JSON.stringify(b).slice(0, 200)}`;

function checkRead(body: Record<string, unknown>): string | undefined {
  const value = ((body.data as { data?: { value?: unknown } } | undefined)?.data ?? {}).value;
  return value === VALUE.value ? undefined : `unexpected kv-read body: ${JSON.stringify(body).slice(0, 200)}`;
}

/** Writes spread over WRITE_KEYS keys, consecutive requests (across connections) on different keys. */
function writePlan(token: string): LoadPlan {
  let n = 0;
  const body = JSON.stringify({ data: VALUE });
  const request: autocannon.Request = {
    method: 'PUT',
    path: '/v1/secret/data/bench-write/k-0000',
    headers: { ...tokenHeader(token), 'content-type': 'application/json' },
    body,
    setupRequest: (req) => ({ ...req, path: `/v1/secret/data/bench-write/k-${String(n++ % WRITE_KEYS).padStart(4, '0')}` }),
  };
  return { requests: [request] };
}

/** The KV read path's query as the server builds it from its entities. */
async function kvReadSql(url: string): Promise<string> {
  const dataSource = createDataSource(url, { entities: ALL_ENTITIES, poolSize: 1 });
  await dataSource.initialize();
  try {
    return kvReadVersionSql(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/**
 * Grows SecretHub's KV tables to `total` secrets with filler rows inserted straight into its
 * database (one version each, dummy ciphertext that is never read); then VACUUM ANALYZE and a
 * CHECKPOINT, so that neither autovacuum nor the checkpointer works through the new rows during
 * the measured run, and EXPLAIN the read path.
 */
async function seedFiller(url: string, total: number): Promise<{ filler: number; seconds: number; plan: string[] }> {
  const mount = (await query<{ uuid: string }>(url, `SELECT uuid FROM mounts WHERE path = 'secret/'`))[0];
  if (!mount) throw new Error('no mount at secret/');
  const [{ count }] = await query<{ count: string }>(url, 'SELECT count(*) AS count FROM secrets WHERE mount_uuid = $1', [mount.uuid]);
  const filler = Math.max(0, total - Number(count));
  const started = Date.now();
  await query(
    url,
    `WITH s AS (
       INSERT INTO secrets (mount_uuid, secret_path, secret_type, version, metadata)
       SELECT $1, 'filler/' || md5(i::text), 'kv-v2', 1, $2::jsonb FROM generate_series(1, $3::int) AS i
       RETURNING id)
     INSERT INTO secret_versions (secret_id, version, encrypted_data) SELECT id, 1, $4 FROM s`,
    [
      mount.uuid,
      JSON.stringify({ maxVersions: 0, casRequired: false, deleteVersionAfterSeconds: 0, customMetadata: {}, oldestVersion: 0 }),
      filler,
      randomBytes(1024 + 33),
    ],
  );
  await query(url, 'VACUUM ANALYZE secrets');
  await query(url, 'VACUUM ANALYZE secret_versions');
  // Needs superuser or pg_checkpoint; on a server where the bench user has neither, skip it.
  await query(url, 'CHECKPOINT').catch(() => undefined);
  const seconds = (Date.now() - started) / 1000;
  const rows = await query<{ 'QUERY PLAN': string }>(url, `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${await kvReadSql(url)}`, [
    mount.uuid,
    READ_PATHS[0],
    0,
  ]);
  return { filler, seconds, plan: rows.map((r) => r['QUERY PLAN']) };
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'kv-read',
    description: 'GET a 1 KiB KV v2 secret (100 stored) with a policy-limited token',
    connections: 32,
    primitive: 'aes-256-gcm-1k-decrypt',
    minFloorRatio: 0.5,
    maxP99Ms: 50,
    async setup(ctx) {
      const { token } = await readFixture(ctx);
      return { secrethub: readPlan(ctx.api.baseUrl, token), floor: readPlan(ctx.floorUrl, ctx.floorToken), checkBody: checkRead };
    },
  },
  {
    name: 'kv-read-100k',
    description: 'kv-read on a second server whose database holds 100k secrets (filler rows seeded by SQL), in alternating rounds with kv-read on the first',
    connections: 32,
    primitive: 'aes-256-gcm-1k-decrypt',
    growthOf: { scenario: 'kv-read', tolerance: 0.15 },
    async setup(ctx) {
      if (!ctx.large) throw new Error('the 100k-secret server is not running');
      const small = await readFixture(ctx);
      const { token } = await readFixture(ctx, ctx.large.api);
      const seeded = await seedFiller(ctx.large.serverDbUrl, TOTAL_SECRETS_BIG);
      const indexed = !seeded.plan.some((l) => l.includes('Seq Scan')) && seeded.plan.filter((l) => l.includes('Index')).length >= 2;
      return {
        secrethub: readPlan(ctx.large.api.baseUrl, token),
        baseline: readPlan(ctx.api.baseUrl, small.token),
        checkBody: checkRead,
        notes: [
          `seeded ${seeded.filler} filler secrets by SQL in ${seeded.seconds.toFixed(1)} s`,
          `read path (EXPLAIN ANALYZE, full plan in JSON): ${seeded.plan
            .filter((l) => l.includes('Scan') || l.includes('Join'))
            .map((l) =>
              l
                .replace('->', '')
                .replace(/\(actual.*\)/, '')
                .trim(),
            )
            .join(' > ')}`,
        ],
        checks: [
          { name: 'kv-read-100k read path is index lookups', target: 'no Seq Scan, 2 index scans', value: indexed ? 'index scans' : 'see plan', pass: indexed },
        ],
        details: { fillerSecrets: seeded.filler, seedSeconds: seeded.seconds, readPathPlan: seeded.plan },
      };
    },
  },
  {
    name: 'kv-write',
    description: `PUT a new version of a 1 KiB secret (spread over ${WRITE_KEYS} keys)`,
    connections: 32,
    primitive: 'aes-256-gcm-1k-encrypt',
    async setup(ctx) {
      const token = await once(ctx, 'write', () =>
        policyToken(ctx.api, 'bench-write', 'path "secret/data/bench-write/*" { capabilities = ["create", "update"] }'),
      );
      return {
        secrethub: writePlan(token),
        floor: writePlan(ctx.floorToken),
        checkBody: (b) =>
          typeof (b.data as { version?: unknown } | undefined)?.version === 'number'
            ? undefined
            : `unexpected kv-write body: ${JSON.stringify(b).slice(0, 200)}`,
      };
    },
  },
  {
    name: 'token-lookup',
    description: 'GET auth/token/lookup-self with a non-root token',
    connections: 32,
    primitive: 'hmac-sha256-token',
    async setup(ctx) {
      return { secrethub: lookupPlan(await lookupToken(ctx)), floor: lookupPlan(ctx.floorToken), checkBody: checkLookup };
    },
  },
  {
    name: 'audit-append',
    description:
      'audit entries committed per second on the database device: GET auth/token/lookup-self with a non-root token (served from the token cache, so the audit writer is the work), 2 entries per request',
    connections: 32,
    minAuditEntriesPerSecond: 5000,
    async setup(ctx) {
      if (!ctx.audit) throw new Error('audit-append needs the database audit device (not with BENCH_AUDIT=0)');
      const start = await auditSequence(ctx.serverDbUrl);
      return {
        secrethub: lookupPlan(await lookupToken(ctx)),
        checkBody: checkLookup,
        async after() {
          // Every row is one entry: the head's sequence (what the rounds counted) equals the row count.
          const [{ rows, head }] = await query<{ rows: string; head: string }>(
            ctx.serverDbUrl,
            'SELECT (SELECT count(*) FROM audit_logs) AS rows, (SELECT sequence_number FROM audit_chain_head WHERE id = 1) AS head',
          );
          // This scenario's entries (warm-up included): rows committed by one transaction share its
          // xmin, so entries per distinct xmin is the mean group-commit batch.
          const [run] = await query<{ entries: string; batches: string; entry_bytes: string; row_bytes: string }>(
            ctx.serverDbUrl,
            `SELECT count(*) AS entries, count(DISTINCT xmin::text) AS batches, round(avg(octet_length(entry_bytes))) AS entry_bytes, round(avg(pg_column_size(a.*))) AS row_bytes
               FROM audit_logs a WHERE sequence_number > $1`,
            [start],
          );
          const writer = await measureWriter(ctx.auditDbUrl, await entryTemplates(ctx.serverDbUrl), WRITER_CONCURRENCY, WRITER_SECONDS);
          const fmt = (n: number) => n.toLocaleString('en-US');
          return {
            notes: [
              `audit_logs holds ${fmt(Number(rows))} rows, the chain head is at sequence ${fmt(Number(head))}`,
              `this scenario over HTTP (warm-up included): ${fmt(Number(run.entries))} entries in ${fmt(Number(run.batches))} transactions (${(Number(run.entries) / Math.max(1, Number(run.batches))).toFixed(1)} entries per group commit); entry ${fmt(Number(run.entry_bytes))} bytes canonical JSON, row ${fmt(Number(run.row_bytes))} bytes stored (bytea + jsonb + columns)`,
              ...writer.map(
                (w) =>
                  `writer alone (AuditChainWriter.append in the runner, ${w.concurrency} concurrent appenders, ${w.seconds} s): ${fmt(w.entriesPerSecond)} entries/s; ` +
                  `${fmt(w.batches)} appends of ${w.entriesPerBatch} entries, ${w.appendMsMean} ms each, in flight ${Math.round(w.appendBusy * 100)}% of the time; ` +
                  `${w.checkpoints} checkpoints (${w.checkpointMs} ms); CPU per entry: writer ${w.writerCpuMsPerEntry} ms, PostgreSQL ${w.dbCpuMsPerEntry ?? '-'} ms; WAL ${fmt(w.walBytesPerEntry)} bytes per entry`,
              ),
            ],
            checks: [
              {
                name: 'audit-append rows = chain head sequence',
                target: 'equal',
                value: `${fmt(Number(rows))} rows, head ${fmt(Number(head))}`,
                pass: rows === head,
              },
            ],
            details: {
              auditLogRows: Number(rows),
              chainHeadSequence: Number(head),
              http: {
                entries: Number(run.entries),
                transactions: Number(run.batches),
                entryBytesMean: Number(run.entry_bytes),
                rowBytesMean: Number(run.row_bytes),
              },
              writerAlone: writer,
            },
          };
        },
      };
    },
  },
  {
    name: 'userpass-login',
    description:
      'POST auth/userpass-bench/login/bench-user with the right password (argon2id m=19 MiB, t=2, p=1); afterwards, timing distributions of wrong logins: known user vs unknown user (no target)',
    connections: 8,
    async setup(ctx) {
      const mount = 'userpass-bench';
      await ctx.api.ok('POST', `sys/auth/${mount}`, { type: 'userpass' });
      // Counters stay on (both paths run them) but never lock during the measurement.
      await ctx.api.ok('POST', `sys/auth/${mount}/tune`, { user_lockout_config: { lockout_threshold: 1_000_000 } });
      await ctx.api.ok('POST', `auth/${mount}/users/bench-user`, { password: USERPASS_PASSWORD, token_policies: 'default' });
      const body = JSON.stringify({ password: USERPASS_PASSWORD });
      return {
        secrethub: { requests: [{ method: 'POST', path: `/v1/auth/${mount}/login/bench-user`, headers: { 'content-type': 'application/json' }, body }] },
        async after() {
          const t = await loginTimings(ctx.api, mount, USERPASS_TIMING_SAMPLES);
          const known = distribution(t.knownWrongPassword);
          const unknown = distribution(t.unknownUser);
          return {
            notes: [
              `wrong logins, sequential and interleaved, ${known.n} each: known user p50 ${known.p50} ms, p99 ${known.p99} ms, mean ${known.mean} ms; unknown user p50 ${unknown.p50} ms, p99 ${unknown.p99} ms, mean ${unknown.mean} ms`,
            ],
            details: { knownUserWrongPassword: known, unknownUser: unknown },
          };
        },
      };
    },
  },
  {
    name: 'db-creds',
    description: `database engine: GET ${DB_CREDS_MOUNT}/creds/${DB_CREDS_ROLE} (a new PostgreSQL user under a lease) then PUT sys/leases/revoke of that lease (the user dropped), in sequence on each connection; the target is the bench's PostgreSQL`,
    connections: 8,
    operation: { name: 'create+revoke cycles', requests: 2 },
    async setup(ctx) {
      await setUpDatabaseMount(ctx.api, ctx.targetUrl);
      const token = await policyToken(
        ctx.api,
        'bench-db-creds',
        `path "${DB_CREDS_MOUNT}/creds/${DB_CREDS_ROLE}" { capabilities = ["read"] }\npath "sys/leases/revoke" { capabilities = ["update"] }`,
      );
      return {
        secrethub: credsCyclePlan(token),
        floor: credsCyclePlan(ctx.floorToken),
        checkBody: checkCreds,
        notes: [
          "req/s counts both requests of a cycle; p50/p99 mix creds reads and revocations; PG CPU counts the backends of each side's own database, not the target's",
        ],
        async after() {
          const costs = await measureTargetCosts(ctx.targetUrl, TARGET_COST_SAMPLES);
          const c = await cleanUp(ctx.api, ctx.serverDbUrl, ctx.targetUrl);
          return {
            notes: [
              `target alone, sequential, ${costs.samples} each: a new authenticated connection ${costs.connectMs} ms; creation + default revocation statements on an open connection ${costs.createDropMs} ms (both sides keep pools to the target: SecretHub 4 connections per connection config, the floor 10)`,
              `SecretHub handed out ${c.leases} leases in this scenario (warm-up and probe included): ${c.revokedByRequest} revoked by the load's requests, ${c.leftLive} left live by cycles cut at a round's end, revoked by prefix afterwards; the floor left ${c.floorLeftovers} users, dropped afterwards`,
            ],
            checks: [
              {
                name: 'db-creds users left in pg_roles after the revocations',
                target: 'none',
                value: c.remaining.length ? `${c.remaining.length} (${c.remaining.slice(0, 3).join(', ')})` : 'none',
                pass: c.remaining.length === 0,
              },
            ],
            details: { targetCosts: costs, leases: c },
          };
        },
      };
    },
  },
  {
    name: 'pki-issue-ec',
    description:
      'pki engine: POST pki-bench/issue/ec (a new EC P-256 key and a certificate signed by an EC P-256 root, stored); compared with cfssl serve when installed',
    connections: 8,
    minFloorRatio: 1,
    setup: (ctx) => pkiIssueSetup(ctx, 'ec'),
  },
  {
    name: 'pki-issue-rsa',
    description:
      'pki engine: POST pki-bench/issue/rsa (a new RSA-2048 key, dominated by key generation, and a certificate signed by an EC P-256 root, stored); compared with cfssl serve when installed',
    connections: 8,
    minFloorRatio: 0.8,
    setup: (ctx) => pkiIssueSetup(ctx, 'rsa'),
  },
  ...TRANSIT_SCENARIOS,
];
