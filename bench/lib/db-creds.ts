/**
 * db-creds: dynamic PostgreSQL users from the `database` engine, each created and revoked again.
 *
 * One cycle on one autocannon connection is two requests: `GET <mount>/creds/<role>`, whose
 * lease_id the connection keeps (onResponse), then `PUT sys/leases/revoke` of that lease. Both
 * SecretHub and the floor create the user with the same creation statement and drop it with the
 * engine's default revocation statements, on the bench's own PostgreSQL (the target database of
 * BenchDatabases). A cycle cut off by the end of a round leaves one live lease (SecretHub) or
 * user (floor) behind per connection: `cleanUp` revokes and drops those after the load and says
 * whether any user is left.
 */
import type autocannon from 'autocannon';
import { Client } from 'pg';
import { DEFAULT_REVOCATION } from '../../src/engines/database/postgresql-plugin';
import { expirationOf, renderStatement } from '../../src/engines/database/statement-template';
import type { VaultApi } from './http';
import type { LoadPlan } from './load';
import { query } from './postgres';

export const DB_CREDS_MOUNT = 'database-bench';
export const DB_CREDS_ROLE = 'bench';
export const DB_CREDS_TTL_SECONDS = 3600;
/** The floor's users start with this (SecretHub's with `v-`), so leftovers can be told apart. */
export const FLOOR_USER_PREFIX = 'f-';
/** No GRANT: PUBLIC may connect, and concurrent GRANTs on one database fail in PostgreSQL ("tuple concurrently updated"). */
export const DB_CREDS_CREATION = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`];
/** SecretHub's users for the role `bench` (generateUsername: `v-<role>-<random>`). */
const SECRETHUB_USERS = `v-${DB_CREDS_ROLE}-%`;
const FLOOR_USERS = `${FLOOR_USER_PREFIX}${DB_CREDS_ROLE}-%`;

/** Configures the mount (connection as the bench's admin user, verified) and the role through the API. */
export async function setUpDatabaseMount(api: VaultApi, targetUrl: string): Promise<void> {
  const t = new URL(targetUrl);
  await api.ok('POST', `sys/mounts/${DB_CREDS_MOUNT}`, { type: 'database' });
  await api.ok('PUT', `${DB_CREDS_MOUNT}/config/target`, {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@${t.host}${t.pathname}`,
    username: decodeURIComponent(t.username),
    password: decodeURIComponent(t.password),
    allowed_roles: [DB_CREDS_ROLE],
  });
  await api.ok('PUT', `${DB_CREDS_MOUNT}/roles/${DB_CREDS_ROLE}`, {
    db_name: 'target',
    creation_statements: DB_CREDS_CREATION,
    default_ttl: DB_CREDS_TTL_SECONDS,
    max_ttl: DB_CREDS_TTL_SECONDS,
  });
}

/** The creds-then-revoke cycle; a connection whose creds read failed skips its revoke (the failure is counted already). */
export function credsCyclePlan(token: string): LoadPlan {
  const headers = { 'x-vault-token': token };
  const creds: autocannon.Request = {
    method: 'GET',
    path: `/v1/${DB_CREDS_MOUNT}/creds/${DB_CREDS_ROLE}`,
    headers,
    onResponse: (status, body, context) => {
      context.leaseId = undefined;
      if (status !== 200) return;
      try {
        context.leaseId = (JSON.parse(body) as { lease_id?: string }).lease_id;
      } catch {
        /* not JSON: no lease to revoke */
      }
    },
  };
  const revoke: autocannon.Request = {
    method: 'PUT',
    path: '/v1/sys/leases/revoke',
    headers: { ...headers, 'content-type': 'application/json' },
    setupRequest: (req, context) =>
      typeof context.leaseId === 'string' && context.leaseId ? { ...req, body: JSON.stringify({ lease_id: context.leaseId }) } : undefined,
  };
  return { requests: [creds, revoke] };
}

export function checkCreds(body: Record<string, unknown>): string | undefined {
  const data = body.data as { username?: unknown; password?: unknown } | undefined;
  const ok =
    typeof body.lease_id === 'string' &&
    body.lease_id.startsWith(`${DB_CREDS_MOUNT}/creds/${DB_CREDS_ROLE}/`) &&
    typeof data?.username === 'string' &&
    typeof data.password === 'string';
  return ok
    ? undefined
    : `unexpected creds body: ${JSON.stringify({ ...body, data: { username: data?.username, password: data?.password ? '…' : data?.password } }).slice(0, 300)}`;
}

async function usersLike(targetUrl: string, pattern: string): Promise<string[]> {
  return (await query<{ rolname: string }>(targetUrl, 'SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [pattern])).map((r) => r.rolname);
}

export interface CleanUp {
  /** Leases the mount handed out in this run (warm-up, probe and measured rounds). */
  leases: number;
  /** Of those, revoked by the load's own revoke requests. */
  revokedByRequest: number;
  /** Left live by cycles cut off at the end of a round (and the probe), revoked here by prefix. */
  leftLive: number;
  floorLeftovers: number;
  /** Users of either side still in pg_roles afterwards (must be none). */
  remaining: string[];
}

/** Revokes SecretHub's live leases by prefix, drops the floor's leftover users, and lists any user still there. */
export async function cleanUp(api: VaultApi, serverDbUrl: string, targetUrl: string): Promise<CleanUp> {
  const prefix = `${DB_CREDS_MOUNT}/creds/`;
  const count = async () => {
    const [r] = await query<{ total: string; revoked: string; live: string }>(
      serverDbUrl,
      `SELECT count(*) AS total, count(*) FILTER (WHERE revoked AND revocation_reason = 'revoked') AS revoked, count(*) FILTER (WHERE NOT revoked) AS live
         FROM leases WHERE lease_id LIKE $1`,
      [`${prefix}%`],
    );
    return { total: Number(r.total), revoked: Number(r.revoked), live: Number(r.live) };
  };
  const before = await count();
  await api.ok('PUT', `sys/leases/revoke-prefix/${prefix}`, {});
  const floorUsers = await usersLike(targetUrl, FLOOR_USERS);
  const admin = new Client({ connectionString: targetUrl });
  await admin.connect();
  try {
    for (const name of floorUsers) for (const s of DEFAULT_REVOCATION) await admin.query(renderStatement(s, { name }));
  } finally {
    await admin.end();
  }
  const remaining = [...(await usersLike(targetUrl, SECRETHUB_USERS)), ...(await usersLike(targetUrl, FLOOR_USERS))];
  return { leases: before.total, revokedByRequest: before.revoked, leftLive: before.live, floorLeftovers: floorUsers.length, remaining };
}

export interface TargetCosts {
  /** One new authenticated connection to the target, opened and closed (what the engine does per operation). */
  connectMs: number;
  /** CREATE ROLE (creation statement) and the default revocation on one open connection, no HTTP. */
  createDropMs: number;
  samples: number;
}

/** Sequential timings on the target, no load running: what a cycle costs in PostgreSQL alone. */
export async function measureTargetCosts(targetUrl: string, samples: number): Promise<TargetCosts> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < samples; i++) {
    const c = new Client({ connectionString: targetUrl });
    await c.connect();
    await c.end();
  }
  const t1 = process.hrtime.bigint();
  const c = new Client({ connectionString: targetUrl });
  await c.connect();
  try {
    const expiration = expirationOf(new Date(Date.now() + DB_CREDS_TTL_SECONDS * 1000));
    for (let i = 0; i < samples; i++) {
      const name = `${FLOOR_USER_PREFIX}${DB_CREDS_ROLE}-cost-${i}`;
      for (const s of DB_CREDS_CREATION) await c.query(renderStatement(s, { name, password: `Cost-password-${i}-0123456789`, expiration }));
      for (const s of DEFAULT_REVOCATION) await c.query(renderStatement(s, { name }));
    }
  } finally {
    await c.end();
  }
  const t2 = process.hrtime.bigint();
  const ms = (ns: bigint) => Math.round((Number(ns) / 1e6 / samples) * 100) / 100;
  return { connectMs: ms(t1 - t0), createDropMs: ms(t2 - t1), samples };
}
