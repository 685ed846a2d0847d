/**
 * Transit's named keys (Vault's path_keys.go, path_config.go, path_rotate.go): create with every
 * key type and option, read in Vault's shape, LIST, delete only with deletion_allowed, configure,
 * rotate.
 *
 * Invariants: a key is created with version 1 in one transaction; rotate adds exactly one version
 * under the key's row lock; exportable and allow_plaintext_backup never go back to false; a key is
 * deleted only once deletion_allowed is set; no answer carries key material.
 */
import {
  CURRENT_CONVERGENT_VERSION,
  ed25519FromSeed,
  generateKeyVersion,
  HMAC_MAX_KEY_BYTES,
  HMAC_MIN_KEY_BYTES,
  isTransitKeyType,
  type TransitKeyType,
} from '../../crypto/transit/key-types';
import { deriveKey } from '../../crypto/transit/symmetric';
import { createPublicKey } from 'node:crypto';
import type { FieldSpec, Fields } from '../../framework/fields';
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { badRequest, notFound } from '../../kernel/errors';
import { actorOf, base64Field, checkedName, keyAnswer, type TransitDeps } from './transit-common';
import type { NewTransitKey, NewTransitVersion, TransitKeyPolicy } from './transit.repository';

const DEFAULT_KEY_TYPE: TransitKeyType = 'aes256-gcm96';
const HOUR_SECONDS = 3600;

/** The key's type, as given (default aes256-gcm96); anything else → Vault's 400. */
export function keyType(type: string | undefined): TransitKeyType {
  const t = type === undefined || type === '' ? DEFAULT_KEY_TYPE : type;
  if (!isTransitKeyType(t)) throw badRequest(`unknown key type ${t}`);
  return t;
}

export function checkAutoRotatePeriod(seconds: number): void {
  if (seconds !== 0 && seconds < HOUR_SECONDS) throw badRequest('auto rotate period must be 0 to disable or at least an hour');
}

/** keysutil's GetPolicy checks of derivation and convergence per type. */
export function checkDerivation(type: TransitKeyType, derived: boolean, convergent: boolean): void {
  if (type === 'aes128-gcm96' || type === 'aes256-gcm96' || type === 'chacha20-poly1305') {
    if (convergent && !derived) throw badRequest('convergent encryption requires derivation to be enabled');
  } else if (type === 'ed25519') {
    if (convergent) throw badRequest(`convergent encryption not supported for keys of type ${type}`);
  } else if (derived || convergent) {
    throw badRequest(`key derivation and convergent encryption not supported for keys of type ${type}`);
  }
}

/** A new key's settings and its first version (managed_key: none here; transit-managed-keys makes it). */
export function newKey(
  type: TransitKeyType,
  options: { derived?: boolean; convergent?: boolean; exportable?: boolean; allowPlaintextBackup?: boolean; autoRotatePeriod?: number; keySize?: number },
): NewTransitKey {
  const key: NewTransitKey = {
    type,
    derived: options.derived ?? false,
    kdf: 1,
    convergentEncryption: options.convergent ?? false,
    convergentVersion: options.convergent ? -1 : 0,
    exportable: options.exportable ?? false,
    allowPlaintextBackup: options.allowPlaintextBackup ?? false,
    autoRotatePeriod: options.autoRotatePeriod ?? 0,
    keySize: options.keySize ?? 0,
  };
  return key;
}

/** A freshly generated version for `p` (RotateInMemory), with its convergent scheme. */
export function newVersion(p: Pick<TransitKeyPolicy, 'type' | 'keySize' | 'convergentEncryption' | 'convergentVersion'>): NewTransitVersion {
  const generated = generateKeyVersion(p.type, p.keySize || HMAC_MIN_KEY_BYTES);
  const convergent = p.convergentEncryption && (p.convergentVersion === -1 || p.convergentVersion > 1);
  return { ...generated, convergentVersion: convergent ? CURRENT_CONVERGENT_VERSION : 0 };
}

export function transitKeyPaths(deps: TransitDeps): RouteDefinition[] {
  const { store } = deps;
  const read = async (ctx: RequestContext, name: string): Promise<TransitKeyPolicy> => {
    const p = await store.policy(ctx.mount.uuid, name);
    if (!p) throw notFound();
    return p;
  };
  /** Each version's derived ed25519 public key for this context (path_keys.go formatKeyPolicy). */
  const derivedPublicKeys = async (ctx: RequestContext, p: TransitKeyPolicy, context: Buffer): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const v of Object.keys(p.versions)) {
      const material = await store.material(ctx.mount.uuid, p.name, Number(v));
      if (!material) continue;
      const seed = deriveKey(material.key, context, 32);
      const jwk = createPublicKey(ed25519FromSeed(seed)).export({ format: 'jwk' });
      out[v] = Buffer.from(jwk.x as string, 'base64url').toString('base64');
    }
    return out;
  };

  return [
    {
      path: 'keys',
      help: 'Lists the named keys.',
      handlers: {
        // Vault lists its storage: the wrapping key (import/wrapping-key) shows as the folder "import/".
        list: async (ctx) => logical({ keys: [...new Set((await store.names(ctx.mount.uuid)).map((n) => (n.includes('/') ? `${n.split('/')[0]}/` : n)))] }),
      },
    },
    route({
      path: 'keys/:name',
      fields: {
        type: { type: 'string', description: 'The key type (default aes256-gcm96).' },
        derived: { type: 'bool', description: 'Key derivation: every operation needs a context.' },
        convergent_encryption: { type: 'bool', description: 'Convergent encryption (derived keys): the same plaintext and context give the same ciphertext.' },
        exportable: { type: 'bool', description: 'Whether the key may be exported (cannot be undone).' },
        allow_plaintext_backup: { type: 'bool', description: 'Whether a plaintext backup may be taken (cannot be undone).' },
        auto_rotate_period: { type: 'duration', description: 'Rotate automatically after this long (0: never; at least 1h).' },
        key_size: { type: 'int', description: `The hmac type's key size in bytes (${HMAC_MIN_KEY_BYTES}..${HMAC_MAX_KEY_BYTES}).` },
        auto_rotate_after_operations: OPERATIONS_FIELD,
        managed_key_name: { type: 'string', description: 'managed_key type: the managed key by name.' },
        managed_key_id: { type: 'string', description: 'managed_key type: the managed key by id.' },
        context: { type: 'string', query: true, description: 'Read of a derived ed25519 key: base64 context whose public keys to show.' },
      },
      help: "Creates (POST), reads (Vault's shape, never the key) or deletes (only with deletion_allowed) a named key.",
      pureOperations: ['read'],
      handlers: {
        read: async (ctx) => {
          const p = await read(ctx, checkedName(ctx));
          const context = ctx.data.context ? base64Field(ctx.data.context, 'failed to base64-decode context') : undefined;
          const derived = context && p.type === 'ed25519' && p.derived ? await derivedPublicKeys(ctx, p, context) : undefined;
          return logical(keyAnswer(p, derived));
        },
        update: async (ctx) => {
          const name = checkedName(ctx);
          const type = keyType(ctx.data.type);
          const autoRotatePeriod = ctx.data.auto_rotate_period ?? 0;
          checkAutoRotatePeriod(autoRotatePeriod);
          const derived = ctx.data.derived ?? false;
          const convergent = ctx.data.convergent_encryption ?? false;
          if (!derived && convergent) throw badRequest('convergent encryption requires derivation to be enabled');
          const keySize = ctx.data.key_size ?? 0;
          if (keySize !== 0) {
            if (type !== 'hmac') throw badRequest(`key_size is not valid for algorithm ${type}`);
            if (keySize < HMAC_MIN_KEY_BYTES || keySize > HMAC_MAX_KEY_BYTES) throw badRequest(`invalid key_size ${keySize}`);
          }
          checkDerivation(type, derived, convergent);
          if (type === 'managed_key') throw badRequest('managed_key transit keys are not available on this server yet');
          const key = newKey(type, {
            derived,
            convergent,
            exportable: ctx.data.exportable,
            allowPlaintextBackup: ctx.data.allow_plaintext_backup,
            autoRotatePeriod,
            keySize,
          });
          key.autoRotateAfterOperations = ctx.data.auto_rotate_after_operations ?? 0;
          const created = await store.create(
            ctx.mount.uuid,
            name,
            key,
            [newVersion({ type, keySize, convergentEncryption: convergent, convergentVersion: key.convergentVersion ?? 0 })],
            { event: 'create', reason: 'manual', actor: actorOf(ctx) },
          );
          return logical(keyAnswer(await read(ctx, name)), created ? undefined : [`key ${name} already existed`]);
        },
        delete: async (ctx) => {
          const name = checkedName(ctx);
          const p = await store.policy(ctx.mount.uuid, name);
          if (!p) throw badRequest(`error deleting policy ${name}: could not delete key; not found`);
          if (!p.deletionAllowed) throw badRequest(`error deleting policy ${name}: deletion is not allowed for this key`);
          await store.delete(ctx.mount.uuid, name);
          return null;
        },
      },
    }),
    route({
      path: 'keys/:name/config',
      fields: CONFIG_FIELDS,
      help: 'Configures a key: deletion_allowed, min_decryption_version, min_encryption_version, exportable, allow_plaintext_backup, auto_rotate_period.',
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          const warnings: string[] = [];
          const d = ctx.data;
          if (d.min_decryption_version !== undefined && d.min_decryption_version < 0) throw badRequest('min decryption version cannot be negative');
          if (d.min_encryption_version !== undefined && d.min_encryption_version < 0) throw badRequest('min encryption version cannot be negative');
          if (d.auto_rotate_period !== undefined) checkAutoRotatePeriod(d.auto_rotate_period);
          const p = await store.update(ctx.mount.uuid, name, (current) => {
            const change: Partial<TransitKeyPolicy> = {};
            if (d.deletion_allowed !== undefined) change.deletionAllowed = d.deletion_allowed;
            let minDecryption = current.minDecryptionVersion;
            if (d.min_decryption_version !== undefined) {
              let wanted = d.min_decryption_version;
              if (wanted === 0) {
                wanted = 1;
                warnings.push('since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1');
              }
              if (wanted !== current.minDecryptionVersion) {
                if (wanted > current.latestVersion)
                  throw badRequest(`cannot set min decryption version of ${wanted}, latest key version is ${current.latestVersion}`);
                minDecryption = change.minDecryptionVersion = wanted;
              }
            }
            let minEncryption = current.minEncryptionVersion;
            if (d.min_encryption_version !== undefined && d.min_encryption_version !== current.minEncryptionVersion) {
              if (d.min_encryption_version > current.latestVersion)
                throw badRequest(`cannot set min encryption version of ${d.min_encryption_version}, latest key version is ${current.latestVersion}`);
              minEncryption = change.minEncryptionVersion = d.min_encryption_version;
            }
            if (minEncryption > 0 && minEncryption < minDecryption)
              throw badRequest(
                `cannot set min encryption/decryption values; min encryption version of ${minEncryption} must be greater than or equal to min decryption version of ${minDecryption}`,
              );
            // exportable and allow_plaintext_backup are never unset (Vault ignores false once true).
            if (d.exportable && !current.exportable) change.exportable = true;
            if (d.allow_plaintext_backup && !current.allowPlaintextBackup) change.allowPlaintextBackup = true;
            if (d.auto_rotate_period !== undefined && d.auto_rotate_period !== current.autoRotatePeriod) {
              if (current.type === 'managed_key' && d.auto_rotate_period !== 0) throw badRequest('Auto rotation can not be set for managed keys');
              change.autoRotatePeriod = d.auto_rotate_period;
            }
            if (d.auto_rotate_after_operations !== undefined && d.auto_rotate_after_operations !== current.autoRotateAfterOperations)
              change.autoRotateAfterOperations = d.auto_rotate_after_operations;
            if (Object.keys(change).length > 0) {
              if (current.minAvailableVersion > minEncryption) throw badRequest('min encryption version should not be less than min available version');
              if (current.minAvailableVersion > minDecryption) throw badRequest('min decryption version should not be less then min available version');
            }
            // Every change of these settings is in the key's history, with what it was before.
            const changed = Object.keys(change) as (keyof typeof change)[];
            const details = Object.fromEntries(changed.map((k) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), { from: current[k], to: change[k] }]));
            return { change, history: changed.length > 0 ? { event: 'config', reason: 'manual', actor: actorOf(ctx), details } : undefined };
          });
          if (!p) throw badRequest(`no existing key named ${name} could be found`);
          return logical(keyAnswer(p), warnings.length ? warnings : undefined);
        },
      },
    }),
    route({
      path: 'keys/:name/rotate',
      fields: {
        managed_key_name: { type: 'string', description: 'managed_key type: the managed key for the new version.' },
        managed_key_id: { type: 'string', description: 'managed_key type: the managed key id for the new version.' },
      },
      help: 'Adds a new version of the key (one transaction); new encryptions use it.',
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          const p = await store.update(ctx.mount.uuid, name, (current) => {
            if (current.importedKey && !current.allowImportedKeyRotation) throw badRequest(`imported key ${name} does not allow rotation within Vault`);
            if (current.type === 'managed_key') throw badRequest('managed_key transit keys are not available on this server yet');
            return {
              append: [newVersion(current)],
              change: { importedKey: false, failedRotations: 0 },
              history: { event: 'rotation', reason: 'manual', actor: actorOf(ctx) },
            };
          });
          if (!p) throw badRequest('key not found');
          return logical(keyAnswer(p));
        },
      },
    }),
  ];
}

const OPERATIONS_FIELD = {
  type: 'int',
  min: 0,
  max: Number.MAX_SAFE_INTEGER,
  description: 'SecretHub: rotate once the latest version has done this many encryptions or signatures (0: no usage policy).',
} as const satisfies FieldSpec;

const CONFIG_FIELDS = {
  auto_rotate_after_operations: OPERATIONS_FIELD,
  deletion_allowed: { type: 'bool', description: 'Whether the key may be deleted.' },
  min_decryption_version: { type: 'int', description: 'The oldest version that decrypts and verifies (0: 1).' },
  min_encryption_version: { type: 'int', description: 'The oldest version that encrypts and signs (0: the latest).' },
  exportable: { type: 'bool', description: 'Whether the key may be exported (cannot be undone).' },
  allow_plaintext_backup: { type: 'bool', description: 'Whether a plaintext backup may be taken (cannot be undone).' },
  auto_rotate_period: { type: 'duration', description: 'Rotate automatically after this long (0: never; at least 1h).' },
} as const satisfies Fields;
