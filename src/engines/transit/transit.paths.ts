/**
 * Vault's transit engine, first increment (builtin/logical/transit path_keys.go, path_config_keys,
 * path_rotate.go, path_encrypt.go, path_decrypt.go): aes256-gcm96 keys only.
 *
 * Wire formats, as Vault's keysutil: a ciphertext is `vault:v<version>:<base64(nonce (12) ‖
 * ciphertext ‖ tag (16))>`, AES-256-GCM with no AAD (softwareAesGcmEncrypter's layout is exactly
 * that); plaintexts travel base64.
 *
 * Invariants: no answer and no error message carries a plaintext or key material; a version below
 * `min_decryption_version` or above `latest_version` never decrypts; a key is deleted only once
 * `deletion_allowed` is set.
 */
import { AES_256_KEY_BYTES, IntegrityError, softwareAesGcmEncrypter } from '../../crypto/encrypter';
import { randomKey } from '../../crypto/random';
import type { Fields } from '../../framework/fields';
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { badRequest, notFound } from '../../kernel/errors';
import type { TransitKeyPolicy, TransitRepository } from './transit.repository';

export const TRANSIT_KEY_TYPES = ['aes256-gcm96'] as const;
const DEFAULT_KEY_TYPE = 'aes256-gcm96';
const CIPHERTEXT_PREFIX = 'vault:v';
const NAME = /^\w(?:[\w.-]*\w)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const TYPE_FIELD = { type: { type: 'string', description: 'The key type: aes256-gcm96 (the default; the only one so far).' } } as const satisfies Fields;

/** The key's type, as given (default aes256-gcm96); any other → 400 naming the ones supported. */
export function keyType(type: string | undefined): string {
  const t = type === undefined || type === '' ? DEFAULT_KEY_TYPE : type;
  if (!(TRANSIT_KEY_TYPES as readonly string[]).includes(t))
    throw badRequest(`unknown key type ${t}; this server supports only ${TRANSIT_KEY_TYPES.join(', ')} so far`);
  return t;
}

/** Vault's key read (formatKeyPolicy) for a symmetric key: `keys` maps version → creation time (unix seconds). */
export function keyAnswer(p: TransitKeyPolicy): Record<string, unknown> {
  return {
    name: p.name,
    type: p.type,
    keys: p.versionTimes,
    latest_version: p.latestVersion,
    min_available_version: 0,
    min_decryption_version: p.minDecryptionVersion,
    min_encryption_version: p.minEncryptionVersion,
    deletion_allowed: p.deletionAllowed,
    derived: false,
    exportable: false,
    allow_plaintext_backup: false,
    supports_encryption: true,
    supports_decryption: true,
    supports_derivation: true,
    supports_signing: false,
    auto_rotate_period: 0,
    convergent_encryption: false,
    imported_key: false,
  };
}

function checkedName(ctx: RequestContext): string {
  const name = ctx.params.name;
  if (!NAME.test(name)) throw badRequest(`invalid key name ${JSON.stringify(name)}`);
  return name;
}

function decodeBase64(value: string): Buffer | undefined {
  const compact = value.replace(/\s+/g, '');
  return BASE64.test(compact) ? Buffer.from(compact, 'base64') : undefined;
}

export function transitPaths(repository: TransitRepository): RouteDefinition[] {
  const create = async (mountUuid: string, name: string, type: string): Promise<boolean> =>
    repository.create(mountUuid, name, type, randomKey(AES_256_KEY_BYTES));
  const read = async (ctx: RequestContext, name: string): Promise<TransitKeyPolicy> => {
    const p = await repository.policy(ctx.mount.uuid, name);
    if (!p) throw notFound();
    return p;
  };

  return [
    {
      path: 'keys',
      help: 'Lists the named keys.',
      handlers: {
        list: async (ctx) => {
          const names = await repository.names(ctx.mount.uuid);
          if (names.length === 0) throw notFound();
          return logical({ keys: names });
        },
      },
    },
    route({
      path: 'keys/:name',
      fields: {
        ...TYPE_FIELD,
        derived: { type: 'bool', description: 'Key derivation (not supported yet).' },
        convergent_encryption: { type: 'bool', description: 'Convergent encryption (not supported yet).' },
        exportable: { type: 'bool', description: 'Whether the key may be exported (not supported yet).' },
        allow_plaintext_backup: { type: 'bool', description: 'Whether a plaintext backup may be taken (not supported yet).' },
        auto_rotate_period: { type: 'duration', description: 'Automatic rotation (only 0 so far).' },
      },
      help: "Creates (POST), reads (Vault's shape, never the key) or deletes (only with deletion_allowed) a named key.",
      pureOperations: ['read'],
      handlers: {
        read: async (ctx) => logical(keyAnswer(await read(ctx, checkedName(ctx)))),
        update: async (ctx) => {
          const name = checkedName(ctx);
          const type = keyType(ctx.data.type);
          for (const field of ['derived', 'convergent_encryption', 'exportable', 'allow_plaintext_backup'] as const)
            if (ctx.data[field] === true) throw badRequest(`${field} is not supported yet`);
          if (ctx.data.auto_rotate_period) throw badRequest('auto_rotate_period is not supported yet');
          const created = await create(ctx.mount.uuid, name, type);
          return logical(keyAnswer(await read(ctx, name)), created ? undefined : [`key ${name} already existed`]);
        },
        delete: async (ctx) => {
          const name = checkedName(ctx);
          const p = await repository.policy(ctx.mount.uuid, name);
          if (!p) throw badRequest('could not delete key; not found');
          if (!p.deletionAllowed) throw badRequest('deletion is not allowed for this key');
          await repository.delete(ctx.mount.uuid, name);
          return null;
        },
      },
    }),
    route({
      path: 'keys/:name/config',
      fields: {
        deletion_allowed: { type: 'bool', description: 'Whether the key may be deleted.' },
        min_decryption_version: { type: 'int', description: 'The oldest version that decrypts (0: 1).' },
        min_encryption_version: { type: 'int', description: 'The oldest version that encrypts (0: the latest).' },
      },
      help: "Configures a key's deletion_allowed, min_decryption_version and min_encryption_version.",
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          const warnings: string[] = [];
          const { deletion_allowed, min_decryption_version, min_encryption_version } = ctx.data;
          if (min_decryption_version !== undefined && min_decryption_version < 0) throw badRequest('min decryption version cannot be negative');
          if (min_encryption_version !== undefined && min_encryption_version < 0) throw badRequest('min encryption version cannot be negative');
          const p = await repository.configure(ctx.mount.uuid, name, (current) => {
            const change: { deletionAllowed?: boolean; minDecryptionVersion?: number; minEncryptionVersion?: number } = {};
            if (deletion_allowed !== undefined) change.deletionAllowed = deletion_allowed;
            let minDecryption = current.minDecryptionVersion;
            if (min_decryption_version !== undefined) {
              minDecryption = min_decryption_version;
              if (minDecryption === 0) {
                minDecryption = 1;
                warnings.push('since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1');
              }
              if (minDecryption !== current.minDecryptionVersion && minDecryption > current.latestVersion)
                throw badRequest(`cannot set min decryption version of ${minDecryption}, latest key version is ${current.latestVersion}`);
              change.minDecryptionVersion = minDecryption;
            }
            let minEncryption = current.minEncryptionVersion;
            if (min_encryption_version !== undefined) {
              minEncryption = min_encryption_version;
              if (minEncryption > current.latestVersion)
                throw badRequest(`cannot set min encryption version of ${minEncryption}, latest key version is ${current.latestVersion}`);
              change.minEncryptionVersion = minEncryption;
            }
            if (minEncryption > 0 && minEncryption < minDecryption)
              throw badRequest(`min encryption version ${minEncryption} cannot be less than min decryption version ${minDecryption}`);
            return change;
          });
          if (!p) throw badRequest(`no existing key named ${name} could be found`);
          return logical(keyAnswer(p), warnings.length ? warnings : undefined);
        },
      },
    }),
    route({
      path: 'keys/:name/rotate',
      fields: {},
      help: 'Adds a new version of the key (one transaction); new encryptions use it.',
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          const p = await repository.rotate(ctx.mount.uuid, name, () => randomKey(AES_256_KEY_BYTES));
          if (!p) throw badRequest('key not found');
          return logical(keyAnswer(p));
        },
      },
    }),
    route({
      path: 'encrypt/:name',
      fields: {
        ...TYPE_FIELD,
        plaintext: { type: 'string', description: 'The plaintext, base64.' },
        key_version: { type: 'int', description: 'The key version to encrypt with (0: the latest).' },
      },
      help: 'Encrypts base64 `plaintext` with the named key (created on first use): `ciphertext` vault:v<N>:… and `key_version`.',
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          if (ctx.data.plaintext === undefined) throw badRequest('missing plaintext to encrypt');
          const plaintext = decodeBase64(ctx.data.plaintext);
          if (!plaintext) throw badRequest('failed to base64-decode plaintext');
          let p = await repository.policy(ctx.mount.uuid, name);
          if (!p) {
            await create(ctx.mount.uuid, name, keyType(ctx.data.type));
            p = await read(ctx, name);
          }
          let version = ctx.data.key_version ?? 0;
          if (version === 0) version = p.latestVersion;
          else if (version > p.latestVersion) throw badRequest('requested version for encryption is higher than the latest key version');
          else if (version < p.minEncryptionVersion) throw badRequest('requested version for encryption is less than the minimum encryption key version');
          const key = await repository.keyMaterial(ctx.mount.uuid, name, version);
          if (!key) throw badRequest('key version not found');
          const sealed = await softwareAesGcmEncrypter(key).encrypt(plaintext);
          return logical({ ciphertext: `${CIPHERTEXT_PREFIX}${version}:${sealed.toString('base64')}`, key_version: version });
        },
      },
    }),
    route({
      path: 'decrypt/:name',
      fields: { ciphertext: { type: 'string', description: 'The ciphertext, vault:v<N>:<base64>.' } },
      help: 'Decrypts a ciphertext of the named key: `plaintext`, base64.',
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          const value = ctx.data.ciphertext;
          if (value === undefined || value === '') throw badRequest('missing ciphertext to decrypt');
          const p = await repository.policy(ctx.mount.uuid, name);
          if (!p) throw badRequest('encryption key not found');
          const version = parseCiphertext(value, p);
          const key = await repository.keyMaterial(ctx.mount.uuid, name, version.version);
          if (!key) throw badRequest('invalid ciphertext: version is too new');
          if (version.body.length < 12) throw badRequest('invalid ciphertext length');
          try {
            const plaintext = await softwareAesGcmEncrypter(key).decrypt(version.body);
            return logical({ plaintext: plaintext.toString('base64') });
          } catch (err) {
            if (err instanceof IntegrityError) throw badRequest('invalid ciphertext: unable to decrypt');
            throw err;
          }
        },
      },
    }),
  ];
}

/** keysutil Policy.Decrypt's parsing, with its messages. */
export function parseCiphertext(value: string, p: Pick<TransitKeyPolicy, 'latestVersion' | 'minDecryptionVersion'>): { version: number; body: Buffer } {
  if (!value.startsWith(CIPHERTEXT_PREFIX)) throw badRequest('invalid ciphertext: no prefix');
  const rest = value.slice(CIPHERTEXT_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon < 0) throw badRequest('invalid ciphertext: wrong number of fields');
  const versionText = rest.slice(0, colon);
  if (!/^[+-]?\d+$/.test(versionText)) throw badRequest('invalid ciphertext: version number could not be decoded');
  let version = Number(versionText);
  if (!Number.isSafeInteger(version)) throw badRequest('invalid ciphertext: version number could not be decoded');
  if (version === 0) version = 1;
  if (version > p.latestVersion) throw badRequest('invalid ciphertext: version is too new');
  if (p.minDecryptionVersion > 0 && version < p.minDecryptionVersion) throw badRequest('ciphertext version is disallowed by policy (too old)');
  const encoded = rest.slice(colon + 1);
  if (!BASE64.test(encoded)) throw badRequest('invalid ciphertext: could not decode base64');
  return { version, body: Buffer.from(encoded, 'base64') };
}
