/**
 * sys/config/state/sanitized: the server's configuration as Vault's Config.Sanitized() shows it,
 * Vault's names where a setting has one, SecretHub's configuration-file names otherwise. Built
 * field by field from the typed configuration (never by copying and filtering it), so a setting
 * added later is absent until chosen here: no storage connection URL (it may carry a password), no
 * seal settings (a PKCS#11 PIN), no environment.
 */
import type { ServerConfig } from './config';
import { goDuration } from '../framework/field-types';
import type { SealConfiguration } from '../kernel/seal/seal-settings';

/** The fixed system TTLs (Vault's defaults; SecretHub has no setting for them). */
const SYSTEM_TTL_SECONDS = 768 * 3600;

export type SanitizableConfig = Pick<
  ServerConfig,
  | 'listener'
  | 'ha'
  | 'audit'
  | 'dataDir'
  | 'databaseUrl'
  | 'haDatabaseUrl'
  | 'databasePreparedStatements'
  | 'seal'
  | 'kmsLibraries'
  | 'clusterName'
  | 'maxEncryptionsPerTerm'
  | 'logLevel'
  | 'dev'
>;

const TLS_VERSION_NAMES = { 'TLSv1.2': 'tls12', 'TLSv1.3': 'tls13' } as const;

function listener(l: SanitizableConfig['listener']): Record<string, unknown> {
  const tls = l.tls
    ? {
        tls_cert_file: l.tls.certFile,
        tls_key_file: l.tls.keyFile,
        tls_client_ca_file: l.tls.clientCaFile ?? '',
        tls_require_and_verify_client_cert: l.tls.clientCerts === 'require',
        tls_disable_client_certs: l.tls.clientCerts === 'none',
        tls_min_version: TLS_VERSION_NAMES[l.tls.minVersion],
        tls_max_version: TLS_VERSION_NAMES[l.tls.maxVersion],
      }
    : {};
  return {
    type: 'tcp',
    config: {
      address: l.address,
      tls_disable: l.tlsDisable,
      ...tls,
      max_request_size: l.maxRequestBytes,
      max_request_duration: goDuration(l.maxRequestDurationSeconds),
      max_json_depth: l.json.maxDepth,
      max_json_string_value_length: l.json.maxStringLength,
      max_json_object_entry_count: l.json.maxObjectEntries,
      max_json_array_element_count: l.json.maxArrayElements,
      disable_unauthed_rekey_endpoints: l.disableUnauthedRekeyEndpoints,
      disable_unauthed_generate_root_endpoints: l.disableUnauthedGenerateRootEndpoints,
      x_forwarded_for_authorized_addrs: l.forwardedFor.authorizedAddrs.join(','),
      x_forwarded_for_hop_skips: l.forwardedFor.hopSkips,
      x_forwarded_for_reject_not_authorized: l.forwardedFor.rejectNotAuthorized,
      x_forwarded_for_reject_not_present: l.forwardedFor.rejectNotPresent,
    },
  };
}

export function sanitizedConfig(c: SanitizableConfig): Record<string, unknown> {
  const a = c.audit;
  return {
    api_addr: c.ha.apiAddr,
    cluster_addr: c.ha.clusterAddr,
    cluster_name: c.clusterName ?? '',
    cache_size: 0,
    disable_cache: false,
    disable_clustering: true,
    // Node.js cannot lock its memory: Vault's disable_mlock = true describes what this server does.
    disable_mlock: true,
    enable_ui: false,
    raw_storage_endpoint: false,
    introspection_endpoint: false,
    default_lease_ttl: SYSTEM_TTL_SECONDS,
    max_lease_ttl: SYSTEM_TTL_SECONDS,
    log_level: c.logLevel,
    listeners: [listener(c.listener)],
    // Vault strips the storage stanza's settings; so does this (connection_url may hold a password).
    storage: { type: 'postgresql', redirect_addr: '', cluster_addr: '', disable_clustering: true },
    ...sanitizedSeals(c.seal),
    // Name and path only: a kms_library stanza holds no secret (managed keys' PINs are stored sealed).
    kms_library: c.kmsLibraries.map((l) => ({ type: l.type, name: l.name, library: l.library })),
    // SecretHub's own settings, by their configuration-file names.
    barrier_max_encryptions_per_term: c.maxEncryptionsPerTerm,
    storage_embedded: c.databaseUrl === undefined,
    // Whether a direct connection is configured, never its URL (it may carry a password).
    storage_ha_connection: c.haDatabaseUrl !== undefined,
    storage_prepared_statements: c.databasePreparedStatements,
    data_dir: c.dataDir,
    dev_mode: c.dev,
    ha_lease_ttl: goDuration(c.ha.leaseTtlSeconds),
    ha_renew_interval: goDuration(c.ha.renewIntervalSeconds),
    audit: {
      file_dir: a.fileDir,
      checkpoint_file: a.checkpointFile,
      checkpoint_entries: a.checkpointEntries,
      checkpoint_interval: goDuration(a.checkpointIntervalSeconds),
      address_key_retention: goDuration(a.addressKeyRetentionSeconds),
      retention: goDuration(a.retentionSeconds),
      anomalies: { enabled: a.anomalies.enabled, interval: goDuration(a.anomalies.intervalSeconds), window: goDuration(a.anomalies.windowSeconds) },
    },
  };
}

/** Vault lists the configured seal stanzas by type only (no library, slot, label or PIN). */
function sanitizedSeals(seal: SealConfiguration): { seals?: { type: string; disabled: boolean }[] } {
  const seals = [
    ...(seal.active.type === 'pkcs11' ? [{ type: 'pkcs11', disabled: false }] : []),
    ...(seal.disabled ? [{ type: 'pkcs11', disabled: true }] : []),
  ];
  return seals.length > 0 ? { seals } : {};
}
