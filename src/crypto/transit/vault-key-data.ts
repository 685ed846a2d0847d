/**
 * Vault's transit backup document (`backup/:name`, `restore`): base64 of the JSON of keysutil's
 * KeyData, `{"policy": Policy, "archived_keys": {"keys": [KeyEntry, ...]}}` (sdk/helper/keysutil
 * policy.go, lock_manager.go), converted to and from our settings and per-version material forms
 * (key-types.ts), without loss for every key type but managed_key.
 *
 * Vault's forms: symmetric and hmac keys and ed25519 (Go's 64-byte key) are base64 `key`; ECDSA is
 * `ec_x`/`ec_y`/`ec_d` and RSA is Go's rsa.PrivateKey (`N`, `E`, `D`, `Primes`, `Precomputed`) or,
 * public only, `rsa_public_key` (`N`, `E`); those big integers are JSON numbers of any size, kept
 * exact here by `parseJsonKeepingIntegers`. `type` is keysutil's integer enum; `auto_rotate_period`
 * is nanoseconds; the archive holds versions archive_min_version.. at index version − that (entry 0
 * is an empty version 0 while nothing was trimmed); `keys` holds min_decryption_version..latest.
 *
 * Our forms: ECDSA and RSA private keys are PKCS#8 DER; a version imported as a public key only
 * (`publicKeyOnly`) holds the SPKI DER of that public key.
 *
 * Invariants: decode(encode(d)) has d's key material byte for byte, versions, settings and times to
 * the millisecond; a decoded asymmetric key is consistent (ed25519: the public half is the seed's;
 * ECDSA: the public point is d·G; RSA: N = P·Q); every
 * malformed backup throws TransitCryptoError with no key material in its message.
 */
import { createECDH, createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import {
  ECDSA_TYPES,
  RSA_TYPES,
  SYMMETRIC_TYPES,
  ed25519FromSeed,
  ed25519GoKey,
  publicKeyPem,
  symmetricKeyBytes,
  type KeyVersionMaterial,
  type TransitKeyType,
} from './key-types';
import { TransitCryptoError } from './symmetric';

/** keysutil's KeyType enum (policy.go), index = JSON value. */
const VAULT_KEY_TYPE_NUMBERS: readonly (TransitKeyType | undefined)[] = [
  'aes256-gcm96',
  'ecdsa-p256',
  'ed25519',
  'rsa-2048',
  'rsa-4096',
  'chacha20-poly1305',
  'ecdsa-p384',
  'ecdsa-p521',
  'aes128-gcm96',
  'rsa-3072',
  'managed_key',
  'hmac',
];

const CURVES: Record<string, { jwk: string; ecdh: string; bytes: number }> = {
  'ecdsa-p256': { jwk: 'P-256', ecdh: 'prime256v1', bytes: 32 },
  'ecdsa-p384': { jwk: 'P-384', ecdh: 'secp384r1', bytes: 48 },
  'ecdsa-p521': { jwk: 'P-521', ecdh: 'secp521r1', bytes: 66 },
};

const NANOS_PER_SECOND = 1_000_000_000n;
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

export interface KeyDataVersion {
  version: number;
  material: KeyVersionMaterial;
  createdAt: Date;
  /** What the key read shows for asymmetric types (PEM SPKI; base64 for ed25519). */
  publicKey?: string;
  /** The version's convergent scheme (0: the policy's). */
  convergentVersion: number;
  publicKeyOnly: boolean;
}

export interface KeyDataSettings {
  name: string;
  type: TransitKeyType;
  derived: boolean;
  kdf: number;
  convergentEncryption: boolean;
  convergentVersion: number;
  exportable: boolean;
  allowPlaintextBackup: boolean;
  deletionAllowed: boolean;
  latestVersion: number;
  minDecryptionVersion: number;
  minEncryptionVersion: number;
  minAvailableVersion: number;
  /** Seconds; 0 = never. */
  autoRotatePeriod: number;
  keySize: number;
  importedKey: boolean;
  allowImportedKeyRotation: boolean;
  backupInfo: { time: string; version: number } | null;
  restoreInfo: { time: string; version: number } | null;
}

/** A key as a backup carries it: its settings and every available version, in order. */
export interface KeyData {
  settings: KeyDataSettings;
  versions: KeyDataVersion[];
}

// ---------------------------------------------------------------------------------------------
// JSON with integers of any size

/**
 * JSON.parse, except that integer literals too long to be exact doubles (more than 15 digits)
 * become strings of their digits. Node 20 has no JSON.parse source access and no lossless-JSON
 * package is installed, so this walks the text once: outside string literals, every number token
 * is copied, quoted when it is such an integer. The result is then valid JSON for JSON.parse.
 */
export function parseJsonKeepingIntegers(text: string): unknown {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const start = i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      out += text.slice(start, ++i);
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const start = i;
      while (i < text.length && /[-+0-9.eE]/.test(text[i])) i++;
      const token = text.slice(start, i);
      out += /^-?\d{16,}$/.test(token) ? `"${token}"` : token;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out);
}

/** JSON.stringify where bigint values are written as JSON numbers (Go's big.Int form). */
function stringifyWithIntegers(value: unknown): string {
  const marker = '\u0000bigint:';
  const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${marker}${v}` : v));
  return json.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

// ---------------------------------------------------------------------------------------------
// Big integers and JWK members

function bigintFromJson(value: unknown, what: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new TransitCryptoError(`invalid backup: ${what} is not an integer`);
}

function optionalBigint(value: unknown, what: string): bigint | undefined {
  return value === null || value === undefined ? undefined : bigintFromJson(value, what);
}

function bigintToBytes(n: bigint, length?: number): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  if (length === undefined || bytes.length === length) return bytes;
  if (bytes.length > length) throw new TransitCryptoError('invalid backup: integer too large for the key type');
  return Buffer.concat([Buffer.alloc(length - bytes.length), bytes]);
}

const b64u = (n: bigint, length?: number) => bigintToBytes(n, length).toString('base64url');
const fromB64u = (s: string | undefined) => BigInt(`0x${Buffer.from(s ?? '', 'base64url').toString('hex') || '0'}`);

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [((a % m) + m) % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}

// ---------------------------------------------------------------------------------------------
// One version: Vault's KeyEntry ⇄ our material

type Json = Record<string, unknown>;

function base64Field(value: unknown, what: string): Buffer | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new TransitCryptoError(`invalid backup: ${what} is not base64`);
  return Buffer.from(value, 'base64');
}

function ecdsaFromEntry(type: TransitKeyType, entry: Json, version: number): { key: Buffer; publicKeyOnly: boolean } {
  const curve = CURVES[type];
  const x = optionalBigint(entry.ec_x, 'ec_x');
  const y = optionalBigint(entry.ec_y, 'ec_y');
  const d = optionalBigint(entry.ec_d, 'ec_d');
  if (x === undefined || y === undefined) throw new TransitCryptoError(`invalid backup: version ${version} has no ECDSA key`);
  const jwk: JsonWebKey = { kty: 'EC', crv: curve.jwk, x: b64u(x, curve.bytes), y: b64u(y, curve.bytes) };
  try {
    if (d === undefined) return { key: createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'spki' }), publicKeyOnly: true };
    const ecdh = createECDH(curve.ecdh);
    ecdh.setPrivateKey(bigintToBytes(d, curve.bytes));
    const point = ecdh.getPublicKey();
    if (!point.subarray(1).equals(Buffer.concat([bigintToBytes(x, curve.bytes), bigintToBytes(y, curve.bytes)])))
      throw new TransitCryptoError(`invalid backup: the ECDSA public point of version ${version} does not match its private key`);
    const key = createPrivateKey({ key: { ...jwk, d: b64u(d, curve.bytes) }, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' });
    return { key, publicKeyOnly: false };
  } catch (e) {
    if (e instanceof TransitCryptoError) throw e;
    throw new TransitCryptoError(`invalid backup: version ${version} is not a valid ${type} key`);
  }
}

function rsaFromEntry(type: TransitKeyType, entry: Json, version: number): { key: Buffer; publicKeyOnly: boolean } {
  const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
  try {
    if (isObject(entry.rsa_key)) {
      const k = entry.rsa_key;
      const primes = Array.isArray(k.Primes) ? k.Primes.map((p) => bigintFromJson(p, 'rsa_key.Primes')) : [];
      if (primes.length !== 2) throw new TransitCryptoError(`invalid backup: the RSA key of version ${version} must have exactly 2 primes`);
      const [n, e, d] = [bigintFromJson(k.N, 'rsa_key.N'), bigintFromJson(k.E, 'rsa_key.E'), bigintFromJson(k.D, 'rsa_key.D')];
      const [p, q] = primes;
      if (p * q !== n) throw new TransitCryptoError(`invalid backup: the RSA primes of version ${version} do not multiply to N`);
      const jwk: JsonWebKey = {
        kty: 'RSA',
        n: b64u(n),
        e: b64u(e),
        d: b64u(d),
        p: b64u(p),
        q: b64u(q),
        dp: b64u(d % (p - 1n)),
        dq: b64u(d % (q - 1n)),
        qi: b64u(modInverse(q, p)),
      };
      return { key: checkRsaSize(type, createPrivateKey({ key: jwk, format: 'jwk' }), version).export({ format: 'der', type: 'pkcs8' }), publicKeyOnly: false };
    }
    if (isObject(entry.rsa_public_key)) {
      const k = entry.rsa_public_key;
      const jwk: JsonWebKey = { kty: 'RSA', n: b64u(bigintFromJson(k.N, 'rsa_public_key.N')), e: b64u(bigintFromJson(k.E, 'rsa_public_key.E')) };
      return { key: checkRsaSize(type, createPublicKey({ key: jwk, format: 'jwk' }), version).export({ format: 'der', type: 'spki' }), publicKeyOnly: true };
    }
  } catch (e) {
    if (e instanceof TransitCryptoError) throw e;
    throw new TransitCryptoError(`invalid backup: version ${version} is not a valid ${type} key`);
  }
  throw new TransitCryptoError(`invalid backup: version ${version} has no RSA key`);
}

function checkRsaSize(type: TransitKeyType, key: KeyObject, version: number): KeyObject {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits !== Number(type.slice(4))) throw new TransitCryptoError(`invalid backup: version ${version} is not a ${type} key`);
  return key;
}

function versionFromEntry(type: TransitKeyType, entry: Json, version: number): KeyDataVersion {
  const hmacKey = base64Field(entry.hmac_key, 'hmac_key');
  const convergentVersion = typeof entry.convergent_version === 'number' ? entry.convergent_version : 0;
  const createdAt = entryTime(entry);
  const base = { version, createdAt, convergentVersion };
  const withHmac = (m: { key: Buffer }): KeyVersionMaterial => (hmacKey ? { key: m.key, hmacKey } : { key: m.key });

  if (SYMMETRIC_TYPES.includes(type) || type === 'hmac') {
    const key = base64Field(entry.key, 'key');
    if (!key) throw new TransitCryptoError(`invalid backup: version ${version} has no key`);
    const sizeOk = type === 'hmac' ? key.length >= 32 && key.length <= 512 : key.length === symmetricKeyBytes(type);
    if (!sizeOk) throw new TransitCryptoError(`invalid backup: invalid key size ${key.length} bytes for key type ${type} in version ${version}`);
    return { ...base, material: withHmac({ key }), publicKeyOnly: false };
  }
  if (type === 'ed25519') {
    const key = base64Field(entry.key, 'key');
    if (!key || key.length !== 64) throw new TransitCryptoError(`invalid backup: version ${version} is not a 64-byte ed25519 key`);
    if (!ed25519GoKey(ed25519FromSeed(key)).equals(key))
      throw new TransitCryptoError(`invalid backup: the ed25519 public key of version ${version} does not match its private key`);
    return { ...base, material: withHmac({ key }), publicKey: key.subarray(32).toString('base64'), publicKeyOnly: false };
  }
  const parsed = ECDSA_TYPES.includes(type) ? ecdsaFromEntry(type, entry, version) : rsaFromEntry(type, entry, version);
  return { ...base, material: withHmac(parsed), publicKey: versionPublicKeyPem(parsed.key, parsed.publicKeyOnly), publicKeyOnly: parsed.publicKeyOnly };
}

/** PEM SPKI of an ECDSA or RSA version's key (PKCS#8 DER, or SPKI DER when public only). */
function versionPublicKeyPem(key: Buffer, publicKeyOnly: boolean): string {
  if (!publicKeyOnly) return publicKeyPem(createPrivateKey({ key, format: 'der', type: 'pkcs8' }));
  return createPublicKey({ key, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();
}

function entryTime(entry: Json): Date {
  if (typeof entry.time === 'string' && entry.time !== GO_ZERO_TIME) {
    const t = new Date(entry.time);
    if (!Number.isNaN(t.getTime())) return t;
  }
  if (typeof entry.creation_time === 'number' && entry.creation_time > 0) return new Date(entry.creation_time * 1000);
  throw new TransitCryptoError('invalid backup: a key version has no creation time');
}

/** A KeyEntry with nothing in it: Vault's JSON of a zero KeyEntry (archive slots of trimmed versions). */
const EMPTY_ENTRY: Json = {
  key: null,
  hmac_key: null,
  time: GO_ZERO_TIME,
  ec_x: null,
  ec_y: null,
  ec_d: null,
  rsa_key: null,
  rsa_public_key: null,
  public_key: '',
  convergent_version: 0,
  creation_time: 0,
  public_key_imported: false,
};

function entryFromVersion(type: TransitKeyType, v: KeyDataVersion): Json {
  const entry: Json = {
    ...EMPTY_ENTRY,
    hmac_key: v.material.hmacKey ? v.material.hmacKey.toString('base64') : null,
    time: v.createdAt.toISOString(),
    convergent_version: v.convergentVersion,
    creation_time: Math.floor(v.createdAt.getTime() / 1000),
    public_key_imported: v.publicKeyOnly,
  };
  if (SYMMETRIC_TYPES.includes(type) || type === 'hmac') return { ...entry, key: v.material.key.toString('base64') };
  if (type === 'ed25519') return { ...entry, key: v.material.key.toString('base64'), public_key: v.material.key.subarray(32).toString('base64') };
  const keyObject = v.publicKeyOnly
    ? createPublicKey({ key: v.material.key, format: 'der', type: 'spki' })
    : createPrivateKey({ key: v.material.key, format: 'der', type: 'pkcs8' });
  const jwk = keyObject.export({ format: 'jwk' });
  if (ECDSA_TYPES.includes(type)) {
    const publicKey = versionPublicKeyPem(v.material.key, v.publicKeyOnly);
    return { ...entry, ec_x: fromB64u(jwk.x), ec_y: fromB64u(jwk.y), ec_d: v.publicKeyOnly ? null : fromB64u(jwk.d), public_key: publicKey };
  }
  const publicPart = { N: fromB64u(jwk.n), E: Number(fromB64u(jwk.e)) };
  if (v.publicKeyOnly) return { ...entry, rsa_public_key: publicPart };
  const rsaKey = {
    ...publicPart,
    D: fromB64u(jwk.d),
    Primes: [fromB64u(jwk.p), fromB64u(jwk.q)],
    Precomputed: { Dp: fromB64u(jwk.dp), Dq: fromB64u(jwk.dq), Qinv: fromB64u(jwk.qi), CRTValues: [] },
  };
  return { ...entry, rsa_key: rsaKey, rsa_public_key: publicPart };
}

function isEmptyEntry(entry: Json): boolean {
  return [entry.key, entry.ec_x, entry.ec_d, entry.rsa_key, entry.rsa_public_key].every((v) => v === null || v === undefined || v === '');
}

// ---------------------------------------------------------------------------------------------
// The document

/** Vault's backup string of `data` (Policy.Backup: the policy with backup_info set, and the archive). */
export function encodeVaultBackup(data: KeyData): string {
  const s = data.settings;
  if (s.type === 'managed_key') throw new TransitCryptoError('managed keys cannot be backed up');
  const byVersion = new Map(data.versions.map((v) => [v.version, v]));
  const keys: Record<string, Json> = {};
  for (let v = s.minDecryptionVersion; v <= s.latestVersion; v++) {
    const version = byVersion.get(v);
    if (version) keys[String(v)] = entryFromVersion(s.type, version);
  }
  const archive: Json[] = [];
  for (let v = s.minAvailableVersion; v <= s.latestVersion; v++) {
    const version = byVersion.get(v);
    archive.push(version ? entryFromVersion(s.type, version) : EMPTY_ENTRY);
  }
  const policy: Json = {
    name: s.name,
    ...(s.keySize > 0 ? { key_size: s.keySize } : {}),
    keys,
    derived: s.derived,
    kdf: s.kdf,
    convergent_encryption: s.convergentEncryption,
    exportable: s.exportable,
    min_decryption_version: s.minDecryptionVersion,
    min_encryption_version: s.minEncryptionVersion,
    latest_version: s.latestVersion,
    archive_version: s.latestVersion,
    archive_min_version: s.minAvailableVersion,
    min_available_version: s.minAvailableVersion,
    deletion_allowed: s.deletionAllowed,
    convergent_version: s.convergentVersion,
    type: VAULT_KEY_TYPE_NUMBERS.indexOf(s.type),
    backup_info: s.backupInfo,
    restore_info: s.restoreInfo,
    allow_plaintext_backup: s.allowPlaintextBackup,
    version_template: '',
    storage_prefix: '',
    auto_rotate_period: BigInt(s.autoRotatePeriod) * NANOS_PER_SECOND,
    Imported: s.importedKey,
    AllowImportedKeyRotation: s.allowImportedKeyRotation,
  };
  return Buffer.from(stringifyWithIntegers({ policy, archived_keys: { keys: archive } }), 'utf8').toString('base64');
}

const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const int = (v: unknown, fallback = 0): number => (typeof v === 'number' && Number.isInteger(v) ? v : fallback);
const bool = (v: unknown): boolean => v === true;

function info(v: unknown): { time: string; version: number } | null {
  if (!isJson(v) || typeof v.time !== 'string') return null;
  return { time: v.time, version: int(v.version) };
}

/** Decodes Vault's backup string (RestorePolicy's reading, with Policy.Upgrade's defaults). */
export function decodeVaultBackup(backup: string): KeyData {
  const compact = backup.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) throw new TransitCryptoError('invalid backup: not base64');
  let document: unknown;
  try {
    document = parseJsonKeepingIntegers(Buffer.from(compact, 'base64').toString('utf8'));
  } catch {
    throw new TransitCryptoError('invalid backup: not a JSON document');
  }
  if (!isJson(document) || !isJson(document.policy)) throw new TransitCryptoError('backup data does not contain a valid policy');
  const p = document.policy;
  const type = VAULT_KEY_TYPE_NUMBERS[int(p.type, -1)];
  if (type === undefined) throw new TransitCryptoError(`invalid backup: unknown key type ${JSON.stringify(p.type)}`);
  if (type === 'managed_key') throw new TransitCryptoError('restoring managed keys is not supported');
  if (typeof p.name !== 'string') throw new TransitCryptoError('invalid backup: the policy has no name');

  const policyKeys: Json = isJson(p.keys) ? { ...p.keys } : {};
  // Keys stored before versioning (Policy.MigrateKeyToKeysMap): the deprecated `key` is version 1.
  if (Object.keys(policyKeys).length === 0 && typeof p.key === 'string' && p.key !== '') policyKeys['1'] = { key: p.key, time: new Date().toISOString() };
  const latestVersion = int(p.latest_version) || Object.keys(policyKeys).length;
  if (latestVersion < 1) throw new TransitCryptoError('invalid backup: the policy has no key versions');
  const archive = isJson(document.archived_keys) && Array.isArray(document.archived_keys.keys) ? document.archived_keys.keys : [];
  const archiveBase = int(p.archive_min_version);

  const versions: KeyDataVersion[] = [];
  for (let v = latestVersion; v >= 1; v--) {
    const fromArchive = archive[v - archiveBase] as unknown;
    const entry = isJson(policyKeys[String(v)]) ? (policyKeys[String(v)] as Json) : isJson(fromArchive) && !isEmptyEntry(fromArchive) ? fromArchive : undefined;
    if (!entry) break;
    versions.unshift(versionFromEntry(type, entry, v));
  }
  const lowest = versions[0]?.version ?? latestVersion + 1;
  const minDecryptionVersion = Math.max(int(p.min_decryption_version), 1);
  if (lowest > Math.min(minDecryptionVersion, latestVersion)) throw new TransitCryptoError(`invalid backup: key version ${lowest - 1} is missing`);

  const autoRotateNanos = optionalBigint(p.auto_rotate_period, 'auto_rotate_period') ?? 0n;
  const settings: KeyDataSettings = {
    name: p.name,
    type,
    derived: bool(p.derived),
    kdf: int(p.kdf),
    convergentEncryption: bool(p.convergent_encryption),
    convergentVersion: int(p.convergent_version),
    exportable: bool(p.exportable),
    allowPlaintextBackup: bool(p.allow_plaintext_backup),
    deletionAllowed: bool(p.deletion_allowed),
    latestVersion,
    minDecryptionVersion,
    minEncryptionVersion: int(p.min_encryption_version),
    minAvailableVersion: lowest > 1 ? lowest : int(p.min_available_version),
    autoRotatePeriod: Number(autoRotateNanos / NANOS_PER_SECOND),
    keySize: int(p.key_size),
    importedKey: bool(p.Imported),
    allowImportedKeyRotation: bool(p.AllowImportedKeyRotation),
    backupInfo: info(p.backup_info),
    restoreInfo: info(p.restore_info),
  };
  checkSettings(settings);
  return { settings, versions };
}

function checkSettings(s: KeyDataSettings): void {
  if (s.kdf !== 0 && s.kdf !== 1) throw new TransitCryptoError(`invalid backup: unknown key derivation function ${s.kdf}`);
  if (s.convergentEncryption && !s.derived) throw new TransitCryptoError('convergent encryption requires derivation to be enabled');
  if (s.minDecryptionVersion > s.latestVersion)
    throw new TransitCryptoError(`minimum decryption version of ${s.minDecryptionVersion} is greater than the latest version ${s.latestVersion}`);
  if (s.minEncryptionVersion < 0 || s.minEncryptionVersion > s.latestVersion)
    throw new TransitCryptoError('invalid backup: min_encryption_version is out of range');
  if (s.autoRotatePeriod !== 0 && (s.autoRotatePeriod < 3600 || s.autoRotatePeriod > 2 ** 31 - 1))
    throw new TransitCryptoError('auto rotate period must be 0 to disable or at least an hour');
  if (RSA_TYPES.includes(s.type) || ECDSA_TYPES.includes(s.type)) {
    if (s.derived) throw new TransitCryptoError(`key derivation and convergent encryption not supported for keys of type ${s.type}`);
  }
}
