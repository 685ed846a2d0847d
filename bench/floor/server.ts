/**
 * The floor: a minimal Fastify + `pg` server that does the irreducible work of each scenario and
 * nothing else, so SecretHub ÷ floor says what our framework costs.
 *
 *   kv-read       one indexed SELECT (key row joined to its current version) + one AES-256-GCM
 *                 decrypt + a JSON reply shaped like KV v2's
 *   kv-write      one AES-256-GCM encrypt + one statement that bumps the key's version and inserts
 *                 the new version row (a single statement is its own transaction) + reply
 *   token-lookup  one indexed SELECT of the token row by SHA-256 of the token + reply
 *   transit-encrypt  POST /v1/transit/encrypt/:name: the base64 plaintext decoded, one AES-256-GCM
 *                 encrypt with a key held in memory (no key read, no AAD) + Vault's reply
 *                 `vault:v1:base64(nonce ‖ ciphertext ‖ tag)`
 *   db-creds      GET creds: the role's creation statements on the target PostgreSQL in one
 *                 transaction (the engine's rendering and escaping) + one INSERT of the lease row;
 *                 PUT sys/leases/revoke: one DELETE of the lease row + the engine's default
 *                 revocation statements in one transaction. On a Pool of 10 to the target: no
 *                 connection (and so no authentication) per operation, no barrier, no policy.
 *
 * No authentication, no policies, no routing beyond Fastify's. `pg` Pool of 10 (as SecretHub),
 * named prepared statements. Its tables live in its own database and are created at start.
 *
 * AUDIT HOOK: with `audit: true` every request also INSERTs one audit row before replying (the
 * spec's floor does): one statement, its own transaction, no chain. The runner turns it on
 * together with a `database` audit device on SecretHub (AUDIT in bench/run.ts), so both sides
 * compare like with like.
 *
 * Run by the bench runner: `node dist/bench/floor/server.js`, configured by the FLOOR_CONFIG
 * environment variable (JSON, see FloorConfig); prints "floor listening on <address>". With
 * `processes` > 1 (the runner's `--workers N`) the first process creates the tables and the
 * fixtures, then forks that many processes with node:cluster that share the listener (as
 * SecretHub's workers do), each with its own Pool of 10, and prints the line once all listen.
 */
import cluster from 'node:cluster';
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyReply } from 'fastify';
import { Pool, type PoolClient } from 'pg';
import { DEFAULT_REVOCATION } from '../../src/engines/database/postgresql-plugin';
import { expirationOf, generateUsername, renderStatement, type TemplateValues } from '../../src/engines/database/statement-template';

export interface FloorConfig {
  port: number;
  databaseUrl: string;
  /** The token lookup-self answers for (stored as its SHA-256). */
  token: string;
  /** Keys written at start (version 1), for kv-read. */
  readPaths: string[];
  /** Their value (the KV v2 `data` object). */
  value: Record<string, string>;
  /** Audit hook: one audit row INSERT per request. */
  audit: boolean;
  /**
   * db-creds: the PostgreSQL where users are created (admin URL), the role's creation statements,
   * the mount path answered (`/v1/<mount>/creds/:role`) and the prefix of the users' names.
   */
  dbCreds?: { targetUrl: string; creationStatements: string[]; ttlSeconds: number; mount: string; userPrefix: string };
  /** Serving processes sharing the port (node:cluster); absent or 1: this process serves. */
  processes?: number;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS floor_keys (path text COLLATE "C" PRIMARY KEY, version integer NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS floor_versions (
     path text COLLATE "C" NOT NULL, version integer NOT NULL, ciphertext bytea NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (path, version))`,
  `CREATE TABLE IF NOT EXISTS floor_tokens (
     token_hash bytea PRIMARY KEY, accessor text NOT NULL, policies text[] NOT NULL, display_name text NOT NULL,
     meta jsonb NULL, created_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NULL)`,
  `CREATE TABLE IF NOT EXISTS floor_audit (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), entry jsonb NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS floor_leases (lease_id text COLLATE "C" PRIMARY KEY, username text NOT NULL, expires_at timestamptz NOT NULL)`,
];

const READ_SQL = `SELECT v.version, v.ciphertext, v.created_at FROM floor_keys k
  JOIN floor_versions v ON v.path = k.path AND v.version = k.version WHERE k.path = $1`;
const WRITE_SQL = `WITH k AS (
    INSERT INTO floor_keys (path, version) VALUES ($1, 1)
    ON CONFLICT (path) DO UPDATE SET version = floor_keys.version + 1 RETURNING version)
  INSERT INTO floor_versions (path, version, ciphertext) SELECT $1, version, $2 FROM k RETURNING version, created_at`;
const TOKEN_SQL = 'SELECT accessor, policies, display_name, meta, created_at, expires_at FROM floor_tokens WHERE token_hash = $1';
const AUDIT_SQL = 'INSERT INTO floor_audit (entry) VALUES ($1)';
const LEASE_INSERT_SQL = 'INSERT INTO floor_leases (lease_id, username, expires_at) VALUES ($1, $2, $3)';
const LEASE_DELETE_SQL = 'DELETE FROM floor_leases WHERE lease_id = $1 RETURNING username';

const CONFIG = JSON.parse(process.env.FLOOR_CONFIG ?? '') as FloorConfig;
/** The data key, from the config: the same in every process of a floor, and in the floors of a `--workers` run (they share a database). */
const KEY = createHash('sha256').update(`bench floor data key\0${CONFIG.token}`).digest();

/** AES-256-GCM: nonce ‖ ciphertext ‖ tag; `path` is the AAD (none for transit, as Vault's). */
function encrypt(path: string | undefined, plain: Buffer): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', KEY, nonce, { authTagLength: 16 });
  if (path !== undefined) c.setAAD(Buffer.from(path));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

function decrypt(path: string, blob: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', KEY, blob.subarray(0, 12), { authTagLength: 16 });
  d.setAAD(Buffer.from(path));
  d.setAuthTag(blob.subarray(blob.length - 16));
  return Buffer.concat([d.update(blob.subarray(12, blob.length - 16)), d.final()]);
}

function envelope(data: unknown, mountType: string): string {
  return JSON.stringify({
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: mountType,
  });
}

/** As the engine's PostgreSQL plugin: the rendered statements in one transaction, all or none. */
async function inTransaction(client: PoolClient, templates: string[], values: TemplateValues): Promise<void> {
  const statements = templates.map((t) => renderStatement(t, values));
  await client.query('BEGIN');
  try {
    for (const s of statements) await client.query(s);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

function versionMetadata(version: number, createdAt: Date): Record<string, unknown> {
  return { created_time: createdAt.toISOString(), custom_metadata: null, deletion_time: '', destroyed: false, version };
}

/** The tables and what kv-read and token-lookup read, once per floor (before any process serves). */
async function setUp(pool: Pool, config: FloorConfig): Promise<void> {
  for (const sql of SCHEMA) await pool.query(sql);
  const plain = Buffer.from(JSON.stringify(config.value));
  for (const path of config.readPaths) await pool.query({ name: 'kv-write', text: WRITE_SQL, values: [path, encrypt(path, plain)] });
  const tokenHash = createHash('sha256').update(config.token).digest();
  await pool.query('INSERT INTO floor_tokens (token_hash, accessor, policies, display_name) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
    tokenHash,
    randomBytes(12).toString('base64url'),
    ['default', 'bench-read'],
    'token',
  ]);
}

/** N serving processes on one port: the fixtures first, then the forks; stops them all on SIGTERM. */
async function runProcesses(config: FloorConfig, processes: number): Promise<void> {
  const pool = new Pool({ connectionString: config.databaseUrl, max: 1, application_name: 'bench-floor-setup' });
  await setUp(pool, config);
  await pool.end();
  let listening = 0;
  let stopping = false;
  for (let i = 0; i < processes; i++) {
    const worker = cluster.fork();
    worker.on('listening', () => {
      if (++listening === processes)
        process.stdout.write(`floor listening on http://127.0.0.1:${config.port} (${processes} processes)${config.audit ? ' (audit on)' : ' (audit off)'}\n`);
    });
    worker.on('exit', (code) => {
      if (stopping) return;
      process.stderr.write(`floor: a process exited with ${code}\n`);
      process.exit(1);
    });
  }
  const stop = () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    let left = workers.length;
    for (const w of workers) {
      w?.once('exit', () => --left === 0 && process.exit(0));
      w?.process.kill('SIGTERM');
    }
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function main(): Promise<void> {
  const config = CONFIG;
  const processes = config.processes ?? 1;
  if (cluster.isPrimary && processes > 1) return runProcesses(config, processes);
  const pool = new Pool({ connectionString: config.databaseUrl, max: 10, application_name: 'bench-floor' });
  if (cluster.isPrimary) await setUp(pool, config);

  const audit = async (op: string, path: string) => {
    // AUDIT HOOK (on while the runner's AUDIT is): the spec's floor writes one audit row per request.
    if (config.audit) await pool.query({ name: 'audit', text: AUDIT_SQL, values: [JSON.stringify({ time: new Date().toISOString(), op, path })] });
  };
  const json = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).header('content-type', 'application/json').header('cache-control', 'no-store').send(body);

  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });

  app.get('/v1/secret/data/*', async (req, reply) => {
    const path = (req.params as { '*': string })['*'];
    const rows = (await pool.query<{ version: number; ciphertext: Buffer; created_at: Date }>({ name: 'kv-read', text: READ_SQL, values: [path] })).rows;
    const row = rows[0];
    if (!row) return json(reply, 404, '{"errors":[]}');
    const data = JSON.parse(decrypt(path, row.ciphertext).toString('utf8')) as Record<string, unknown>;
    await audit('read', path);
    return json(reply, 200, envelope({ data, metadata: versionMetadata(row.version, row.created_at) }, 'kv'));
  });

  const write = async (req: { params: unknown; body: unknown }, reply: FastifyReply) => {
    const path = (req.params as { '*': string })['*'];
    const data = (req.body as { data?: unknown } | undefined)?.data;
    if (!data || typeof data !== 'object') return json(reply, 400, '{"errors":["no data provided"]}');
    const ciphertext = encrypt(path, Buffer.from(JSON.stringify(data), 'utf8'));
    const row = (await pool.query<{ version: number; created_at: Date }>({ name: 'kv-write', text: WRITE_SQL, values: [path, ciphertext] })).rows[0] as {
      version: number;
      created_at: Date;
    };
    await audit('update', path);
    return json(reply, 200, envelope(versionMetadata(row.version, row.created_at), 'kv'));
  };
  app.put('/v1/secret/data/*', write);
  app.post('/v1/secret/data/*', write);

  app.get('/v1/auth/token/lookup-self', async (req, reply) => {
    const token = req.headers['x-vault-token'];
    if (typeof token !== 'string') return json(reply, 403, '{"errors":["permission denied"]}');
    const hash = createHash('sha256').update(token).digest();
    type TokenRow = {
      accessor: string;
      policies: string[];
      display_name: string;
      meta: Record<string, string> | null;
      created_at: Date;
      expires_at: Date | null;
    };
    const row = (await pool.query<TokenRow>({ name: 'token', text: TOKEN_SQL, values: [hash] })).rows[0];
    if (!row) return json(reply, 403, '{"errors":["permission denied"]}');
    await audit('read', 'auth/token/lookup-self');
    const created = Math.floor(row.created_at.getTime() / 1000);
    const ttl = row.expires_at ? Math.max(0, Math.round((row.expires_at.getTime() - Date.now()) / 1000)) : 0;
    return json(
      reply,
      200,
      envelope(
        {
          accessor: row.accessor,
          creation_time: created,
          creation_ttl: ttl,
          display_name: row.display_name,
          entity_id: '',
          expire_time: row.expires_at?.toISOString() ?? null,
          explicit_max_ttl: 0,
          id: token,
          issue_time: row.created_at.toISOString(),
          meta: row.meta,
          num_uses: 0,
          orphan: false,
          path: 'auth/token/create',
          policies: row.policies,
          renewable: true,
          ttl,
          type: 'service',
        },
        'token',
      ),
    );
  });

  app.post('/v1/transit/encrypt/:name', async (req, reply) => {
    const plaintext = (req.body as { plaintext?: unknown } | undefined)?.plaintext;
    if (typeof plaintext !== 'string') return json(reply, 400, '{"errors":["missing plaintext to encrypt"]}');
    const ciphertext = `vault:v1:${encrypt(undefined, Buffer.from(plaintext, 'base64')).toString('base64')}`;
    await audit('update', `transit/encrypt/${(req.params as { name: string }).name}`);
    return json(reply, 200, envelope({ ciphertext, key_version: 1 }, 'transit'));
  });

  const target = config.dbCreds && new Pool({ connectionString: config.dbCreds.targetUrl, max: 10, application_name: 'bench-floor-target' });
  if (config.dbCreds && target) {
    const { creationStatements, ttlSeconds, mount, userPrefix } = config.dbCreds;
    const onTarget = async (templates: string[], values: TemplateValues) => {
      const client = await target.connect();
      try {
        await inTransaction(client, templates, values);
      } finally {
        client.release();
      }
    };
    app.get(`/v1/${mount}/creds/:role`, async (req, reply) => {
      const role = (req.params as { role: string }).role;
      // generateUsername gives `v-<role>-<random>`: the same name with the floor's prefix instead of `v-`.
      const name = `${userPrefix}${generateUsername(role, 63, 'f100').slice(2)}`;
      const password = `${randomBytes(24).toString('base64url').replace(/_/g, '0')}-A1a`;
      const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
      await onTarget(creationStatements, { name, password, expiration: expirationOf(expiresAt) });
      const leaseId = `${mount}/creds/${role}/${randomUUID()}`;
      await pool.query({ name: 'lease-insert', text: LEASE_INSERT_SQL, values: [leaseId, name, expiresAt] });
      await audit('read', `${mount}/creds/${role}`);
      return json(
        reply,
        200,
        JSON.stringify({
          request_id: randomUUID(),
          lease_id: leaseId,
          renewable: true,
          lease_duration: ttlSeconds,
          data: { username: name, password },
          wrap_info: null,
          warnings: null,
          auth: null,
          mount_type: 'database',
        }),
      );
    });
    app.put('/v1/sys/leases/revoke', async (req, reply) => {
      const leaseId = (req.body as { lease_id?: unknown } | undefined)?.lease_id;
      if (typeof leaseId !== 'string') return json(reply, 400, '{"errors":["missing lease_id"]}');
      const row = (await pool.query<{ username: string }>({ name: 'lease-delete', text: LEASE_DELETE_SQL, values: [leaseId] })).rows[0];
      // Idempotent as SecretHub's: an unknown lease is already revoked.
      if (row) await onTarget(DEFAULT_REVOCATION, { name: row.username });
      await audit('update', 'sys/leases/revoke');
      return reply.code(204).send();
    });
  }

  const address = await app.listen({ port: config.port, host: '127.0.0.1' });
  if (cluster.isPrimary) process.stdout.write(`floor listening on ${address}${config.audit ? ' (audit on)' : ' (audit off)'}\n`);
  const stop = () => {
    app.close().then(
      () => Promise.all([pool.end(), target?.end()]).then(() => process.exit(0)),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`floor: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
