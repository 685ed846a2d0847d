/**
 * Transit encrypt and decrypt (Vault's path_encrypt.go, path_decrypt.go) for every encrypting key
 * type: AES-GCM and ChaCha20-Poly1305 (derived, convergent, associated data), RSA-OAEP, managed
 * keys; single values or `batch_input` with per-item results.
 *
 * Invariants: a ciphertext opens only under the key, version, context and associated data it was
 * made with; versions below min_decryption_version never decrypt and below min_encryption_version
 * never encrypt; a bad item fails alone (its `error`), never the other items; no message carries a
 * plaintext, a context or key material.
 */
import { constants, createPublicKey, privateDecrypt, publicEncrypt } from 'node:crypto';
import { IntegrityError } from '../../crypto/encrypter';
import { keyTypeSupports, privateKeyObject, publicKeyObject, RSA_TYPES, SYMMETRIC_TYPES, type KeyVersionMaterial } from '../../crypto/transit/key-types';
import { symmetricDecrypt, symmetricEncrypt, TransitCryptoError } from '../../crypto/transit/symmetric';
import type { MountEntry } from '../../framework/backend';
import type { Fields } from '../../framework/fields';
import { route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { ApiError, badRequest } from '../../kernel/errors';
import {
  base64ErrorText,
  batchAnswer,
  batchItems,
  actorOf,
  checkedName,
  decodeBase64,
  formatVersioned,
  itemInt,
  itemString,
  parseVersioned,
  type BatchItem,
  type TransitDeps,
} from './transit-common';
import { usageThreshold } from './key-lifecycle';
import { checkDerivation, keyType, newKey, newVersion } from './transit-keys.paths';
import type { TransitKeyPolicy } from './transit.repository';

/** One value to encrypt, decoded. */
export interface EncryptInput {
  plaintext: Buffer;
  context?: Buffer;
  nonce?: Buffer;
  /** 0: the latest version. */
  keyVersion: number;
  associatedData?: Buffer;
}

/** One ciphertext to open, with what it was bound to. */
export interface DecryptInput {
  ciphertext: string;
  context?: Buffer;
  nonce?: Buffer;
  associatedData?: Buffer;
}

/** The version's convergent scheme (keysutil convergentVersion): 0 when the key is not convergent. */
function convergentVersionOf(p: TransitKeyPolicy, version: number): number {
  if (!p.convergentEncryption) return 0;
  const own = p.versions[String(version)]?.convergentVersion ?? 0;
  if (own !== 0) return own;
  return p.convergentVersion === 0 ? 1 : p.convergentVersion;
}

/** Runs a crypto step, turning its user errors into 400s with their (Vault's) message. */
export function userErrors<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (err instanceof TransitCryptoError) throw badRequest(err.message);
    throw err;
  }
}

export interface EncryptOutput {
  ciphertext: string;
  keyVersion: number;
}

/** A user error: what fails one batch item alone (a 400); anything else fails the request. */
const isUserError = (err: unknown): err is ApiError => err instanceof ApiError && err.status === 400;

/** A user error as a value; anything else is thrown. */
function asUserError<T>(work: () => T): T | ApiError {
  try {
    return work();
  } catch (err) {
    if (isUserError(err)) return err;
    throw err;
  }
}

async function asUserErrorAsync<T>(work: () => Promise<T>): Promise<T | ApiError> {
  try {
    return await work();
  } catch (err) {
    if (isUserError(err)) return err;
    throw err;
  }
}

/** A batch item's result in Vault's shape: its fields and `reference`, or `{error, reference}`. */
function itemResult(reference: unknown, out: Record<string, unknown> | ApiError): Record<string, unknown> {
  const ref = typeof reference === 'string' ? reference : '';
  return out instanceof ApiError ? { error: out.errors[0] ?? 'invalid request', reference: ref } : { ...out, reference: ref };
}

/** The version an input encrypts with: `keyVersion`, 0 for the latest, within Vault's bounds. */
function encryptionVersion(p: TransitKeyPolicy, keyVersion: number): number {
  if (!keyTypeSupports.encryption(p.type) && p.type !== 'managed_key') throw badRequest(`message encryption not supported for key type ${p.type}`);
  if (keyVersion === 0) return p.latestVersion;
  if (keyVersion < 0) throw badRequest('requested version for encryption is negative');
  if (keyVersion > p.latestVersion) throw badRequest('requested version for encryption is higher than the latest key version');
  if (keyVersion < p.minEncryptionVersion) throw badRequest('requested version for encryption is less than the minimum encryption key version');
  return keyVersion;
}

/** Encrypts with a symmetric or RSA version's material, synchronously. */
function sealWith(p: TransitKeyPolicy, version: number, m: KeyVersionMaterial, input: EncryptInput): Buffer {
  if (SYMMETRIC_TYPES.includes(p.type)) {
    const convergentVersion = convergentVersionOf(p, version);
    return userErrors(() =>
      symmetricEncrypt(p.type, m.key, input.plaintext, {
        derived: p.derived ? { context: input.context ?? Buffer.alloc(0) } : undefined,
        convergent: convergentVersion ? { version: convergentVersion } : undefined,
        nonce: input.nonce,
        associatedData: input.associatedData,
      }),
    );
  }
  // A version imported as a public key only holds its SPKI DER (transit-backup.paths.ts).
  const publicKey = p.versions[String(version)]?.publicKeyOnly ? createPublicKey({ key: m.key, format: 'der', type: 'spki' }) : publicKeyObject(p.type, m);
  try {
    return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, input.plaintext);
  } catch {
    throw badRequest('failed to RSA encrypt the plaintext: message too long for RSA key size');
  }
}

/** Encryption and decryption with a key's versions, the way every transit path needing them does it. */
export class TransitCipher {
  constructor(private readonly deps: TransitDeps) {}

  private async material(mount: MountEntry, p: TransitKeyPolicy, version: number): Promise<KeyVersionMaterial> {
    const m = await this.deps.store.material(mount.uuid, p.name, version);
    if (!m) throw badRequest('no such key version');
    return m;
  }

  /** `vault:v<N>:…` of one input, and the version used. */
  async encrypt(mount: MountEntry, p: TransitKeyPolicy, input: EncryptInput): Promise<EncryptOutput> {
    const [out] = await this.encryptEach(mount, p, [input]);
    if (out instanceof ApiError) throw out;
    return out;
  }

  /**
   * Each input's `vault:v<N>:…` (a batch's items, in order), or its user error (a 400) as the
   * item's result; anything else throws. Material is read once per version and symmetric and RSA
   * keys encrypt synchronously: a 250-item batch makes no promise per item. Every usage count is
   * recorded (and, near a rotation threshold, written) before this resolves.
   */
  async encryptEach(mount: MountEntry, p: TransitKeyPolicy, inputs: readonly (EncryptInput | ApiError)[]): Promise<(EncryptOutput | ApiError)[]> {
    const versions = inputs.map((input) => (input instanceof ApiError ? input : asUserError(() => encryptionVersion(p, input.keyVersion))));
    const materials = new Map<number, KeyVersionMaterial | ApiError>();
    if (SYMMETRIC_TYPES.includes(p.type) || RSA_TYPES.includes(p.type)) {
      for (const version of new Set(versions.filter((v): v is number => typeof v === 'number'))) {
        materials.set(version, await asUserErrorAsync(() => this.material(mount, p, version)));
      }
    }
    const counts: Promise<void>[] = [];
    const outputs: (EncryptOutput | ApiError)[] = [];
    for (const [i, input] of inputs.entries()) {
      const version = versions[i];
      if (input instanceof ApiError || version instanceof ApiError) {
        outputs.push(input instanceof ApiError ? input : (version as ApiError));
        continue;
      }
      const material = materials.get(version);
      const body =
        material === undefined
          ? await asUserErrorAsync(() => this.managedEncrypt(mount, p, version, input))
          : material instanceof ApiError
            ? material
            : asUserError(() => sealWith(p, version, material, input));
      if (body instanceof ApiError) {
        outputs.push(body);
        continue;
      }
      const counted = this.deps.usage?.count({ mountUuid: mount.uuid, name: p.name, version }, p.versions[String(version)]?.operations ?? 0, usageThreshold(p));
      if (counted) counts.push(counted);
      outputs.push({ ciphertext: formatVersioned(version, body.toString('base64')), keyVersion: version });
    }
    await Promise.all(counts);
    return outputs;
  }

  private async managedEncrypt(mount: MountEntry, p: TransitKeyPolicy, version: number, input: EncryptInput): Promise<Buffer> {
    if (input.nonce && input.nonce.length > 0) throw badRequest('cannot use convergent encryption or provide a nonce to managed-key backed encryption');
    const encrypter = await this.managedEncrypter(mount, p, version);
    return encrypter.encrypt(input.plaintext, input.associatedData);
  }

  /** The plaintext of one `vault:v<N>:…` value. */
  async decrypt(mount: MountEntry, p: TransitKeyPolicy, input: DecryptInput): Promise<Buffer> {
    if (!keyTypeSupports.decryption(p.type) && p.type !== 'managed_key') throw badRequest(`message decryption not supported for key type ${p.type}`);
    const { version, payload } = parseVersioned(input.ciphertext, 'ciphertext', p);
    const convergentVersion = convergentVersionOf(p, version);
    if (convergentVersion === 1 && (!input.nonce || input.nonce.length === 0)) throw badRequest('invalid convergent nonce supplied');
    const body = decodeBase64(payload);
    if (!body) throw badRequest('invalid ciphertext: could not decode base64');
    if (SYMMETRIC_TYPES.includes(p.type)) {
      const m = await this.material(mount, p, version);
      return userErrors(() =>
        symmetricDecrypt(p.type, m.key, body, {
          derived: p.derived ? { context: input.context ?? Buffer.alloc(0) } : undefined,
          convergent: convergentVersion ? { version: convergentVersion } : undefined,
          nonce: input.nonce,
          associatedData: input.associatedData,
        }),
      );
    }
    if (RSA_TYPES.includes(p.type)) {
      const m = await this.material(mount, p, version);
      try {
        return privateDecrypt({ key: privateKeyObject(p.type, m), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, body);
      } catch {
        throw badRequest('failed to RSA decrypt the ciphertext: crypto/rsa: decryption error');
      }
    }
    const encrypter = await this.managedEncrypter(mount, p, version);
    try {
      return await encrypter.decrypt(body, input.associatedData);
    } catch (err) {
      if (err instanceof IntegrityError) throw badRequest('cipher: message authentication failed');
      throw err;
    }
  }

  private async managedEncrypter(mount: MountEntry, p: TransitKeyPolicy, version: number) {
    if (!this.deps.managed) throw badRequest('managed_key transit keys are not available on this server');
    return this.deps.managed.encrypter(mount, p, version);
  }
}

/** Runs one batch item: its result, or `{error}` for a user error (400); anything else propagates. */
export async function batchItemResult(reference: unknown, work: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  return itemResult(reference, await asUserErrorAsync(work));
}

/** A base64 item field decoded, or a 400 with Go's base64 error text. */
export function itemBytes(value: string | undefined): Buffer | undefined {
  if (value === undefined || value === '') return undefined;
  const bytes = decodeBase64(value);
  if (!bytes) throw badRequest(base64ErrorText(value));
  return bytes;
}

const ENCRYPT_FIELDS = {
  plaintext: { type: 'string', description: 'The plaintext, base64.' },
  context: { type: 'string', description: 'Derived keys: the base64 context.' },
  nonce: { type: 'string', description: 'Convergent version 1 keys: the base64 nonce (12 bytes).' },
  key_version: { type: 'int', description: 'The key version to encrypt with (0: the latest).' },
  associated_data: { type: 'string', description: 'AEAD types: base64 data authenticated but not encrypted.' },
  type: { type: 'string', description: 'The key type when this call creates the key (default aes256-gcm96).' },
  convergent_encryption: { type: 'bool', description: 'When this call creates the key: convergent (needs a context).' },
  batch_input: { type: 'any', description: 'A list of items, each with the fields above and a `reference`.' },
  partial_failure_response_code: { type: 'int', description: 'The status of a batch where some items failed and some succeeded.' },
} as const satisfies Fields;

const DECRYPT_FIELDS = {
  ciphertext: { type: 'string', description: 'The ciphertext, vault:v<N>:<base64>.' },
  context: { type: 'string', description: 'Derived keys: the base64 context.' },
  nonce: { type: 'string', description: 'Convergent version 1 keys: the base64 nonce.' },
  associated_data: { type: 'string', description: 'AEAD types: the base64 associated data it was encrypted with.' },
  batch_input: { type: 'any', description: 'A list of items, each with the fields above and a `reference`.' },
  partial_failure_response_code: { type: 'int', description: 'The status of a batch where some items failed and some succeeded.' },
} as const satisfies Fields;

export function transitEncryptPaths(deps: TransitDeps): RouteDefinition[] {
  const { store } = deps;
  const cipher = new TransitCipher(deps);

  return [
    route({
      path: 'encrypt/:name',
      fields: ENCRYPT_FIELDS,
      help: 'Encrypts base64 `plaintext` (or each `batch_input` item) with the named key, created on first use unless config/keys disable_upsert.',
      existenceCheck: async (ctx) => (await store.policy(ctx.mount.uuid, checkedName(ctx))) !== undefined,
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          const batch = ctx.data.batch_input !== undefined && ctx.data.batch_input !== null;
          let items: BatchItem[];
          if (batch) items = batchItems(ctx.data.batch_input);
          else if (ctx.data.plaintext === undefined) throw badRequest('missing plaintext to encrypt');
          else
            items = [
              {
                plaintext: ctx.data.plaintext,
                context: ctx.data.context,
                nonce: ctx.data.nonce,
                key_version: ctx.data.key_version,
                associated_data: ctx.data.associated_data,
              },
            ];
          items.forEach((item, i) => {
            itemString(item, i, 'plaintext');
            itemString(item, i, 'context');
            itemString(item, i, 'nonce');
            itemString(item, i, 'associated_data');
            itemString(item, i, 'reference');
            itemInt(item, i, 'key_version');
          });
          const contextSet = !!items[0].context;
          if (items.some((item) => !!item.context !== contextSet)) throw badRequest('context should be set either in all the request blocks or in none');

          const { policy: p, warnings } = await policyForEncrypt(ctx, name, contextSet);
          const inputs = items.map((item, i) =>
            asUserError((): EncryptInput => {
              if (batch && item.plaintext === undefined) throw badRequest(`'[${i}].plaintext' missing plaintext to encrypt`);
              const plaintext = itemBytes(item.plaintext as string | undefined) ?? Buffer.alloc(0);
              const context = itemBytes(item.context as string | undefined);
              const nonce = itemBytes(item.nonce as string | undefined);
              const associatedData = itemBytes(item.associated_data as string | undefined);
              if (nonce && !nonceAllowed(p)) throw badRequest('provided nonce not allowed for this key');
              if (associatedData && !keyTypeSupports.associatedData(p.type) && p.type !== 'managed_key')
                throw badRequest(`'[${i}].associated_data' provided for non-AEAD cipher suite ${p.type}`);
              return { plaintext, context, nonce, associatedData, keyVersion: itemInt(item, i, 'key_version') ?? 0 };
            }),
          );
          const outputs = await cipher.encryptEach(ctx.mount, p, inputs);
          const results = outputs.map((out, i) =>
            itemResult(items[i].reference, out instanceof ApiError ? out : { ciphertext: out.ciphertext, key_version: out.keyVersion }),
          );
          return batchAnswer(results, {
            batch,
            partialFailureCode: ctx.data.partial_failure_response_code,
            warnings,
            single: (r) => ({ ciphertext: r.ciphertext, key_version: r.key_version }),
          });
        },
      },
    }),
    route({
      path: 'decrypt/:name',
      fields: DECRYPT_FIELDS,
      help: 'Decrypts a ciphertext (or each `batch_input` item) of the named key: `plaintext`, base64.',
      pureOperations: ['update'],
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          const batch = ctx.data.batch_input !== undefined && ctx.data.batch_input !== null;
          let items: BatchItem[];
          if (batch) items = batchItems(ctx.data.batch_input);
          else if (ctx.data.ciphertext === undefined || ctx.data.ciphertext === '') throw badRequest('missing ciphertext to decrypt');
          else items = [{ ciphertext: ctx.data.ciphertext, context: ctx.data.context, nonce: ctx.data.nonce, associated_data: ctx.data.associated_data }];
          items.forEach((item, i) => {
            if (batch && itemString(item, i, 'ciphertext') === undefined) throw badRequest(`'[${i}].ciphertext' missing ciphertext to decrypt`);
            itemString(item, i, 'context');
            itemString(item, i, 'nonce');
            itemString(item, i, 'associated_data');
            itemString(item, i, 'reference');
          });
          const p = await store.policy(ctx.mount.uuid, name);
          if (!p) throw badRequest('encryption key not found');
          const results = await Promise.all(
            items.map((item, i) =>
              batchItemResult(item.reference, async () => {
                const associatedData = itemBytes(item.associated_data as string | undefined);
                if (associatedData && !keyTypeSupports.associatedData(p.type) && p.type !== 'managed_key')
                  throw badRequest(`'[${i}].associated_data' provided for non-AEAD cipher suite ${p.type}`);
                const plaintext = await cipher.decrypt(ctx.mount, p, {
                  ciphertext: item.ciphertext as string,
                  context: itemBytes(item.context as string | undefined),
                  nonce: itemBytes(item.nonce as string | undefined),
                  associatedData,
                });
                return { plaintext: plaintext.toString('base64') };
              }),
            ),
          );
          return batchAnswer(results, { batch, partialFailureCode: ctx.data.partial_failure_response_code, single: (r) => ({ plaintext: r.plaintext }) });
        },
      },
    }),
  ];

  /** The key to encrypt with; created here on first use (Vault's upsert) unless the mount disables it. */
  async function policyForEncrypt(
    ctx: RequestContext<{ type?: string; convergent_encryption?: boolean }>,
    name: string,
    contextSet: boolean,
  ): Promise<{ policy: TransitKeyPolicy; warnings?: string[] }> {
    const existing = await store.policy(ctx.mount.uuid, name);
    if (existing) return { policy: existing };
    // The pipeline's existence check made this a `create` for the ACL when the key was missing, so the caller may create it.
    const convergent = ctx.data.convergent_encryption === true;
    if (convergent && !contextSet) throw badRequest('convergent encryption requires derivation to be enabled, so context is required');
    const type = keyType(ctx.data.type);
    if (type === 'ecdsa-p256' || type === 'ecdsa-p384' || type === 'ecdsa-p521' || type === 'ed25519' || type === 'hmac')
      throw badRequest(`key type ${type} not supported for this operation`);
    if (type === 'managed_key') throw badRequest('managed_key transit keys are created through keys/:name');
    // Vault checks the type before it looks for the key without upserting.
    if ((await store.mountConfig(ctx.mount.uuid)).disableUpsert) throw badRequest('encryption key not found');
    checkDerivation(type, contextSet, convergent);
    const key = newKey(type, { derived: contextSet, convergent });
    const created = await store.create(
      ctx.mount.uuid,
      name,
      key,
      [newVersion({ type, keySize: 0, convergentEncryption: convergent, convergentVersion: key.convergentVersion ?? 0 })],
      { event: 'create', reason: 'upsert', actor: actorOf(ctx as RequestContext) },
    );
    const policy = await store.policy(ctx.mount.uuid, name);
    if (!policy) throw badRequest('encryption key not found');
    return { policy, warnings: created ? undefined : ['Attempted creation of the key during the encrypt operation, but it was created beforehand'] };
  }
}

/** A caller's nonce is used only by convergent version 1 keys (path_encrypt.go nonceAllowed). */
export function nonceAllowed(p: TransitKeyPolicy): boolean {
  if (p.type === 'managed_key') return true;
  return SYMMETRIC_TYPES.includes(p.type) && p.convergentEncryption && p.convergentVersion === 1;
}
