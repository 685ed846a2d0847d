/**
 * Transit's ways for key material to leave or enter the server, as Vault's path_export.go,
 * path_backup.go, path_restore.go, path_wrapping_key.go and path_import.go: export of exportable
 * keys, backups in Vault's format (crypto/transit/vault-key-data.ts), restore, the mount's RSA-4096
 * wrapping key and BYOK import (crypto/transit/byok.ts).
 *
 * The wrapping key is a transit key of the mount named `import/wrapping-key` (Vault's storage name),
 * which no request can name (key names have no '/'): barrier-sealed like every key, created on the
 * first read or import, never exportable.
 *
 * Invariants: private material leaves only for keys with `exportable` (backups also need
 * `allow_plaintext_backup`), and a backup records backup_info; a restore writes the key and all its
 * versions in one transaction and never replaces an existing key without `force`; an import
 * stores a key only after both wrapping layers authenticate; no error message carries key material.
 */
import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { importHash, importedKeyVersion, importedPublicKeyVersion, isKeyPairOf, unwrapImportCiphertext, type ImportedVersion } from '../../crypto/transit/byok';
import {
  ECDSA_TYPES,
  RSA_TYPES,
  SYMMETRIC_TYPES,
  keyTypeSupports,
  privateKeyObject,
  publicKeyPem,
  VERSION_HMAC_KEY_BYTES,
  type TransitKeyType,
} from '../../crypto/transit/key-types';
import { randomKey } from '../../crypto/random';
import { TransitCryptoError } from '../../crypto/transit/symmetric';
import { decodeVaultBackup, encodeVaultBackup, type KeyData, type KeyDataVersion } from '../../crypto/transit/vault-key-data';
import type { Fields } from '../../framework/fields';
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { badRequest, notFound } from '../../kernel/errors';
import { actorOf, base64ErrorText, checkedName, decodeBase64, type TransitDeps } from './transit-common';
import { userErrors } from './transit-encrypt.paths';
import { checkAutoRotatePeriod, checkDerivation, newKey } from './transit-keys.paths';
import type { NewTransitVersion, TransitKeyPolicy } from './transit.repository';

/** Vault's storage name of the wrapping key (fmt.Sprintf("import/%s", WrappingKeyName)). */
export const WRAPPING_KEY_NAME = 'import/wrapping-key';
const WRAPPING_KEY_TYPE: TransitKeyType = 'rsa-4096';
const KEY_NAME = /^\w(?:[\w.-]*\w)?$/;
const generateRsaKeyPair = promisify(generateKeyPair);

const EXPORT_TYPES = ['encryption-key', 'signing-key', 'hmac-key', 'public-key', 'certificate-chain'] as const;
type ExportType = (typeof EXPORT_TYPES)[number];

/** keysutil's key types an import may create (path_import.go's type switch). */
const IMPORT_TYPES: readonly TransitKeyType[] = [...SYMMETRIC_TYPES, ...ECDSA_TYPES, ...RSA_TYPES, 'ed25519', 'hmac'];

// ---------------------------------------------------------------------------------------------
// export

const pemOf = (der: Buffer, kind: 'pkcs1' | 'sec1') =>
  createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: kind }).toString();

/** Vault's getExportKey: one version's key as `export/<exportType>` shows it. */
function exportedKey(type: TransitKeyType, exportType: ExportType, key: Buffer, hmacKey: Buffer | undefined, publicKeyOnly: boolean): string {
  const asymmetric = ECDSA_TYPES.includes(type) || RSA_TYPES.includes(type);
  const spkiPem = () =>
    (publicKeyOnly ? createPublicKey({ key, format: 'der', type: 'spki' }) : createPublicKey(createPrivateKey({ key, format: 'der', type: 'pkcs8' })))
      .export({ format: 'pem', type: 'spki' })
      .toString();
  if (exportType === 'hmac-key') return (type === 'hmac' ? key : (hmacKey ?? Buffer.alloc(0))).toString('base64');
  if (exportType === 'encryption-key' && SYMMETRIC_TYPES.includes(type)) return key.toString('base64');
  if ((exportType === 'encryption-key' || exportType === 'signing-key') && RSA_TYPES.includes(type)) return publicKeyOnly ? '' : pemOf(key, 'pkcs1');
  if (exportType === 'signing-key' && ECDSA_TYPES.includes(type)) return publicKeyOnly ? '' : pemOf(key, 'sec1').trim();
  if (exportType === 'signing-key' && type === 'ed25519') return key.toString('base64');
  if (exportType === 'public-key' && type === 'ed25519') return key.subarray(32).toString('base64');
  if (exportType === 'public-key' && asymmetric) return ECDSA_TYPES.includes(type) ? spkiPem().trim() : spkiPem();
  if (exportType === 'certificate-chain') throw badRequest('selected key version does not have a certificate chain imported');
  throw badRequest(`unknown key type ${type} for export type ${exportType}`);
}

/** The `:version` of an export ("latest", "v3", "3"), checked as path_export.go does. */
function exportVersion(p: TransitKeyPolicy, raw: string): number {
  let version: number;
  if (raw === 'latest') version = p.latestVersion;
  else {
    const digits = raw.startsWith('v') ? raw.slice(1) : raw;
    if (!/^[+-]?\d{1,15}$/.test(digits)) throw badRequest('invalid key version');
    version = Number(digits);
  }
  if (version < p.minDecryptionVersion) throw badRequest('version for export is below minimum decryption version');
  if (!p.versions[String(version)]) throw badRequest('version does not exist or cannot be found');
  return version;
}

// ---------------------------------------------------------------------------------------------
// backup and restore

async function keyData(deps: TransitDeps, mountUuid: string, p: TransitKeyPolicy): Promise<KeyData> {
  const versions: KeyDataVersion[] = [];
  for (const [v, info] of Object.entries(p.versions)) {
    const material = await deps.store.material(mountUuid, p.name, Number(v));
    if (!material) throw new Error(`transit key ${p.name} version ${v} vanished during its backup`);
    versions.push({
      version: Number(v),
      material,
      createdAt: info.createdAt,
      publicKey: info.publicKey,
      convergentVersion: info.convergentVersion,
      publicKeyOnly: info.publicKeyOnly,
    });
  }
  return { settings: { ...p }, versions };
}

/** What Vault's Policy.Upgrade does to a policy it loads: an hmac key for the latest version, convergent version 1 for old convergent keys. */
function upgraded(data: KeyData): KeyData {
  const versions = data.versions.map((v) =>
    v.version === data.settings.latestVersion && !v.material.hmacKey ? { ...v, material: { ...v.material, hmacKey: randomKey(VERSION_HMAC_KEY_BYTES) } } : v,
  );
  const convergentVersion = data.settings.convergentEncryption && data.settings.convergentVersion === 0 ? 1 : data.settings.convergentVersion;
  return { settings: { ...data.settings, convergentVersion }, versions };
}

// ---------------------------------------------------------------------------------------------
// import

const IMPORT_FIELDS = {
  ciphertext: { type: 'string', description: 'base64: RSA-OAEP (wrapping key) of an ephemeral AES-256 key, then that key’s RFC 5649 wrap of the key.' },
  public_key: { type: 'string', description: 'A PEM public key to import alone (ECDSA, RSA), instead of ciphertext.' },
  hash_function: { type: 'string', description: 'The OAEP hash: SHA1, SHA224, SHA256 (default), SHA384 or SHA512.' },
} as const satisfies Fields;

export function transitBackupPaths(deps: TransitDeps): RouteDefinition[] {
  const { store } = deps;
  const policyOf = async (ctx: RequestContext, name: string): Promise<TransitKeyPolicy | undefined> => store.policy(ctx.mount.uuid, name);

  /** The mount's wrapping key, created on first use (a concurrent creation leaves one). */
  const wrappingKey = async (ctx: RequestContext): Promise<TransitKeyPolicy> => {
    let p = await policyOf(ctx, WRAPPING_KEY_NAME);
    if (!p) {
      // RSA-4096 generation takes seconds: off the event loop, unlike the other types' (newVersion).
      const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: 4096, publicExponent: 65537 });
      const material = { key: privateKey.export({ format: 'der', type: 'pkcs8' }), hmacKey: randomKey(VERSION_HMAC_KEY_BYTES) };
      await store.create(ctx.mount.uuid, WRAPPING_KEY_NAME, newKey(WRAPPING_KEY_TYPE, {}), [{ material, publicKey: publicKeyPem(privateKey) }]);
      p = await policyOf(ctx, WRAPPING_KEY_NAME);
    }
    if (!p) throw new Error('error retrieving wrapping key: returned policy was nil');
    return p;
  };

  /** The key a request imports: unwrapped from `ciphertext`, or `public_key` alone (extractKeyFromFields). */
  const importedFromFields = async (ctx: RequestContext, type: TransitKeyType, data: { ciphertext?: string; public_key?: string; hash_function?: string }) => {
    if (data.ciphertext !== undefined && data.public_key !== undefined)
      throw badRequest('only one of the following fields, ciphertext and public_key, can be set');
    if (data.ciphertext === undefined) {
      if (data.public_key === undefined) throw badRequest('one of the following fields, ciphertext xor public_key, has to be set');
      return userErrors(() => importedPublicKeyVersion(type, data.public_key as string));
    }
    const hash = userErrors(() => importHash(data.hash_function));
    const ciphertext = decodeBase64(data.ciphertext);
    if (!ciphertext) throw badRequest(base64ErrorText(data.ciphertext));
    const wrapping = await wrappingKey(ctx);
    const material = await store.material(ctx.mount.uuid, WRAPPING_KEY_NAME, wrapping.latestVersion);
    if (!material) throw new Error('error importing key: wrapping key was nil');
    const target = userErrors(() => unwrapImportCiphertext(privateKeyObject(WRAPPING_KEY_TYPE, material), ciphertext, hash));
    try {
      return importedKeyVersion(type, target);
    } catch (err) {
      if (err instanceof TransitCryptoError) throw badRequest(`error importing key: ${err.message}`);
      throw err;
    } finally {
      target.fill(0);
    }
  };

  const asNewVersion = (v: ImportedVersion): NewTransitVersion => ({ material: v.material, publicKey: v.publicKey, publicKeyOnly: v.publicKeyOnly });

  return [
    route({
      path: 'export/:type/:name',
      help: "Exports every available version of an exportable key (public-key: any signing key's public keys).",
      pureOperations: ['read'],
      handlers: { read: async (ctx) => exportAnswer(ctx, undefined) },
    }),
    route({
      path: 'export/:type/:name/:version',
      help: 'Exports one version ("latest", "v<N>" or "<N>") of an exportable key.',
      pureOperations: ['read'],
      handlers: { read: async (ctx) => exportAnswer(ctx, ctx.params.version) },
    }),
    route({
      path: 'backup/:name',
      help: "A plaintext backup of the key in Vault's format (needs exportable and allow_plaintext_backup); records backup_info.",
      handlers: {
        read: async (ctx) => {
          const name = checkedName(ctx);
          const p = await store.update(ctx.mount.uuid, name, (current) => {
            if (!current.exportable) throw badRequest('exporting is disallowed on the policy');
            if (!current.allowPlaintextBackup) throw badRequest('plaintext backup is disallowed on the policy');
            if (current.type === 'managed_key') throw badRequest('managed keys cannot be backed up');
            return { change: { backupInfo: { time: new Date().toISOString(), version: current.latestVersion } } };
          });
          if (!p) throw badRequest(`key "${name}" not found`);
          return logical({ backup: encodeVaultBackup(await keyData(deps, ctx.mount.uuid, p)) });
        },
      },
    }),
    ...['restore', 'restore/*name'].map((path) =>
      route({
        path,
        fields: {
          backup: { type: 'string', description: "The backup/ endpoint's output." },
          name: { type: 'string', description: "The restored key's name (default: the name in the backup)." },
          force: { type: 'bool', description: 'Replace an existing key of that name.' },
        },
        help: "Restores a key from a backup in Vault's format; an existing key only with force. Records restore_info.",
        handlers: {
          update: async (ctx) => {
            const backup = ctx.data.backup ?? '';
            if (backup === '') throw badRequest("'backup' must be supplied");
            const wanted = ctx.params.name ?? ctx.data.name ?? '';
            if (wanted.includes('/')) throw badRequest('key names cannot be paths');
            const data = upgraded(userErrors(() => decodeVaultBackup(backup)));
            const name = wanted !== '' ? wanted : data.settings.name;
            if (!KEY_NAME.test(name)) throw badRequest(`invalid key name ${JSON.stringify(name)}`);
            const { name: _ignored, type, ...settings } = data.settings;
            const key = { type, ...settings, restoreInfo: { time: new Date().toISOString(), version: settings.latestVersion } };
            const restored = await store.restore(ctx.mount.uuid, name, key, data.versions, ctx.data.force ?? false, {
              event: 'restore',
              reason: ctx.data.force ? 'forced restore' : 'restore',
              actor: actorOf(ctx),
            });
            if (!restored) throw badRequest(`key "${name}" already exists`);
            return null;
          },
        },
      }),
    ),
    route({
      path: 'wrapping_key',
      help: "The mount's RSA-4096 public key for wrapping keys to import (created on first read).",
      handlers: {
        read: async (ctx) => {
          const p = await wrappingKey(ctx);
          return logical({ public_key: p.versions[String(p.latestVersion)].publicKey });
        },
      },
    }),
    route({
      path: 'keys/:name/import',
      fields: {
        ...IMPORT_FIELDS,
        type: { type: 'string', description: 'The key type (default aes256-gcm96).' },
        allow_rotation: { type: 'bool', description: 'Whether the imported key may be rotated here.' },
        derived: { type: 'bool', description: 'Key derivation: every operation needs a context.' },
        exportable: { type: 'bool', description: 'Whether the key may be exported (cannot be undone).' },
        allow_plaintext_backup: { type: 'bool', description: 'Whether a plaintext backup may be taken (cannot be undone).' },
        auto_rotate_period: { type: 'duration', description: 'Rotate automatically after this long (needs allow_rotation).' },
        context: { type: 'string', description: 'Accepted for compatibility; unused.' },
        convergent_encryption: { type: 'bool', description: 'Refused: imported keys cannot be convergent.' },
      },
      help: 'Creates a key from an externally generated one, wrapped for the mount’s wrapping_key (or a public key alone).',
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          const d = ctx.data;
          if (d.convergent_encryption !== undefined) throw badRequest('import cannot be used on keys with convergent encryption enabled');
          const autoRotatePeriod = d.auto_rotate_period ?? 0;
          const allowRotation = d.allow_rotation ?? false;
          if (autoRotatePeriod > 0 && !allowRotation) throw badRequest('allow_rotation must be set to true if auto-rotation is enabled');
          checkAutoRotatePeriod(autoRotatePeriod);
          const typeName = (d.type ?? '') === '' ? 'aes256-gcm96' : (d.type as string).toLowerCase();
          const type = IMPORT_TYPES.find((t) => t === typeName);
          if (!type) throw badRequest(`unknown key type: ${d.type}`);
          checkDerivation(type, d.derived ?? false, false);
          if (await policyOf(ctx, name))
            throw badRequest('the import path cannot be used with an existing key; use import-version to rotate an existing imported key');
          const imported = await importedFromFields(ctx, type, d);
          const key = {
            ...newKey(type, { derived: d.derived, exportable: d.exportable, allowPlaintextBackup: d.allow_plaintext_backup, autoRotatePeriod }),
            keySize: type === 'hmac' ? imported.material.key.length : 0,
            importedKey: true,
            allowImportedKeyRotation: allowRotation,
          };
          const created = await store.create(ctx.mount.uuid, name, key, [asNewVersion(imported)], { event: 'import', reason: 'import', actor: actorOf(ctx) });
          if (!created) throw badRequest('the import path cannot be used with an existing key; use import-version to rotate an existing imported key');
          return null;
        },
      },
    }),
    route({
      path: 'keys/:name/import_version',
      fields: {
        ...IMPORT_FIELDS,
        version: { type: 'int', description: 'Complete this public-key-only version with its private key (default: import a new version).' },
      },
      help: 'Imports a new version of an imported key, or the private key of a public-key-only version.',
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          const d = ctx.data;
          const p = await policyOf(ctx, name);
          if (!p) throw badRequest(`no key found with name ${name}; to import a new key, use the import/ endpoint`);
          if (!p.importedKey) throw badRequest('the import_version endpoint can only be used with an imported key');
          if (p.convergentEncryption) throw badRequest('import_version cannot be used on keys with convergent encryption enabled');
          const imported = await importedFromFields(ctx, p.type, d);
          const completes = async (version: number): Promise<boolean> => {
            const info = p.versions[String(version)];
            if (!info?.publicKeyOnly || imported.publicKeyOnly) return false;
            const publicOnly = await store.material(ctx.mount.uuid, name, version);
            return publicOnly !== undefined && isKeyPairOf(imported, publicOnly.key);
          };
          if (d.version !== undefined) {
            const version = d.version;
            const info = p.versions[String(version)];
            if (!info) throw badRequest('no such key version');
            if (!keyTypeSupports.publicKeyImport(p.type)) throw badRequest('provided type does not support importing key versions');
            if (!info.publicKeyOnly) throw badRequest('private key imported, key version cannot be updated');
            if (imported.publicKeyOnly) throw badRequest('cannot add a public key to a key version that already has a public key set');
            if (!(await completes(version))) throw badRequest('cannot import key, key pair does not match');
            await store.replaceVersion(ctx.mount.uuid, name, version, () => asNewVersion(imported));
            return null;
          }
          // ImportPublicOrPrivate: a private key completing the latest public-key-only version fills it in.
          if (await completes(p.latestVersion)) {
            await store.replaceVersion(ctx.mount.uuid, name, p.latestVersion, () => asNewVersion(imported));
            return null;
          }
          await store.update(ctx.mount.uuid, name, () => ({
            append: [asNewVersion(imported)],
            history: { event: 'import', reason: 'import_version', actor: actorOf(ctx) },
          }));
          return null;
        },
      },
    }),
  ];

  async function exportAnswer(ctx: RequestContext, version: string | undefined) {
    const exportType = ctx.params.type as ExportType;
    if (!(EXPORT_TYPES as readonly string[]).includes(exportType)) throw badRequest(`invalid export type: ${ctx.params.type}`);
    const p = await policyOf(ctx, checkedName(ctx));
    if (!p) throw notFound();
    if (!p.exportable && exportType !== 'public-key' && exportType !== 'certificate-chain') throw badRequest('private key material is not exportable');
    if (exportType === 'encryption-key' && !keyTypeSupports.encryption(p.type)) throw badRequest('encryption not supported for the key');
    if (exportType === 'signing-key' && !keyTypeSupports.signing(p.type)) throw badRequest('signing not supported for the key');
    if (exportType === 'certificate-chain' && !keyTypeSupports.signing(p.type))
      throw badRequest('certificate chain not supported for keys that do not support signing');
    const versions =
      version === undefined
        ? Object.keys(p.versions)
            .map(Number)
            .filter((v) => v >= p.minDecryptionVersion)
        : [exportVersion(p, version)];
    const keys: Record<string, string> = {};
    for (const v of versions) {
      const material = await store.material(ctx.mount.uuid, p.name, v);
      if (!material) throw badRequest('version does not exist or cannot be found');
      keys[String(v)] = exportedKey(p.type, exportType, material.key, material.hmacKey, p.versions[String(v)].publicKeyOnly);
    }
    return logical({ name: p.name, type: p.type, keys });
  }
}
