/**
 * What every transit paths file shares: the engine's dependencies, key-name and base64 checks,
 * Vault's versioned values (`vault:v<N>:<payload>`), the key read (formatKeyPolicy) and batch
 * answers (batchRequestResponse).
 *
 * Invariants: no message built here carries a plaintext, a context or key material; a batch answer
 * keeps its items in request order, each with the caller's `reference`.
 */
import type { Encrypter } from '../../crypto/encrypter';
import type { Signer } from '../../crypto/signer';
import { keyTypeSupports, type TransitKeyType } from '../../crypto/transit/key-types';
import type { MountEntry } from '../../framework/backend';
import { logical, type LogicalResponse, type RequestContext } from '../../framework/route';
import { badRequest } from '../../kernel/errors';
import type { TransitKeyStore } from './transit-key-store';
import type { TransitUsage } from './transit-usage';
import type { TransitKeyPolicy } from './transit.repository';

/** Keys of type managed_key run their operations on the managed key's token (transit-managed-keys.ts). */
export interface TransitManagedKeys {
  /** For key creation: the managed key `nameOrId`, checked to exist and to be usable by `mount`. */
  resolve(mount: MountEntry, nameOrId: string): Promise<{ id: string; name: string }>;
  encrypter(mount: MountEntry, policy: TransitKeyPolicy, version: number): Promise<Encrypter>;
  signer(mount: MountEntry, policy: TransitKeyPolicy, version: number): Promise<Signer>;
}

export interface TransitDeps {
  store: TransitKeyStore;
  /** Absent: managed_key keys are refused. */
  managed?: TransitManagedKeys;
  /** Counts encryptions and signatures per version and rotates by usage (issue 29); absent in tests that do not count. */
  usage?: TransitUsage;
  /** managed_key keys' health: whether the token answers (absent: not asked). */
  hsmReachable?: (managedKeyId: string | null) => Promise<boolean | undefined>;
}

/** Who made a change, for the key history: the token's display name and the start of its accessor's HMAC (as the audit log shows it). */
export function actorOf(ctx: RequestContext): string {
  if (!ctx.token) return 'unauthenticated';
  return `${ctx.token.displayName} (accessor hmac ${ctx.token.accessorHmac.toString('hex').slice(0, 16)})`;
}

export const VERSION_PREFIX = 'vault:v';
const NAME = /^\w(?:[\w.-]*\w)?$/;

/** The `:name` parameter, checked as Vault's GenericNameRegex. */
export function checkedName(ctx: RequestContext, param = 'name'): string {
  const name = ctx.params[param];
  if (!NAME.test(name)) throw badRequest(`invalid key name ${JSON.stringify(name)}`);
  return name;
}

/** Standard padded base64, as Go's base64.StdEncoding accepts it (line breaks ignored); undefined when it is not. */
export function decodeBase64(value: string): Buffer | undefined {
  const compact = value.includes('\n') || value.includes('\r') ? value.replace(/[\r\n]/g, '') : value;
  if (compact.length % 4 !== 0) return undefined;
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  // Node's decoder also takes the URL-safe alphabet, and '=' only ends a value.
  const firstPad = compact.indexOf('=');
  if ((firstPad >= 0 && firstPad < compact.length - padding) || compact.includes('-') || compact.includes('_')) return undefined;
  // Node skips any other character outside the alphabet, so a value holding one decodes short.
  const bytes = Buffer.from(compact, 'base64');
  return bytes.length === (compact.length / 4) * 3 - padding ? bytes : undefined;
}

/**
 * Go's base64 error text for a value StdEncoding refuses ("illegal base64 data at input byte N"):
 * N is the first offending byte, or the length's last full quantum for a bad length.
 */
export function base64ErrorText(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '=') {
      const rest = value.slice(i);
      if ((rest === '=' || rest === '==') && value.length % 4 === 0) continue;
      return `illegal base64 data at input byte ${i}`;
    }
    if (!/[A-Za-z0-9+/]/.test(c)) return `illegal base64 data at input byte ${i}`;
  }
  return `illegal base64 data at input byte ${value.length - (value.length % 4)}`;
}

/** A base64 field's bytes, or a 400 with `message`. */
export function base64Field(value: string, message: string): Buffer {
  const bytes = decodeBase64(value);
  if (!bytes) throw badRequest(message);
  return bytes;
}

export function formatVersioned(version: number, payload: string): string {
  return `${VERSION_PREFIX}${version}:${payload}`;
}

/**
 * Splits `vault:v<N>:<payload>` and checks N against the key (keysutil's Decrypt/Verify parsing).
 * `what` names the value in Vault's messages: "ciphertext" or "signature".
 */
export function parseVersioned(
  value: string,
  what: 'ciphertext' | 'signature',
  p: Pick<TransitKeyPolicy, 'latestVersion' | 'minDecryptionVersion'>,
): { version: number; payload: string } {
  if (!value.startsWith(VERSION_PREFIX)) throw badRequest(`invalid ${what}: no prefix`);
  const rest = value.slice(VERSION_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon < 0) throw badRequest(`invalid ${what}: wrong number of fields`);
  const versionText = rest.slice(0, colon);
  if (!/^[+-]?\d{1,15}$/.test(versionText)) throw badRequest(`invalid ${what}: version number could not be decoded`);
  let version = Number(versionText);
  if (version === 0 && what === 'ciphertext') version = 1;
  if (version > p.latestVersion) throw badRequest(`invalid ${what}: version is too new`);
  if (p.minDecryptionVersion > 0 && version < p.minDecryptionVersion) throw badRequest('ciphertext or signature version is disallowed by policy (too old)');
  return { version, payload: rest.slice(colon + 1) };
}

const CURVE_NAMES: Partial<Record<TransitKeyType, string>> = { 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384', 'ecdsa-p521': 'P-521' };

/**
 * Vault's key read (path_keys.go formatKeyPolicy). `derivedPublicKeys`: for a derived ed25519 key
 * read with a context, each version's derived public key (without a context the public key is "").
 */
export function keyAnswer(p: TransitKeyPolicy, derivedPublicKeys?: Record<string, string>): Record<string, unknown> {
  const data: Record<string, unknown> = {
    name: p.name,
    type: p.type,
    derived: p.derived,
    deletion_allowed: p.deletionAllowed,
    min_available_version: p.minAvailableVersion,
    min_decryption_version: p.minDecryptionVersion,
    min_encryption_version: p.minEncryptionVersion,
    latest_version: p.latestVersion,
    exportable: p.exportable,
    allow_plaintext_backup: p.allowPlaintextBackup,
    supports_encryption: keyTypeSupports.encryption(p.type),
    supports_decryption: keyTypeSupports.decryption(p.type),
    supports_signing: keyTypeSupports.signing(p.type),
    supports_derivation: keyTypeSupports.derivation(p.type),
    auto_rotate_period: p.autoRotatePeriod,
    imported_key: p.importedKey,
    // SecretHub's addition (issue 29): rotation by usage.
    auto_rotate_after_operations: p.autoRotateAfterOperations,
  };
  if (p.keySize !== 0) data.key_size = p.keySize;
  if (p.importedKey) data.imported_key_allow_rotation = p.allowImportedKeyRotation;
  if (p.backupInfo) data.backup_info = p.backupInfo;
  if (p.restoreInfo) data.restore_info = p.restoreInfo;
  if (p.derived) {
    data.kdf = p.kdf === 0 ? 'hmac-sha256-counter' : 'hkdf_sha256';
    if (p.kdf === 0) data.kdf_mode = 'hmac-sha256-counter';
    data.convergent_encryption = p.convergentEncryption;
    if (p.convergentEncryption) data.convergent_encryption_version = p.convergentVersion;
  }
  // Vault lists the versions its policy holds: those from min_decryption_version on (older ones are archived).
  const entries = Object.entries(p.versions).filter(([v]) => Number(v) >= p.minDecryptionVersion);
  if (p.type === 'managed_key') {
    // Vault's KeyType_MANAGED_KEY supports encryption, decryption and signing (by what the managed key is).
    Object.assign(data, { supports_encryption: true, supports_decryption: true, supports_signing: true });
    data.managed_key_name = p.managedKeyName ?? '';
    data.managed_key_id = p.managedKeyId ?? '';
    data.keys = Object.fromEntries(entries.map(([v, info]) => [v, Math.floor(info.createdAt.getTime() / 1000)]));
  } else if (p.type === 'aes128-gcm96' || p.type === 'aes256-gcm96' || p.type === 'chacha20-poly1305') {
    data.keys = Object.fromEntries(entries.map(([v, info]) => [v, Math.floor(info.createdAt.getTime() / 1000)]));
  } else if (keyTypeSupports.signing(p.type)) {
    data.keys = Object.fromEntries(
      entries.map(([v, info]) => {
        let publicKey = info.publicKey ?? '';
        if (p.type === 'ed25519' && p.derived) publicKey = derivedPublicKeys?.[v] ?? '';
        const name = CURVE_NAMES[p.type] ?? p.type;
        return [v, { name, public_key: publicKey, certificate_chain: '', creation_time: info.createdAt.toISOString() }];
      }),
    );
  }
  return data;
}

/** A `batch_input` item: the fields the paths read, all optional (each path checks its own). */
export type BatchItem = Record<string, unknown>;

/** `batch_input` as a list of objects, or a 400 when it is not one (Vault: "failed to parse batch input"). */
export function batchItems(raw: unknown): BatchItem[] {
  if (!Array.isArray(raw) || raw.some((i) => i === null || typeof i !== 'object' || Array.isArray(i)))
    throw badRequest('failed to parse batch input: batch_input must be a list of objects');
  if (raw.length === 0) throw badRequest('missing batch input to process');
  return raw as BatchItem[];
}

/** An item's string field; a non-string is a 400 naming the item (Vault's decodeBatchRequestItems). */
export function itemString(item: BatchItem, index: number, field: string): string | undefined {
  const v = item[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(`'[${index}].${field}' expected type 'string', got unconvertible type '${goTypeName(v)}'`);
  return v;
}

/** An item's int field (a JSON number or numeric string, as Vault's decoder accepts). */
export function itemInt(item: BatchItem, index: number, field: string): number | undefined {
  const v = item[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^[+-]?\d{1,15}$/.test(v)) return Number(v);
  throw badRequest(`'[${index}].${field}' expected type 'int', got unconvertible type '${goTypeName(v)}'`);
}

function goTypeName(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'json.Number';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** A user error for one batch item: reported in its result, not thrown. */
export class ItemError extends Error {}

/**
 * A batch's answer. `statusRule` 'batchRequestResponse' (encrypt, decrypt: Vault's function of that
 * name): a batch with a failed item answers 400 (or the caller's `partial_failure_response_code`
 * when some succeeded) with every item's result. 'always-200' (sign, verify, hmac, rewrap, as
 * Vault's): the batch answers 200 and each failed item carries its error. A single request (no
 * batch_input) answers its error as a plain 400 either way.
 */
export function batchAnswer(
  results: Record<string, unknown>[],
  options: {
    batch: boolean;
    statusRule?: 'batchRequestResponse' | 'always-200';
    partialFailureCode?: number;
    warnings?: string[];
    single: (r: Record<string, unknown>) => Record<string, unknown>;
  },
): LogicalResponse {
  const failed = results.filter((r) => typeof r.error === 'string' && r.error !== '');
  if (!options.batch) {
    if (failed.length > 0) throw badRequest(failed[0].error as string);
    return logical(options.single(results[0]), options.warnings);
  }
  const response = logical({ batch_results: results }, options.warnings);
  if (failed.length === 0 || options.statusRule === 'always-200') return response;
  let status = 400;
  const code = options.partialFailureCode;
  if (code !== undefined && failed.length < results.length) {
    if (code < 1 || code > 599)
      response.warnings = [...(response.warnings ?? []), `invalid HTTP response code override from partial_failure_response_code, reverting to ${status}`];
    else status = code;
  }
  response.status = status;
  if (status >= 400) response.errors = [`${failed.length} of ${results.length} batch items failed`];
  return response;
}
