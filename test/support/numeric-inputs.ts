/**
 * Every place a request carries a number or a duration, as targets a test can send any value to:
 * the int, int-list and duration fields of every declared route of every mounted backend (query
 * fields on reads, lists and deletes; body fields on writes), and the numbers routes read outside
 * declarations (mount TTLs, user_lockout_config, X-Vault-Wrap-TTL, KV cas, the raw sys bodies).
 * Each target names the mount whose probes must still answer after a write it accepted.
 */
import { X509Certificate } from 'node:crypto';
import type { MountEntry } from '../../src/framework/backend';
import type { FieldSpec } from '../../src/framework/fields';
import type { Operation, PeerCertificate, RouteDefinition } from '../../src/framework/route';
import { buildCsr } from '../../src/crypto/x509/csr';
import { softwareSigner } from '../../src/crypto/signer';
import { generateKeyPair } from '../../src/crypto/x509/keys';
import { toPem } from '../../src/crypto/x509/pem';
import type { Call } from './audit';
import type { TestKernel } from './kernel';

/** A value as a JSON token (a number may be sent as a literal JavaScript cannot hold) and as query text. */
export interface NumericValue {
  json: string;
  query: string;
}

export const raw = (token: string): NumericValue => ({ json: token, query: token });
export const text = (s: string): NumericValue => ({ json: JSON.stringify(s), query: s });

/** The issue's boundary values, and the largest values the server accepts (an accepted edge must not break later requests). */
export const BOUNDARY_VALUES: NumericValue[] = [
  raw('-2147483649'),
  raw('-2147483648'),
  raw('-2'),
  raw('-1'),
  raw('0'),
  raw('2147483647'),
  raw('2147483648'),
  raw('4294967296'),
  raw('9007199254740992'),
  raw('9223372036854775807'),
  raw('1e308'),
  text('9223372036854775807'),
  text('596523h14m7s'),
  text('596523h14m8s'),
  text('2562047h47m16s'),
  text('9999999999h'),
  text('9999999999999h'),
  text('99999999999999h'),
  text('9223372036854775807s'),
];

export type Response = Awaited<ReturnType<Call>>;

export interface NumericTarget {
  label: string;
  /** The mount type whose probes run after this target accepted a write. */
  probe: string;
  write: boolean;
  send(value: NumericValue): Promise<Response>;
}

/** What the walk and the probes need besides the kernel: names of objects set up beforehand. */
export interface Fixtures {
  call: Call;
  /** Bodies that get a write past its other required fields, by `<mount type> <route path>`. */
  bases: Record<string, Record<string, unknown>>;
  /** A client certificate the cert mount's `pt` entry trusts. */
  clientCert: PeerCertificate;
  roleId: string;
  /** A token with the `pt` ACL policy (secret/* read, auth/token/create update). */
  policyToken: string;
  /** The token a route is called with instead of the root token (renew-self must not renew the root token). */
  callers: Record<string, string>;
}

const NUMERIC: FieldSpec['type'][] = ['int', 'int-list', 'duration'];
const QUERY_OPERATIONS: Operation[] = ['read', 'list', 'delete'];

/** A JSON object text: `base` with `name` set to the raw token `json`. */
export function bodyWith(base: Record<string, unknown>, name: string, json: string): string {
  const rest = JSON.stringify(base).slice(1, -1);
  return `{${rest}${rest ? ',' : ''}${JSON.stringify(name)}:${json}}`;
}

function concretePath(routePath: string): string {
  return routePath
    .split('/')
    .map((s) => (s === ':type' ? 'internal' : s.startsWith(':') || s.startsWith('*') ? 'pt' : s))
    .join('/');
}

function routeTargets(f: Fixtures, mount: MountEntry, route: RouteDefinition): NumericTarget[] {
  const out: NumericTarget[] = [];
  const path = `${mount.path}${concretePath(route.path)}`;
  const base = f.bases[`${mount.type} ${route.path}`] ?? {};
  const token = f.callers[`${mount.type} ${route.path}`];
  for (const [name, spec] of Object.entries(route.fields ?? {})) {
    if (!NUMERIC.includes(spec.type)) continue;
    if (spec.query) {
      for (const op of QUERY_OPERATIONS.filter((o) => route.handlers[o])) {
        const method = op === 'delete' ? 'DELETE' : 'GET';
        const list = op === 'list' ? 'list=true&' : '';
        out.push({
          label: `${op} ${path}?${name}`,
          probe: mount.type,
          write: op === 'delete',
          send: (v) => f.call(method, `${path}?${list}${name}=${encodeURIComponent(v.query)}`),
        });
      }
      continue;
    }
    // A list element is sent as the one element of a list.
    const json = (v: NumericValue) => (spec.type === 'int-list' ? `[${v.json}]` : v.json);
    if (route.handlers.update)
      out.push({ label: `update ${path} ${name}`, probe: mount.type, write: true, send: (v) => f.call('POST', path, bodyWith(base, name, json(v)), token) });
    if (route.handlers.patch) {
      out.push({
        label: `patch ${path} ${name}`,
        probe: mount.type,
        write: true,
        send: (v) => f.call('PATCH', path, bodyWith(base, name, json(v)), token, { headers: { 'content-type': 'application/merge-patch+json' } }),
      });
    }
  }
  return out;
}

/** The numbers routes read from maps, headers, nested options and raw bodies. */
function undeclaredTargets(f: Fixtures): NumericTarget[] {
  const { call } = f;
  const out: NumericTarget[] = [];
  const tuned: [string, string][] = [
    ['sys/mounts/secret', 'kv'],
    ['sys/mounts/pki', 'pki'],
    ['sys/mounts/database', 'database'],
    ['sys/auth/userpass', 'userpass'],
    ['sys/auth/approle', 'approle'],
    ['sys/auth/token', 'token'],
  ];
  for (const [mount, probe] of tuned) {
    for (const name of ['max_lease_ttl', 'default_lease_ttl'])
      out.push({ label: `tune ${mount} ${name}`, probe, write: true, send: (v) => call('POST', `${mount}/tune`, bodyWith({}, name, v.json)) });
  }
  for (const [mount, probe] of tuned.filter(([, p]) => p === 'userpass' || p === 'approle')) {
    for (const name of ['lockout_threshold', 'lockout_duration', 'lockout_counter_reset_duration']) {
      out.push({
        label: `tune ${mount} user_lockout_config.${name}`,
        probe,
        write: true,
        send: (v) => call('POST', `${mount}/tune`, `{"user_lockout_config":${bodyWith({}, name, v.json)}}`),
      });
    }
  }
  for (const name of ['default_lease_ttl', 'max_lease_ttl']) {
    out.push({
      label: `enable sys/mounts/fresh config.${name}`,
      probe: 'system',
      write: true,
      send: async (v) => {
        const res = await call('POST', 'sys/mounts/fresh', `{"type":"kv","config":${bodyWith({}, name, v.json)}}`);
        if (res.status < 300) {
          const probe = await call('POST', 'fresh/probe', { a: 1 });
          if (probe.status >= 500) return probe;
          await call('DELETE', 'sys/mounts/fresh');
        }
        return res;
      },
    });
  }
  out.push({
    label: 'X-Vault-Wrap-TTL on a KV read',
    probe: 'kv',
    write: false,
    send: (v) => call('GET', 'secret/data/pt', undefined, undefined, { headers: { 'x-vault-wrap-ttl': v.query } }),
  });
  out.push({
    label: 'X-Vault-Wrap-TTL on token lookup-self',
    probe: 'token',
    write: false,
    send: (v) => call('GET', 'auth/token/lookup-self', undefined, undefined, { headers: { 'x-vault-wrap-ttl': v.query } }),
  });
  out.push({
    label: 'update secret/data/pt options.cas',
    probe: 'kv',
    write: true,
    send: (v) => call('POST', 'secret/data/pt', `{"data":{"a":1},"options":${bodyWith({}, 'cas', v.json)}}`),
  });
  for (const name of ['secret_shares', 'secret_threshold', 'recovery_shares', 'recovery_threshold', 'stored_shares']) {
    out.push({ label: `sys/init ${name}`, probe: 'system', write: true, send: (v) => call('PUT', 'sys/init', bodyWith({}, name, v.json)) });
  }
  for (const name of ['secret_shares', 'secret_threshold']) {
    out.push({
      label: `sys/rekey/init ${name}`,
      probe: 'system',
      write: true,
      send: async (v) => {
        const res = await call('PUT', 'sys/rekey/init', bodyWith({ secret_shares: 3, secret_threshold: 2 }, name, v.json));
        if (res.status < 300) await call('DELETE', 'sys/rekey/init');
        return res;
      },
    });
  }
  for (const path of ['sys/leases', 'sys/leases/count'])
    out.push({
      label: `${path}?limit`,
      probe: 'system',
      write: false,
      send: (v) => call('GET', `${path}?type=irrevocable&limit=${encodeURIComponent(v.query)}`),
    });
  out.push({ label: 'kv1/pt ttl', probe: 'kv1', write: true, send: (v) => call('POST', 'kv1/pt', bodyWith({ a: 1 }, 'ttl', v.json)) });
  out.push({
    label: 'enable sys/mounts/fresh-db options.orphan_grace_period',
    probe: 'system',
    write: true,
    send: async (v) => {
      const res = await call('POST', 'sys/mounts/fresh-db', { type: 'database', options: { orphan_grace_period: v.query } });
      if (res.status < 300) await call('DELETE', 'sys/mounts/fresh-db');
      return res;
    },
  });
  for (const key of ['min_wrapping_ttl', 'max_wrapping_ttl']) {
    // JSON policy text, so the value goes in as sent (a number or a string).
    out.push({
      label: `policy ${key}`,
      probe: 'policy',
      write: true,
      send: (v) => call('PUT', 'sys/policies/acl/pt', { policy: `{"path":{"secret/*":{"capabilities":["read"],${JSON.stringify(key)}:${v.json}}}}` }),
    });
  }
  out.push({
    label: 'policy max_ttl condition',
    probe: 'policy',
    write: true,
    send: (v) =>
      call('PUT', 'sys/policies/acl/pt', { policy: `{"path":{"auth/token/create":{"capabilities":["update"],"conditions":{"max_ttl":${v.json}}}}}` }),
  });
  for (const name of ['sealedcode', 'activecode'])
    out.push({ label: `sys/health?${name}`, probe: 'system', write: false, send: (v) => call('GET', `sys/health?${name}=${encodeURIComponent(v.query)}`) });
  return out;
}

/**
 * Every target on the mounts `k` has now. The undeclared ones come first: a sweep of values that
 * ends on the largest accepted leaves the mounts' TTLs at their maximum for the routes after them.
 */
export function numericTargets(k: TestKernel, f: Fixtures): NumericTarget[] {
  const out = undeclaredTargets(f);
  for (const mount of [...k.mounts.list('secret'), ...k.mounts.list('auth')])
    for (const route of k.mounts.routesOf(mount)) out.push(...routeTargets(f, mount, route));
  return out;
}

/** A representative request on a mount; `succeeds`: it answers 2xx on fresh fixtures (the others are meant to be refused, with a 4xx). */
export interface Probe {
  label: string;
  succeeds: boolean;
  run(): Promise<Response>;
}

/** Representative requests on a mount of each type: none may answer 5xx, whatever was stored before. */
export function probes(f: Fixtures): Record<string, Probe[]> {
  const { call } = f;
  const ok = (label: string, run: () => Promise<Response>): Probe => ({ label, succeeds: true, run });
  const refused = (label: string, run: () => Promise<Response>): Probe => ({ label, succeeds: false, run });
  const approleLogin = async () => {
    const secret = await call('POST', 'auth/approle/role/pt/secret-id', {});
    if (secret.status >= 300) return secret;
    return call('POST', 'auth/approle/login', { role_id: f.roleId, secret_id: secret.json.data.secret_id });
  };
  return {
    kv: [
      ok('kv write', () => call('POST', 'secret/data/probe', { data: { p: 1 } })),
      ok('kv read', () => call('GET', 'secret/data/probe')),
      ok('kv write pt', () => call('POST', 'secret/data/pt', { data: { a: 2 } })),
      ok('kv metadata', () => call('GET', 'secret/metadata/pt')),
      ok('kv config', () => call('GET', 'secret/config')),
    ],
    system: [
      ok('mounts', () => call('GET', 'sys/mounts')),
      ok('auth mounts', () => call('GET', 'sys/auth')),
      ok('seal status', () => call('GET', 'sys/seal-status')),
      ok('rekey status', () => call('GET', 'sys/rekey/init')),
      ok('kv write', () => call('POST', 'secret/data/probe', { data: { p: 1 } })),
    ],
    token: [
      ok('create', () => call('POST', 'auth/token/create', {})),
      ok('create through role', () => call('POST', 'auth/token/create/pt', { policies: ['default'] })),
      ok('role', () => call('GET', 'auth/token/roles/pt')),
      ok('lookup-self', () => call('GET', 'auth/token/lookup-self')),
    ],
    approle: [
      ok('role', () => call('GET', 'auth/approle/role/pt')),
      ok('login', approleLogin),
      refused('login, wrong secret', () => call('POST', 'auth/approle/login', { role_id: f.roleId, secret_id: 'wrong' })),
    ],
    userpass: [
      ok('user', () => call('GET', 'auth/userpass/users/pt')),
      refused('login, wrong password', () => call('POST', 'auth/userpass/login/pt', { password: 'wrong' })),
      ok('login', () => call('POST', 'auth/userpass/login/pt', { password: 'pw-pt' })),
    ],
    cert: [ok('entry', () => call('GET', 'auth/cert/certs/pt')), ok('login', () => call('PUT', 'auth/cert/login', {}, '', { peerCertificate: f.clientCert }))],
    database: [
      ok('connection', () => call('GET', 'database/config/pt')),
      ok('role', () => call('GET', 'database/roles/pt')),
      refused('static role', () => call('GET', 'database/static-roles/pt')),
      refused('creds, target down', () => call('GET', 'database/creds/pt')),
    ],
    pki: [
      ok('role', () => call('GET', 'pki/roles/pt')),
      ok('issue', () => call('POST', 'pki/issue/pt', { common_name: 'probe.example.com', ttl: '1h' })),
      ok('crl config', () => call('GET', 'pki/config/crl')),
      ok('crl rotate', () => call('GET', 'pki/crl/rotate')),
      ok('crl', () => call('GET', 'pki/crl')),
    ],
    rabbitmq: [ok('lease config', () => call('GET', 'rabbitmq/config/lease'))],
    kv1: [ok('read', () => call('GET', 'kv1/pt')), ok('write', () => call('POST', 'kv1/probe', { a: 1 }))],
    policy: [
      ok('read', () => call('GET', 'sys/policies/acl/pt')),
      ok('wrapped read by a holder', () => call('GET', 'secret/data/pt', undefined, f.policyToken, { headers: { 'x-vault-wrap-ttl': '5m' } })),
      ok('token create by a holder', () => call('POST', 'auth/token/create', { ttl: '1m', policies: ['pt'] }, f.policyToken)),
    ],
  };
}

const DB_URL = 'postgresql://{{username}}:{{password}}@127.0.0.1:1/none';

/** Mounts one of each backend type and the objects the targets name (`pt` everywhere). */
export async function setUpFixtures(call: Call): Promise<Fixtures> {
  const ok = async (res: Promise<Response>) => {
    const r = await res;
    if (r.status >= 300) throw new Error(`fixture set-up failed: ${r.status} ${r.body}`);
    return r;
  };
  for (const [path, type] of [
    ['sys/mounts/kv1', 'kv'],
    ['sys/auth/approle', 'approle'],
    ['sys/auth/userpass', 'userpass'],
    ['sys/auth/cert', 'cert'],
    ['sys/mounts/database', 'database'],
    ['sys/mounts/pki', 'pki'],
    ['sys/mounts/rabbitmq', 'rabbitmq'],
  ]) {
    await ok(call('POST', path, { type }));
  }
  await ok(call('POST', 'secret/data/pt', { data: { a: 1 } }));
  await ok(call('POST', 'auth/approle/role/pt', {}));
  const roleId = (await ok(call('GET', 'auth/approle/role/pt/role-id'))).json.data.role_id as string;
  await ok(call('POST', 'auth/userpass/users/pt', { password: 'pw-pt' }));
  await ok(call('POST', 'auth/token/roles/pt', {}));
  const rootPem = (await ok(call('POST', 'pki/root/generate/internal', { common_name: 'Bounds Root', key_type: 'ec', key_bits: 256 }))).json.data
    .certificate as string;
  await ok(call('POST', 'pki/roles/pt', { allow_any_name: true, key_type: 'ec', key_bits: 256, client_flag: true }));
  const key = await generateKeyPair('ec', 256);
  const csr = toPem(await buildCsr({ commonName: 'client.example.com' }, softwareSigner(key.privateKey)), 'CERTIFICATE REQUEST');
  const clientPem = (await ok(call('POST', 'pki/sign/pt', { csr, ttl: '1h' }))).json.data.certificate as string;
  await ok(call('POST', 'auth/cert/certs/pt', { certificate: rootPem }));
  const dbConfig = {
    plugin_name: 'postgresql-database-plugin',
    connection_url: DB_URL,
    username: 'u',
    password: 'p',
    verify_connection: false,
    allowed_roles: '*',
  };
  await ok(call('POST', 'database/config/pt', dbConfig));
  const dbRole = { db_name: 'pt', creation_statements: ['CREATE ROLE "{{name}}"'] };
  await ok(call('POST', 'database/roles/pt', dbRole));
  await ok(call('POST', 'rabbitmq/config/lease', { ttl: 60, max_ttl: 120 }));
  await ok(call('POST', 'kv1/pt', { a: 1 }));
  await ok(call('PUT', 'sys/policies/acl/pt', { policy: '{"path":{"secret/*":{"capabilities":["read"]},"auth/token/create":{"capabilities":["update"]}}}' }));
  const policyToken = (await ok(call('POST', 'auth/token/create', { policies: ['pt'], ttl: '2h' }))).json.auth.client_token as string;
  const child = (await ok(call('POST', 'auth/token/create', { ttl: '1h' }))).json.auth as { client_token: string; accessor: string };
  return {
    call,
    roleId,
    policyToken,
    callers: { 'token renew-self': child.client_token },
    clientCert: { der: Buffer.from(new X509Certificate(clientPem).raw), chainDer: [], authorized: false },
    bases: {
      'database config/:name': dbConfig,
      'database roles/:name': dbRole,
      'database static-roles/:name': { db_name: 'pt', username: 'pt' },
      'pki root/generate/:type': { common_name: 'Bounds Root 2', key_type: 'ec', key_bits: 256 },
      'pki intermediate/generate/:type': { common_name: 'Bounds Int', key_type: 'ec', key_bits: 256 },
      'pki root/sign-intermediate': { csr, common_name: 'Bounds Int' },
      'pki roles/:name': { allow_any_name: true, key_type: 'ec', key_bits: 256, client_flag: true },
      'pki issue/:role': { common_name: 'issued.example.com' },
      'pki sign/:role': { csr },
      'pki sign-verbatim': { csr },
      'pki sign-verbatim/:role': { csr },
      'cert certs/:name': { certificate: rootPem },
      'userpass users/:username': { password: 'pw-pt' },
      'token renew': { token: child.client_token },
      'token renew-accessor': { accessor: child.accessor },
      'system leases/renew': { lease_id: 'secret/none/x' },
    },
  };
}
