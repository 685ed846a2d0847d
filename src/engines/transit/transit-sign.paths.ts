/**
 * Transit signatures and HMACs over HTTP (Vault's path_sign_verify.go, path_sign_verify_ce.go,
 * path_hmac.go): `sign/:name(/:hash_algorithm)`, `verify/:name(/:hash_algorithm)` for signatures
 * and HMACs, `hmac/:name(/:algorithm)`, single values or `batch_input` with per-item results.
 *
 * Invariants: keys are reached only through the TransitKeyStore and only read; the one write is a
 * signature's usage count (TransitUsage), so verify and hmac are pure operations; a version below
 * min_encryption_version never signs or HMACs, one below min_decryption_version never verifies; a
 * bad item fails alone (its `error`), never the other items; no message carries an input, a
 * context or key material.
 */
import type { KeyObject } from 'node:crypto';
import type { Signer } from '../../crypto/signer';
import { keyTypeSupports, type KeyVersionMaterial, type TransitKeyType } from '../../crypto/transit/key-types';
import {
  DEFAULT_HASH_ALGORITHM,
  HASH_ALGORITHMS,
  checkSignatureOptions,
  computeHmac,
  decodeSignature,
  ed25519PublicBytes,
  ed25519Refusal,
  encodeSignature,
  hmacKeyOf,
  hmacMatches,
  isHashAlgorithm,
  isMarshaling,
  parseSaltLength,
  signInput,
  signWithSigner,
  signingKey,
  signingTypeOf,
  verificationKey,
  verifyInput,
  type SignatureOptions,
} from '../../crypto/transit/signing';
import { TransitCryptoError } from '../../crypto/transit/symmetric';
import type { MountEntry } from '../../framework/backend';
import type { Fields } from '../../framework/fields';
import { route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { badRequest } from '../../kernel/errors';
import {
  VERSION_PREFIX,
  base64ErrorText,
  batchAnswer,
  batchItems,
  checkedName,
  decodeBase64,
  formatVersioned,
  itemString,
  parseVersioned,
  type BatchItem,
  type TransitDeps,
} from './transit-common';
import { batchItemResult } from './transit-encrypt.paths';
import { usageThreshold } from './key-lifecycle';
import type { TransitKeyPolicy } from './transit.repository';

const CMAC_ENTERPRISE_ONLY = 'CMAC operations are only available in enterprise versions of Vault';
const MANAGED_SIGNING_UNSUPPORTED = 'managed keys are not supported for signing yet';

const SIGNATURE_FIELDS = {
  input: { type: 'string', description: 'The base64 input.' },
  context: { type: 'string', description: 'Derived ed25519 keys: the base64 context.' },
  signature_context: { type: 'string', description: 'Ed25519ctx/Ed25519ph context (Vault Enterprise): refused for ed25519 keys, which sign pure Ed25519.' },
  hash_algorithm: { type: 'string', description: 'sha1, sha2-224, sha2-256 (default), sha2-384, sha2-512, sha3-224..sha3-512, or none (prehashed pkcs1v15).' },
  algorithm: { type: 'string', description: 'Deprecated: hash_algorithm.' },
  prehashed: { type: 'bool', description: 'The input is already the digest (ECDSA and RSA).' },
  signature_algorithm: { type: 'string', description: 'RSA: pss (default) or pkcs1v15.' },
  marshaling_algorithm: { type: 'string', description: 'ECDSA: asn1 (default) or jws.' },
  salt_length: { type: 'string', description: 'RSA PSS: auto (default), hash, or a number of bytes.' },
  batch_input: { type: 'any', description: 'A list of items, each with input, context and a `reference`.' },
} as const satisfies Fields;

const SIGN_FIELDS = {
  ...SIGNATURE_FIELDS,
  key_version: { type: 'int', description: 'The version to sign with (0: the latest).' },
} as const satisfies Fields;

const VERIFY_FIELDS = {
  ...SIGNATURE_FIELDS,
  signature: { type: 'string', description: 'The signature, vault:v<N>:<base64>.' },
  hmac: { type: 'string', description: 'The HMAC, vault:v<N>:<base64>.' },
  cmac: { type: 'string', description: 'CMAC (Vault Enterprise only).' },
} as const satisfies Fields;

const HMAC_FIELDS = {
  input: { type: 'string', description: 'The base64 input.' },
  algorithm: { type: 'string', description: 'sha2-224, sha2-256 (default), sha2-384, sha2-512, sha3-224..sha3-512.' },
  key_version: { type: 'int', description: 'The version to use (0: the latest).' },
  batch_input: { type: 'any', description: 'A list of items, each with input and a `reference`.' },
} as const satisfies Fields;

type SignatureData = {
  hash_algorithm?: string;
  algorithm?: string;
  prehashed?: boolean;
  signature_algorithm?: string;
  marshaling_algorithm?: string;
  salt_length?: string;
};

/** Rethrows a crypto module's user error as a 400 with its (Vault's) message. */
function rethrowUserError(err: unknown): never {
  if (err instanceof TransitCryptoError) throw badRequest(err.message);
  throw err;
}

/** Runs a crypto step, turning its user errors into 400s. */
function userErrors<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    rethrowUserError(err);
  }
}

/** Vault's getCommonSignVerifyApiArgs: the URL's hash, else hash_algorithm, else algorithm (each defaulting to sha2-256). */
function signatureOptions(ctx: RequestContext<SignatureData>): SignatureOptions {
  const d = ctx.data;
  const hashAlgorithm =
    ctx.params.hash_algorithm || (d.hash_algorithm ?? DEFAULT_HASH_ALGORITHM) || (d.algorithm ?? DEFAULT_HASH_ALGORITHM) || DEFAULT_HASH_ALGORITHM;
  if (!isHashAlgorithm(hashAlgorithm)) throw badRequest(`invalid hash algorithm ${JSON.stringify(hashAlgorithm)}`);
  const marshaling = d.marshaling_algorithm ?? 'asn1';
  if (!isMarshaling(marshaling)) throw badRequest(`invalid marshaling type ${JSON.stringify(marshaling)}`);
  const saltLength = userErrors(() => parseSaltLength(d.salt_length ?? 'auto'));
  return { hashAlgorithm, marshaling, saltLength, prehashed: d.prehashed ?? false, signatureAlgorithm: d.signature_algorithm ?? '' };
}

/** validateCommonSignVerifyApiArgs: a signing key type (managed keys where the server has them), and `none` only for prehashed PKCS#1 v1.5. */
function checkSigningKey(deps: TransitDeps, p: TransitKeyPolicy, options: SignatureOptions): void {
  if (p.type === 'managed_key') {
    if (!deps.managed) throw badRequest(MANAGED_SIGNING_UNSUPPORTED);
  } else if (!keyTypeSupports.signing(p.type)) throw badRequest(`key type ${p.type} does not support signing`);
  userErrors(() => checkSignatureOptions(options));
}

/** Vault CE's refusal of Ed25519ph/Ed25519ctx for ed25519 keys (the item's `signature_context`), as a 400 with the path's wrapping `prefix`. */
function refuseEd25519ph(t: TransitKeyType, options: SignatureOptions, item: BatchItem, prefix: string): void {
  const refusal = ed25519Refusal(t, options, (item.signature_context as string | undefined) ?? '');
  if (refusal) throw badRequest(`${prefix}${refusal}`);
}

/** A base64 item value (empty when absent); a 400 with `prefix` and Go's error text when not base64. */
function itemBase64(value: string | undefined, prefix: string): Buffer {
  if (value === undefined || value === '') return Buffer.alloc(0);
  const bytes = decodeBase64(value);
  if (!bytes) throw badRequest(`${prefix}${base64ErrorText(value)}`);
  return bytes;
}

/** Checks the items' string fields (a non-string is a 400) and reads a JSON null as "", as Vault's decoding of items does. */
function checkItemStrings(items: BatchItem[], fields: string[]): void {
  items.forEach((item, i) =>
    fields.forEach((field) => {
      if (itemString(item, i, field) === undefined && item[field] === null) item[field] = '';
    }),
  );
}

function isBatch(ctx: RequestContext): boolean {
  return ctx.data.batch_input !== undefined && ctx.data.batch_input !== null;
}

export function transitSignPaths(deps: TransitDeps): RouteDefinition[] {
  const { store } = deps;

  async function material(mount: MountEntry, p: TransitKeyPolicy, version: number): Promise<KeyVersionMaterial> {
    const m = p.versions[String(version)] ? await store.material(mount.uuid, p.name, version) : undefined;
    if (!m) throw badRequest('no such key version');
    return m;
  }

  /** SignWithOptions's version choice: 0 is the latest; never above it or below min_encryption_version. */
  function signingVersion(p: TransitKeyPolicy, requested: number): number {
    if (requested === 0) return p.latestVersion;
    if (requested < 0) throw badRequest('requested version for signing is negative');
    if (requested > p.latestVersion) throw badRequest('requested version for signing is higher than the latest key version');
    if (p.minEncryptionVersion > 0 && requested < p.minEncryptionVersion)
      throw badRequest('requested version for signing is less than the minimum encryption key version');
    return requested;
  }

  async function signOne(mount: MountEntry, p: TransitKeyPolicy, item: BatchItem, requestedVersion: number, options: SignatureOptions) {
    if (item.input === undefined) throw badRequest('missing input');
    const input = itemBase64(item.input as string, 'unable to decode input: ');
    const context = decodeBase64((item.context as string | undefined) ?? '');
    if (!context) throw badRequest('failed to base64-decode context');
    const version = signingVersion(p, requestedVersion);
    if (p.type === 'managed_key') {
      const signer = await managedSigner(mount, p, version);
      refuseEd25519ph(
        userErrors(() => signingTypeOf(signer.publicKey)),
        options,
        item,
        'failed to parse batch item: ',
      );
      const signature = await signWithSigner(signer, input, options).catch(rethrowUserError);
      await countSignature(mount, p, version);
      return { signature: formatVersioned(version, encodeSignature(signature, options.marshaling)), key_version: version };
    }
    refuseEd25519ph(p.type, options, item, 'failed to parse batch item: ');
    if (p.versions[String(version)]?.publicKeyOnly) throw badRequest('requested version for signing does not contain a private part');
    const m = await material(mount, p, version);
    const privateKey = userErrors(() => signingKey(p.type, m, p.derived, context));
    const signature = userErrors(() => signInput(p.type, privateKey, input, options));
    await countSignature(mount, p, version);
    const result: Record<string, unknown> = { signature: formatVersioned(version, encodeSignature(signature, options.marshaling)), key_version: version };
    if (p.type === 'ed25519' && p.derived) result.publickey = ed25519PublicBytes(privateKey).toString('base64');
    return result;
  }

  /** Counts one signature against the version (issue 29's rotation by usage). */
  async function countSignature(mount: MountEntry, p: TransitKeyPolicy, version: number): Promise<void> {
    await deps.usage?.count({ mountUuid: mount.uuid, name: p.name, version }, p.versions[String(version)]?.operations ?? 0, usageThreshold(p));
  }

  async function managedSigner(mount: MountEntry, p: TransitKeyPolicy, version: number): Promise<Signer> {
    if (!deps.managed) throw badRequest(MANAGED_SIGNING_UNSUPPORTED);
    return deps.managed.signer(mount, p, version);
  }

  /** The version's verification key and the type it verifies as (a managed key's from its Signer). */
  async function publicKeyFor(mount: MountEntry, p: TransitKeyPolicy, version: number, context: Buffer): Promise<{ key: KeyObject; type: TransitKeyType }> {
    const info = p.versions[String(version)];
    if (!info) throw badRequest('no such key version');
    if (p.type === 'managed_key') {
      const key = (await managedSigner(mount, p, version)).publicKey;
      return { key, type: userErrors(() => signingTypeOf(key)) };
    }
    const m = info.publicKeyOnly && !(p.type === 'ed25519' && p.derived) ? undefined : await material(mount, p, version);
    return { key: userErrors(() => verificationKey(p.type, m, info.publicKey, p.derived, context)), type: p.type };
  }

  async function verifyOne(mount: MountEntry, p: TransitKeyPolicy, item: BatchItem, options: SignatureOptions): Promise<boolean> {
    const input = itemBase64(item.input as string | undefined, 'failed to parse item: failed to parse input: ');
    if (item.signature === undefined) throw badRequest('failed to parse item: missing signature');
    const context = itemBase64(item.context as string | undefined, 'failed to parse item: failed to parse context: ');
    if (p.type !== 'managed_key') refuseEd25519ph(p.type, options, item, 'failed to parse item: failed to parse batch item: ');
    const { version, payload } = parseVersioned(item.signature as string, 'signature', p);
    const signature = userErrors(() => decodeSignature(payload, options.marshaling));
    const publicKey = await publicKeyFor(mount, p, version, context);
    if (p.type === 'managed_key') refuseEd25519ph(publicKey.type, options, item, 'failed to parse item: failed to parse batch item: ');
    return userErrors(() => verifyInput(publicKey.type, publicKey.key, input, signature, options));
  }

  /** keysutil HMACKey for a version already range-checked by the caller. */
  async function hmacKey(mount: MountEntry, p: TransitKeyPolicy, version: number): Promise<Buffer> {
    if (version < 0) throw badRequest('key version does not exist (cannot be negative)');
    if (version > p.latestVersion) throw badRequest(`key version does not exist; latest key version is ${p.latestVersion}`);
    if (p.type === 'managed_key') throw badRequest('managed keys are not supported for HMAC yet');
    const m = await material(mount, p, version);
    return userErrors(() => hmacKeyOf(p.type, m));
  }

  function hmacHash(algorithm: string) {
    const hash = isHashAlgorithm(algorithm) ? HASH_ALGORITHMS[algorithm] : null;
    if (hash === null) throw badRequest(`unsupported algorithm ${JSON.stringify(algorithm)}`);
    return hash;
  }

  async function hmacVerifyOne(mount: MountEntry, p: TransitKeyPolicy, item: BatchItem, algorithm: string): Promise<boolean> {
    if (item.input === undefined) throw badRequest('missing input');
    const input = itemBase64(item.input as string, 'unable to decode input as base64: ');
    if (item.hmac === undefined) throw badRequest('missing hmac');
    const value = item.hmac as string;
    if (!value.startsWith(VERSION_PREFIX)) throw badRequest('invalid HMAC to verify: no prefix');
    const rest = value.slice(VERSION_PREFIX.length);
    const colon = rest.indexOf(':');
    if (colon < 0) throw badRequest('invalid HMAC: wrong number of fields');
    const versionText = rest.slice(0, colon);
    if (!/^[+-]?\d{1,15}$/.test(versionText)) throw badRequest('invalid HMAC: version number could not be decoded');
    const version = Number(versionText);
    const given = itemBase64(rest.slice(colon + 1), 'unable to decode verification HMAC as base64: ');
    if (version > p.latestVersion) throw badRequest('invalid HMAC: version is too new');
    if (p.minDecryptionVersion > 0 && version < p.minDecryptionVersion) throw badRequest('cannot verify HMAC: version is too old (disallowed by policy)');
    const key = await hmacKey(mount, p, version);
    return hmacMatches(computeHmac(hmacHash(algorithm), key, input), given);
  }

  /** pathHMACVerify, reached from verify/ when the items carry `hmac`. */
  async function verifyHmacs(ctx: RequestContext<SignatureData>, items: BatchItem[], batch: boolean) {
    const name = checkedName(ctx);
    const algorithm = ctx.params.hash_algorithm || (ctx.data.hash_algorithm ?? ctx.data.algorithm ?? DEFAULT_HASH_ALGORITHM);
    const p = await store.policy(ctx.mount.uuid, name);
    if (!p) throw badRequest('encryption key not found');
    hmacHash(algorithm);
    const results = await Promise.all(
      items.map((item) => batchItemResult(item.reference, async () => ((await hmacVerifyOne(ctx.mount, p, item, algorithm)) ? { valid: true } : {}))),
    );
    return batchAnswer(results, { batch, statusRule: 'always-200', single: (r) => ({ valid: r.valid === true }) });
  }

  return [
    ...['sign/:name', 'sign/:name/:hash_algorithm'].map((path) =>
      route({
        path,
        fields: SIGN_FIELDS,
        help: 'Signs base64 `input` (or each `batch_input` item) with the named key: `signature`, vault:v<N>:<base64>.',
        handlers: {
          update: async (ctx) => {
            const name = checkedName(ctx);
            const options = signatureOptions(ctx);
            const p = await store.policy(ctx.mount.uuid, name);
            if (!p) throw badRequest('signing key not found');
            checkSigningKey(deps, p, options);
            const batch = isBatch(ctx);
            const items = batch
              ? batchItems(ctx.data.batch_input)
              : [{ input: ctx.data.input ?? '', context: ctx.data.context ?? '', signature_context: ctx.data.signature_context }];
            checkItemStrings(items, ['input', 'context', 'signature_context', 'reference']);
            const results = await Promise.all(
              items.map((item) => batchItemResult(item.reference, () => signOne(ctx.mount, p, item, ctx.data.key_version ?? 0, options))),
            );
            for (const r of results) if (r.error !== undefined) r.key_version = 0;
            return batchAnswer(results, {
              batch,
              statusRule: 'always-200',
              single: (r) => ({
                signature: r.signature,
                key_version: r.key_version,
                ...(r.publickey === undefined ? {} : { public_key: r.publickey }),
              }),
            });
          },
        },
      }),
    ),
    ...['verify/:name', 'verify/:name/:hash_algorithm'].map((path) =>
      route({
        path,
        fields: VERIFY_FIELDS,
        help: 'Verifies a `signature` or an `hmac` of base64 `input` (or of each `batch_input` item) with the named key: `valid`.',
        pureOperations: ['update'],
        handlers: {
          update: async (ctx) => {
            const batch = isBatch(ctx);
            let items: BatchItem[];
            if (batch) items = batchItems(ctx.data.batch_input);
            else {
              const d = ctx.data;
              items = [
                { input: d.input ?? '', signature: d.signature, hmac: d.hmac, cmac: d.cmac, context: d.context ?? '', signature_context: d.signature_context },
              ];
            }
            checkItemStrings(items, ['input', 'signature', 'hmac', 'cmac', 'context', 'signature_context', 'reference']);
            const has = (field: string) => items.some((item) => item[field] !== undefined);
            const [sigFound, hmacFound, cmacFound] = [has('signature'), has('hmac'), has('cmac')];
            const kinds = [sigFound, hmacFound, cmacFound].filter(Boolean).length;
            const missing = items.some((item) => ['signature', 'hmac', 'cmac'].every((field) => item[field] === undefined));
            if (!batch && kinds > 1) throw badRequest("provide one of 'signature', 'hmac' or 'cmac'");
            if (!batch && kinds === 0) throw badRequest("missing one of 'signature', 'hmac' or 'cmac' arguments to verify");
            if (kinds > 1) throw badRequest("elements of batch_input must all provide either 'signature', 'hmac' or 'cmac'");
            if (missing && sigFound) throw badRequest("some elements of batch_input are missing 'signature'");
            if (missing && hmacFound) throw badRequest("some elements of batch_input are missing 'hmac'");
            if (missing && cmacFound) throw badRequest("some elements of batch_input are missing 'cmac'");
            if (kinds === 0) throw badRequest("no batch_input elements have 'signature', 'hmac' or 'cmac'");
            if (hmacFound) return verifyHmacs(ctx, items, batch);
            if (cmacFound) throw badRequest(CMAC_ENTERPRISE_ONLY);

            const name = checkedName(ctx);
            const options = signatureOptions(ctx);
            const p = await store.policy(ctx.mount.uuid, name);
            if (!p) throw badRequest('signature verification key not found');
            checkSigningKey(deps, p, options);
            const results = await Promise.all(
              items.map((item) => batchItemResult(item.reference, async () => ({ valid: await verifyOne(ctx.mount, p, item, options) }))),
            );
            for (const r of results) if (r.error !== undefined) r.valid = false;
            return batchAnswer(results, { batch, statusRule: 'always-200', single: (r) => ({ valid: r.valid }) });
          },
        },
      }),
    ),
    ...['hmac/:name', 'hmac/:name/:hash_algorithm'].map((path) =>
      route({
        path,
        fields: HMAC_FIELDS,
        help: 'HMACs base64 `input` (or each `batch_input` item) with the named key: `hmac`, vault:v<N>:<base64>.',
        pureOperations: ['update'],
        handlers: {
          update: async (ctx) => {
            const name = checkedName(ctx);
            const algorithm = ctx.params.hash_algorithm || (ctx.data.algorithm ?? DEFAULT_HASH_ALGORITHM);
            const p = await store.policy(ctx.mount.uuid, name);
            if (!p) throw badRequest('encryption key not found');
            let version = ctx.data.key_version ?? 0;
            if (version === 0) version = p.latestVersion;
            else if (version !== p.latestVersion && p.minEncryptionVersion > 0 && version < p.minEncryptionVersion)
              throw badRequest('cannot generate HMAC: version is too old (disallowed by policy)');
            const key = await hmacKey(ctx.mount, p, version);
            const hash = hmacHash(algorithm);
            const batch = isBatch(ctx);
            if (!batch && ctx.data.input === undefined) throw badRequest('missing input for HMAC');
            const items = batch ? batchItems(ctx.data.batch_input) : [{ input: ctx.data.input }];
            checkItemStrings(items, ['input', 'reference']);
            const results = await Promise.all(
              items.map((item) =>
                batchItemResult(item.reference, async () => {
                  if (item.input === undefined) throw badRequest('missing input for HMAC');
                  const input = itemBase64(item.input as string, 'unable to decode input as base64: ');
                  return { hmac: formatVersioned(version, computeHmac(hash, key, input).toString('base64')) };
                }),
              ),
            );
            return batchAnswer(results, { batch, statusRule: 'always-200', single: (r) => ({ hmac: r.hmac }) });
          },
        },
      }),
    ),
  ];
}
