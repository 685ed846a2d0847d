/**
 * One typed server configuration: config file (HCL or JSON, Vault's shape) + environment + CLI flags,
 * parsed once at start-up; anything invalid fails fast with a message naming the setting.
 *
 * Storage precedence: DATABASE_URL, then the file's `storage "postgresql" { connection_url }`,
 * then an embedded PostgreSQL in the data directory.
 */
import type { ForwardedForConfig } from '../http/forwarded-for';
import { isValidCidr } from '../kernel/cidr';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseHclOrJson } from './hcl';
import { checkTlsMaterial } from './tls-material';
import { ConfigError } from './config-error';
import { blocks, bool, int, str, type Doc } from './config-doc';
import { sealConfigFrom } from './seal-config';
import { kmsLibrariesFrom } from './kms-library-config';
import { INT4_MAX, parseDurationSeconds } from '../framework/field-types';
import type { UserLockoutSettings } from '../framework/backend';
import type { SealConfiguration } from '../kernel/seal/seal-settings';
import type { KmsLibrary } from '../kernel/managed-keys/kms-library';

export const DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;
/** NIST SP 800-38D: stay well below 2^32 random-nonce encryptions per AES-GCM key (Vault's default). */
export const DEFAULT_MAX_ENCRYPTIONS_PER_TERM = 3_865_470_566;

export interface JsonLimits {
  maxDepth: number;
  maxStringLength: number;
  maxObjectEntries: number;
  maxArrayElements: number;
}

export interface ListenerConfig {
  address: string;
  host: string;
  port: number;
  /** True exactly when `tls` is undefined: the listener speaks plain HTTP. */
  tlsDisable: boolean;
  tls?: ListenerTlsConfig;
  maxRequestBytes: number;
  maxRequestDurationSeconds: number;
  json: JsonLimits;
  /** OpenBao's listener flag: true (default) makes rekey start/cancel need a sudo token. */
  disableUnauthedRekeyEndpoints: boolean;
  /** OpenBao's listener flag: true makes generate-root start/cancel need a sudo token (default false, see listenerFrom). */
  disableUnauthedGenerateRootEndpoints: boolean;
  /** X-Forwarded-For from trusted proxies only (Vault's x_forwarded_for_* listener settings). */
  forwardedFor: ForwardedForConfig;
}

/**
 * What a TLS client must present (Vault's tls_disable_client_certs / tls_require_and_verify_client_cert):
 * `none` never asks; `request` (the default) asks, accepts connections without one or with one that does
 * not verify, and reports the verification result; `require` completes only handshakes with a client
 * certificate that verifies against tls_client_ca_file (or the system's CAs when that is unset).
 */
export type ClientCertMode = 'none' | 'request' | 'require';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** The listener's TLS settings: file paths only. The key's bytes never sit in the configuration (see tls-material.ts). */
export interface ListenerTlsConfig {
  /** PEM: the server certificate first, then any intermediates. */
  certFile: string;
  keyFile: string;
  /** PEM bundle of the CAs whose client certificates verify. */
  clientCaFile?: string;
  clientCerts: ClientCertMode;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
}

/** The `audit { ... }` block. */
export interface AuditConfig {
  /** `file` audit devices may only write inside this directory (never an arbitrary path from the API). */
  fileDir: string;
  /** Where signed checkpoints are appended, one JSON line each, for shipping off the machine. */
  checkpointFile: string;
  /** A checkpoint after this many new entries... */
  checkpointEntries: number;
  /** ...or this many seconds after the last one, whichever comes first (if there are new entries). */
  checkpointIntervalSeconds: number;
  /** Per-month keys for source addresses and user agents are destroyed this long after their month ends (crypto-shredding). */
  addressKeyRetentionSeconds: number;
  /** Whole monthly partitions older than this are dropped (with a signed prune entry); 0 keeps everything. */
  retentionSeconds: number;
  anomalies: AnomalyConfig;
}

/** The `audit { anomalies { ... } }` block: the credential-anomaly job over the database device's chain. */
export interface AnomalyConfig {
  /** The job runs in the background while unsealed; `sys/audit/anomalies/scan` works either way. */
  enabled: boolean;
  intervalSeconds: number;
  /** Length of the aligned (tumbling) windows the rates are counted in. */
  windowSeconds: number;
  /** Requests of one subject in one window that are flagged (`request_rate`). */
  requestRate: number;
  /** `error_rate`: at least this many responses with status ≥ 400 in a window... */
  errorMinErrors: number;
  /** ...making up at least this share (0-1] of the subject's responses in it. */
  errorMinShare: number;
  /** Distinct source addresses of one subject in one window that are flagged (`source_ips`). */
  sourceIps: number;
  /** Failed logins of one user or role in one window that are flagged (`login_bruteforce`; Vault's lockout threshold). */
  loginFailures: number;
  /** `unusual_hours`: activity in a UTC hour of day with none over this lookback... */
  unusualHoursLookbackSeconds: number;
  /** ...once the subject has at least this many entries... */
  unusualHoursMinEntries: number;
  /** ...on at least this many distinct days of the lookback. */
  unusualHoursMinDays: number;
}

/** Several processes on one database: the leader lease and the node registry. */
export interface HaConfig {
  /** `api_addr`: the address clients reach this process at (sys/leader's leader_address); by default the listener's. */
  apiAddr: string;
  /** `cluster_addr`: shown in sys/ha-status and sys/leader; empty when not set (no node-to-node traffic uses it). */
  clusterAddr: string;
  /** `ha_lease_ttl`: how long the leader lease lasts without a renewal. */
  leaseTtlSeconds: number;
  /** `ha_renew_interval`: how often the leader renews (and every process heartbeats, and others try to acquire). */
  renewIntervalSeconds: number;
}

export interface ServerConfig {
  listener: ListenerConfig;
  ha: HaConfig;
  audit: AuditConfig;
  dataDir: string;
  /** Set when PostgreSQL is external; undefined means the embedded server in dataDir. */
  databaseUrl?: string;
  /**
   * `ha_connection_url`: a direct connection (not through a transaction-mode pooler) for the
   * LISTEN client and session locks; undefined means databaseUrl.
   */
  haDatabaseUrl?: string;
  /** `prepared_statements`: false when databaseUrl is a transaction-mode pooler (PgBouncer before 1.21). */
  databasePreparedStatements: boolean;
  seal: SealConfiguration;
  /** `kms_library` stanzas: the PKCS#11 libraries managed keys may name. */
  kmsLibraries: KmsLibrary[];
  clusterName?: string;
  maxEncryptionsPerTerm: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  dev: boolean;
  devRootTokenId?: string;
  /** Serving processes of this node (`--workers`, SECRETHUB_WORKERS, `workers`; `auto`: the usable CPUs). */
  workers: number;
  /** `user_lockout "<all | auth method type>" { ... }` stanzas by label (a mount's tune overrides them). */
  userLockout: Record<string, UserLockoutSettings>;
}

export interface ServerFlags {
  config?: string;
  dataDir?: string;
  listen?: string;
  dev?: boolean;
  devRootTokenId?: string;
  /** `--workers`: a count or `auto`. */
  workers?: string;
  /** `--dev-tls`: the listener serves these (made by writeDevTlsFiles), whatever the file says. */
  devTlsFiles?: { certFile: string; keyFile: string };
}

export { ConfigError };

export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address.trim());
  if (!m) throw new ConfigError(`listener address "${address}" must be host:port`);
  const port = Number(m[2]);
  if (port < 0 || port > 65535) throw new ConfigError(`listener address "${address}": bad port`);
  return { host: m[1] || '0.0.0.0', port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

function listenerFrom(body: Doc, listenFlag: string | undefined, devTlsFiles?: ServerFlags['devTlsFiles']): ListenerConfig {
  const where = 'listener "tcp"';
  const address = listenFlag ?? str(body, 'address', where) ?? '127.0.0.1:8200';
  const { host, port } = splitHostPort(address);
  const tls = devTlsFiles ? devListenerTls(devTlsFiles) : listenerTlsFrom(body, where);
  if (!tls && !bool(body, 'tls_disable', where, false) && !isLoopback(host)) {
    throw new ConfigError(`listener on ${address} is not loopback and has no TLS: set tls_cert_file and tls_key_file, or tls_disable = true`);
  }
  const maxRequestDuration = str(body, 'max_request_duration', where);
  return {
    address,
    host,
    port,
    tlsDisable: !tls,
    tls,
    maxRequestBytes: int(body, 'max_request_size', where, DEFAULT_MAX_REQUEST_BYTES),
    maxRequestDurationSeconds: maxRequestDuration ? parseDurationSeconds(maxRequestDuration) : 90,
    json: {
      maxDepth: int(body, 'max_json_depth', where, 300),
      maxStringLength: int(body, 'max_json_string_value_length', where, 1024 * 1024),
      maxObjectEntries: int(body, 'max_json_object_entry_count', where, 10_000),
      maxArrayElements: int(body, 'max_json_array_element_count', where, 10_000),
    },
    disableUnauthedRekeyEndpoints: bool(body, 'disable_unauthed_rekey_endpoints', where, true),
    // Default false (OpenBao's is true): Vault clients start and cancel generate-root without a token.
    disableUnauthedGenerateRootEndpoints: bool(body, 'disable_unauthed_generate_root_endpoints', where, false),
    forwardedFor: forwardedForFrom(body, where),
  };
}

const TLS_VERSIONS: Record<string, TlsVersion> = { tls12: 'TLSv1.2', tls13: 'TLSv1.3' };

function tlsVersion(body: Doc, key: string, where: string, dflt: TlsVersion): TlsVersion {
  const v = str(body, key, where);
  if (v === undefined) return dflt;
  if (v === 'tls10' || v === 'tls11') throw new ConfigError(`${where}.${key}: TLS 1.0 and 1.1 are not supported; use "tls12" or "tls13"`);
  const version = TLS_VERSIONS[v];
  if (!version) throw new ConfigError(`${where}.${key}: expected "tls12" or "tls13", got "${v}"`);
  return version;
}

function devListenerTls(files: NonNullable<ServerFlags['devTlsFiles']>): ListenerTlsConfig {
  const tls: ListenerTlsConfig = { certFile: files.certFile, keyFile: files.keyFile, clientCerts: 'request', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' };
  checkTlsMaterial(tls);
  return tls;
}

/**
 * The listener's TLS settings (Vault's names). Undefined means plain HTTP: `tls_disable = true`
 * (every other tls_* setting is then ignored, as Vault does), or no certificate or key given. Giving
 * only one of the two, or client-certificate settings without them, is an error rather than a
 * silent fallback to plain HTTP. The files are read and checked here so that a bad one stops the
 * server before it starts anything else.
 */
function listenerTlsFrom(body: Doc, where: string): ListenerTlsConfig | undefined {
  if (bool(body, 'tls_disable', where, false)) return undefined;
  const certFile = str(body, 'tls_cert_file', where) || undefined;
  const keyFile = str(body, 'tls_key_file', where) || undefined;
  const clientCaFile = str(body, 'tls_client_ca_file', where) || undefined;
  const require = bool(body, 'tls_require_and_verify_client_cert', where, false);
  const disableClientCerts = bool(body, 'tls_disable_client_certs', where, false);
  if (!certFile && !keyFile) {
    if (clientCaFile || require) throw new ConfigError(`${where}: client certificate settings need tls_cert_file and tls_key_file`);
    return undefined;
  }
  if (!certFile) throw new ConfigError(`${where}: tls_key_file is set but tls_cert_file is not`);
  if (!keyFile) throw new ConfigError(`${where}: tls_cert_file is set but tls_key_file is not`);
  if (require && disableClientCerts) throw new ConfigError(`${where}: tls_disable_client_certs and tls_require_and_verify_client_cert are mutually exclusive`);
  const minVersion = tlsVersion(body, 'tls_min_version', where, 'TLSv1.2');
  const maxVersion = tlsVersion(body, 'tls_max_version', where, 'TLSv1.3');
  if (minVersion === 'TLSv1.3' && maxVersion === 'TLSv1.2') throw new ConfigError(`${where}: tls_min_version is above tls_max_version`);
  const tls: ListenerTlsConfig = {
    certFile: resolve(certFile),
    keyFile: resolve(keyFile),
    clientCaFile: clientCaFile ? resolve(clientCaFile) : undefined,
    clientCerts: require ? 'require' : disableClientCerts ? 'none' : 'request',
    minVersion,
    maxVersion,
  };
  checkTlsMaterial(tls);
  return tls;
}

/** Vault's defaults: both reject flags true; they matter only once authorized addresses are set. */
function forwardedForFrom(body: Doc, where: string): ForwardedForConfig {
  const raw = body.x_forwarded_for_authorized_addrs;
  const list = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
  const authorizedAddrs = list.map((a) => a.trim()).filter((a) => a !== '');
  for (const a of authorizedAddrs)
    if (!isValidCidr(a)) throw new ConfigError(`${where}.x_forwarded_for_authorized_addrs: an entry is not an IP address or CIDR`);
  return {
    authorizedAddrs,
    hopSkips: int(body, 'x_forwarded_for_hop_skips', where, 0, 0),
    rejectNotAuthorized: bool(body, 'x_forwarded_for_reject_not_authorized', where, true),
    rejectNotPresent: bool(body, 'x_forwarded_for_reject_not_present', where, true),
  };
}

function duration(body: Doc, key: string, where: string, dflt: number): number {
  const v = str(body, key, where);
  if (v === undefined) return dflt;
  try {
    return parseDurationSeconds(v);
  } catch {
    throw new ConfigError(`${where}.${key}: expected a duration such as "90d", "24h" or "30s"`);
  }
}

/** An unlabelled block: HCL gives it as a one-element list, JSON as an object. */
function unlabelledBlock(doc: Doc, key: string, where: string): Doc {
  const value = doc[key];
  const raw = Array.isArray(value) ? (value[0] as unknown) : value;
  if (raw !== undefined && (raw === null || typeof raw !== 'object' || Array.isArray(raw))) throw new ConfigError(`${where}: expected a block`);
  return (raw ?? {}) as Doc;
}

function share(body: Doc, key: string, where: string, dflt: number): number {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new ConfigError(`${where}.${key}: expected a number in (0, 1]`);
  return n;
}

function positiveDuration(body: Doc, key: string, where: string, dflt: number): number {
  const seconds = duration(body, key, where, dflt);
  if (seconds < 1) throw new ConfigError(`${where}.${key}: expected a duration of at least 1s`);
  return seconds;
}

function anomaliesFrom(audit: Doc): AnomalyConfig {
  const where = 'audit.anomalies';
  const body = unlabelledBlock(audit, 'anomalies', where);
  return {
    enabled: bool(body, 'enabled', where, true),
    intervalSeconds: positiveDuration(body, 'interval', where, 60),
    windowSeconds: positiveDuration(body, 'window', where, 300),
    requestRate: int(body, 'request_rate_threshold', where, 600),
    errorMinErrors: int(body, 'error_rate_min_errors', where, 20),
    errorMinShare: share(body, 'error_rate_min_share', where, 0.5),
    sourceIps: int(body, 'source_ips_threshold', where, 10),
    loginFailures: int(body, 'login_failures_threshold', where, 5),
    unusualHoursLookbackSeconds: positiveDuration(body, 'unusual_hours_lookback', where, 14 * 86400),
    unusualHoursMinEntries: int(body, 'unusual_hours_min_entries', where, 50),
    unusualHoursMinDays: int(body, 'unusual_hours_min_days', where, 3),
  };
}

function auditFrom(doc: Doc, env: NodeJS.ProcessEnv, dataDir: string): AuditConfig {
  const where = 'audit';
  const body = unlabelledBlock(doc, 'audit', where);
  return {
    fileDir: resolve(env.SECRETHUB_AUDIT_FILE_DIR ?? str(body, 'file_dir', where) ?? resolve(dataDir, 'audit')),
    checkpointFile: resolve(env.SECRETHUB_AUDIT_CHECKPOINT_FILE ?? str(body, 'checkpoint_file', where) ?? resolve(dataDir, 'audit-checkpoints.jsonl')),
    checkpointEntries: int(body, 'checkpoint_entries', where, 1000),
    checkpointIntervalSeconds: duration(body, 'checkpoint_interval', where, 10),
    addressKeyRetentionSeconds: duration(body, 'address_key_retention', where, 90 * 86400),
    retentionSeconds: duration(body, 'retention', where, 0),
    anomalies: anomaliesFrom(body),
  };
}

function haFrom(doc: Doc, env: NodeJS.ProcessEnv, listener: ListenerConfig): HaConfig {
  const fromEnv = (name: string, key: string): Doc => (env[name] ? { [key]: env[name] } : doc);
  const leaseTtlSeconds = positiveDuration(fromEnv('SECRETHUB_HA_LEASE_TTL', 'ha_lease_ttl'), 'ha_lease_ttl', 'config', 15);
  const renewIntervalSeconds = positiveDuration(fromEnv('SECRETHUB_HA_RENEW_INTERVAL', 'ha_renew_interval'), 'ha_renew_interval', 'config', 5);
  if (renewIntervalSeconds * 2 > leaseTtlSeconds)
    throw new ConfigError(`ha_renew_interval (${renewIntervalSeconds}s) must be at most half of ha_lease_ttl (${leaseTtlSeconds}s)`);
  const apiAddr = env.SECRETHUB_API_ADDR || str(doc, 'api_addr', 'config') || `${listener.tls ? 'https' : 'http'}://${listener.address}`;
  const clusterAddr = env.SECRETHUB_CLUSTER_ADDR || str(doc, 'cluster_addr', 'config') || '';
  for (const [key, value] of [
    ['api_addr', apiAddr],
    ['cluster_addr', clusterAddr],
  ]) {
    if (value && !/^https?:\/\/[^\s/]+/.test(value)) throw new ConfigError(`${key} "${value}" must be a URL such as https://node1.example.com:8200`);
  }
  return { apiAddr, clusterAddr, leaseTtlSeconds, renewIntervalSeconds };
}

/** Vault's labels: every supporting method, or one method type. */
const USER_LOCKOUT_LABELS = ['all', 'userpass', 'approle', 'ldap'];

function userLockoutFrom(doc: Doc): Record<string, UserLockoutSettings> {
  const out: Record<string, UserLockoutSettings> = {};
  for (const { label, body } of blocks(doc, 'user_lockout')) {
    const where = `user_lockout "${label}"`;
    if (!USER_LOCKOUT_LABELS.includes(label)) throw new ConfigError(`${where}: the label must be one of ${USER_LOCKOUT_LABELS.join(', ')}`);
    if (out[label]) throw new ConfigError(`${where}: given twice`);
    for (const key of Object.keys(body)) {
      if (!['lockout_threshold', 'lockout_duration', 'lockout_counter_reset', 'disable_lockout'].includes(key))
        throw new ConfigError(`${where}.${key}: unknown setting`);
    }
    const settings: UserLockoutSettings = {};
    if (body.lockout_threshold !== undefined) settings.threshold = int(body, 'lockout_threshold', where, 5, 1, INT4_MAX);
    if (body.lockout_duration !== undefined) settings.durationSeconds = positiveDuration(body, 'lockout_duration', where, 900);
    if (body.lockout_counter_reset !== undefined) settings.counterResetSeconds = positiveDuration(body, 'lockout_counter_reset', where, 900);
    if (body.disable_lockout !== undefined) settings.disabled = bool(body, 'disable_lockout', where, false);
    out[label] = settings;
  }
  return out;
}

/** The `storage "postgresql"` stanza; each setting's environment variable wins over the file. */
function storageFrom(body: Doc, env: NodeJS.ProcessEnv): Pick<ServerConfig, 'databaseUrl' | 'haDatabaseUrl' | 'databasePreparedStatements'> {
  const where = 'storage "postgresql"';
  const databaseUrl = env.DATABASE_URL || str(body, 'connection_url', where) || undefined;
  const haDatabaseUrl = env.SECRETHUB_HA_DATABASE_URL || str(body, 'ha_connection_url', where) || undefined;
  if (haDatabaseUrl && !databaseUrl)
    throw new ConfigError(`${where}.ha_connection_url needs connection_url (DATABASE_URL): the embedded PostgreSQL has no pooler`);
  const fromFile = bool(body, 'prepared_statements', where, true);
  const preparedEnv = { SECRETHUB_DATABASE_PREPARED_STATEMENTS: env.SECRETHUB_DATABASE_PREPARED_STATEMENTS || undefined };
  const databasePreparedStatements = bool(preparedEnv, 'SECRETHUB_DATABASE_PREPARED_STATEMENTS', 'environment', fromFile);
  // A pooler that cannot keep a named statement cannot keep a LISTEN or a session lock either.
  if (!databasePreparedStatements && !haDatabaseUrl)
    throw new ConfigError(
      `${where}.prepared_statements = false (a transaction-mode pooler) needs ha_connection_url: a direct connection for LISTEN and session locks`,
    );
  return { databaseUrl, haDatabaseUrl, databasePreparedStatements };
}

/** Decision 128: one process unless asked; more workers pay off only with spare cores. */
export const DEFAULT_WORKERS = 1;
export const MAX_WORKERS = 256;

/** `--workers` / SECRETHUB_WORKERS / `workers`: a count from 1 to MAX_WORKERS, or `auto` (the usable CPUs). */
export function workersFrom(value: unknown, where: string): number {
  if (value === undefined || value === null || value === '') return DEFAULT_WORKERS;
  if (typeof value === 'string' && value.trim().toLowerCase() === 'auto') return Math.min(availableParallelism(), MAX_WORKERS);
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_WORKERS) throw new ConfigError(`${where}: expected "auto" or an integer from 1 to ${MAX_WORKERS}`);
  return n;
}

/** Builds the configuration from a parsed document, the environment and the command-line flags. */
export function buildConfig(doc: Doc, env: NodeJS.ProcessEnv, flags: ServerFlags): ServerConfig {
  const listeners = blocks(doc, 'listener');
  for (const l of listeners) if (l.label !== 'tcp') throw new ConfigError(`listener "${l.label}": only "tcp" is supported`);
  if (listeners.length > 1) throw new ConfigError('only one listener "tcp" block is supported');
  const listener = listenerFrom(listeners[0]?.body ?? {}, flags.listen ?? env.SECRETHUB_LISTEN, flags.devTlsFiles);

  const storages = blocks(doc, 'storage');
  for (const s of storages) if (s.label !== 'postgresql') throw new ConfigError(`storage "${s.label}": only "postgresql" is supported`);
  const storage = storageFrom(storages[0]?.body ?? {}, env);

  const logLevel = (str(doc, 'log_level', 'config') ?? env.SECRETHUB_LOG_LEVEL ?? 'info').toLowerCase();
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new ConfigError(`log_level "${logLevel}" is not one of debug, info, warn, error`);

  const dev = flags.dev === true;
  const dataDir = resolve(flags.dataDir ?? env.SECRETHUB_DATA_DIR ?? str(doc, 'data_dir', 'config') ?? './data');
  return {
    listener,
    ha: haFrom(doc, env, listener),
    audit: auditFrom(doc, env, dataDir),
    dataDir,
    ...storage,
    seal: sealConfigFrom(doc, env),
    kmsLibraries: kmsLibrariesFrom(doc),
    clusterName: str(doc, 'cluster_name', 'config'),
    maxEncryptionsPerTerm: int(doc, 'barrier_max_encryptions_per_term', 'config', DEFAULT_MAX_ENCRYPTIONS_PER_TERM),
    logLevel: logLevel as ServerConfig['logLevel'],
    dev,
    devRootTokenId: flags.devRootTokenId,
    workers:
      flags.workers !== undefined
        ? workersFrom(flags.workers, '--workers')
        : env.SECRETHUB_WORKERS
          ? workersFrom(env.SECRETHUB_WORKERS, 'SECRETHUB_WORKERS')
          : workersFrom(doc.workers, 'config.workers'),
    userLockout: userLockoutFrom(doc),
  };
}

export function loadConfig(flags: ServerFlags, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  let doc: Doc = {};
  const file = flags.config ?? env.SECRETHUB_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    try {
      doc = parseHclOrJson(text);
    } catch (err) {
      throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
    }
  }
  return buildConfig(doc, env, flags);
}
