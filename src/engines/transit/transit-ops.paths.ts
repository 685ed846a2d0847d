/**
 * Vault transit's utility operations and mount settings (builtin/logical/transit path_rewrap.go,
 * path_datakey.go, path_hash.go, path_random.go with helper/random, path_trim.go,
 * path_config_keys.go, path_cache_config.go), with Vault's fields, answers and messages.
 *
 * Invariants: no answer but datakey/plaintext's carries key material, and no error message carries
 * a plaintext or a key; trim deletes the versions below min_available_version in the transaction
 * that sets it, and only below both minimum versions; every change goes through the key store,
 * which drops its cache after it commits.
 */
import { randomBytes } from 'node:crypto';
import { isTransitHashAlgorithm, transitHash } from '../../crypto/transit/hash';
import type { Fields } from '../../framework/fields';
import { route, logical, type RouteDefinition } from '../../framework/route';
import { badRequest } from '../../kernel/errors';
import {
  base64ErrorText,
  batchAnswer,
  batchItems,
  actorOf,
  checkedName,
  decodeBase64,
  itemInt,
  itemString,
  keyAnswer,
  type BatchItem,
  type TransitDeps,
} from './transit-common';
import { batchItemResult, itemBytes, nonceAllowed, TransitCipher } from './transit-encrypt.paths';

/** helper/random: the most bytes one request may ask for, and from the seal's entropy source. */
const RANDOM_MAX_BYTES = 10 * 1024 * 1024;
const RANDOM_SEAL_MAX_BYTES = 128 * 1024;
const RANDOM_SOURCES = ['', 'platform', 'seal', 'all'];
/** Vault's minCacheSize: a bounded cache holds at least this many keys. */
const MIN_CACHE_SIZE = 10;

const FORMAT_MESSAGE = (format: string, quoted: boolean) =>
  `unsupported encoding format ${quoted ? JSON.stringify(format) : format}; must be "hex" or "base64"`;

/** Go's strconv.Atoi, with its error text. */
function goAtoi(text: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw badRequest(`error parsing url-set byte count: strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
  const n = BigInt(text.replace(/^\+/, ''));
  if (n > 9223372036854775807n || n < -9223372036854775808n)
    throw badRequest(`error parsing url-set byte count: strconv.Atoi: parsing ${JSON.stringify(text)}: value out of range`);
  return Number(n);
}

/**
 * helper/random HandleRandomAPI's reading of the URL: `random/<source>/<bytes>`, `random/<source>`
 * (a known source) or `random/<bytes>`; otherwise the body's `bytes`. As in Vault, the URL's
 * (possibly empty) source replaces a `source` sent in the body.
 */
function randomRequest(urlSource: string, urlBytes: string, bodyBytes: number): { source: string; bytes: number } {
  if (urlSource === '') return { source: 'platform', bytes: bodyBytes };
  if (urlBytes === '' && RANDOM_SOURCES.includes(urlSource)) return { source: urlSource, bytes: bodyBytes };
  if (urlBytes === '') return { source: 'platform', bytes: goAtoi(urlSource) };
  return { source: urlSource, bytes: goAtoi(urlBytes) };
}

const REWRAP_FIELDS = {
  ciphertext: { type: 'string', description: 'The vault:v<N>:… value to encrypt again.' },
  context: { type: 'string', description: 'Derived keys: the base64 context the value was encrypted with.' },
  nonce: { type: 'string', description: 'Convergent version 1 keys: the base64 nonce.' },
  key_version: { type: 'int', description: 'The version of the key to use for encryption (0: the latest; else at least min_encryption_version).' },
  batch_input: { type: 'any', description: 'A list of items (ciphertext, context, nonce, key_version, reference) to re-encrypt; results keep their order.' },
} as const satisfies Fields;

const DATAKEY_FIELDS = {
  context: { type: 'string', description: 'Derived keys: the base64 context to encrypt the data key under.' },
  nonce: { type: 'string', description: 'Convergent version 1 keys: the base64 nonce.' },
  bits: { type: 'int', description: 'The data key length in bits: 128, 256 (the default) or 512.', default: 256 },
  key_version: { type: 'int', description: 'The version of the key to encrypt the data key with (0: the latest; else at least min_encryption_version).' },
} as const satisfies Fields;

/** datakey's `bits` and the data key's length in bytes. */
const DATAKEY_BYTES: Record<number, number> = { 128: 16, 256: 32, 512: 64 };

export function transitOpsPaths(deps: TransitDeps): RouteDefinition[] {
  const { store } = deps;
  const cipher = new TransitCipher(deps);
  const randomFields = {
    bytes: { type: 'int', description: 'How many bytes (default 32) when the URL does not say.', default: 32 },
    format: { type: 'string', description: 'base64 (the default) or hex.', default: 'base64' },
    source: {
      type: 'string',
      description: 'platform, seal or all; read from the URL only (Vault replaces the body value with the URL one).',
      default: 'platform',
    },
  } as const;
  const random = (path: string): RouteDefinition =>
    route({
      path,
      fields: randomFields,
      help: 'Generates random bytes: `random_bytes`, base64 or hex.',
      pureOperations: ['update'],
      handlers: {
        update: async (ctx) => {
          const { source, bytes } = randomRequest(ctx.params.source ?? '', ctx.params.urlbytes ?? '', ctx.data.bytes);
          const format = ctx.data.format;
          if (bytes < 1) throw badRequest('"bytes" cannot be less than 1');
          if (bytes > RANDOM_MAX_BYTES) throw badRequest(`"bytes" must be less than ${RANDOM_MAX_BYTES}`);
          if ((source === 'seal' || source === 'all') && bytes > RANDOM_SEAL_MAX_BYTES)
            throw badRequest(`bytes cannot be more than ${RANDOM_SEAL_MAX_BYTES} if sourced from seal.  Use drbg mode instead`);
          if (!RANDOM_SOURCES.includes(source))
            throw badRequest(`unsupported entropy source ${JSON.stringify(source)}; must be "platform" or "seal", or "all"`);
          if (format !== 'hex' && format !== 'base64') throw badRequest(FORMAT_MESSAGE(format, true));
          // No entropy augmentation here: every source is the platform's CSPRNG, as Vault without one.
          const warnings = source === 'seal' ? ['no seal/entropy augmentation available, using platform entropy source'] : undefined;
          return logical({ random_bytes: randomBytes(bytes).toString(format) }, warnings);
        },
      },
    });

  const hashFields = {
    input: { type: 'string', description: 'The data to hash, base64.' },
    algorithm: {
      type: 'string',
      description: 'sha2-224/256/384/512 or sha3-224/256/384/512 (default sha2-256) when the URL does not say.',
      default: 'sha2-256',
    },
    format: { type: 'string', description: 'hex (the default) or base64.', default: 'hex' },
  } as const;
  const hash = (path: string): RouteDefinition =>
    route({
      path,
      fields: hashFields,
      help: 'Hashes base64 `input`: `sum`, hex or base64.',
      pureOperations: ['update'],
      handlers: {
        update: async (ctx) => {
          if (ctx.data.input === undefined) throw badRequest('input missing');
          const algorithm = ctx.params.urlalgorithm ?? ctx.data.algorithm;
          const input = decodeBase64(ctx.data.input);
          if (!input) throw badRequest(`unable to decode input as base64: ${base64ErrorText(ctx.data.input)}`);
          const format = ctx.data.format;
          if (format !== 'hex' && format !== 'base64') throw badRequest(FORMAT_MESSAGE(format, false));
          if (!isTransitHashAlgorithm(algorithm)) throw badRequest(`unsupported algorithm ${algorithm}`);
          return logical({ sum: transitHash(algorithm, input).toString(format) });
        },
      },
    });

  return [
    route({
      path: 'rewrap/:name',
      fields: REWRAP_FIELDS,
      help: 'Decrypts a ciphertext (or each `batch_input` item) and encrypts it again with the latest (or `key_version`) version of the key.',
      pureOperations: ['update'],
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          const batch = ctx.data.batch_input !== undefined && ctx.data.batch_input !== null;
          let items: BatchItem[];
          if (batch) items = batchItems(ctx.data.batch_input);
          else if (!ctx.data.ciphertext) throw badRequest('missing ciphertext to decrypt');
          else items = [{ ciphertext: ctx.data.ciphertext, context: ctx.data.context, nonce: ctx.data.nonce, key_version: ctx.data.key_version }];
          items.forEach((item, i) => {
            for (const field of ['ciphertext', 'context', 'nonce', 'reference']) itemString(item, i, field);
            itemInt(item, i, 'key_version');
          });
          const contextSet = !!items[0].context;
          if (items.some((item) => !!item.context !== contextSet)) throw badRequest('context should be set either in all the request blocks or in none');
          const p = await store.policy(ctx.mount.uuid, name);
          if (!p) throw badRequest('encryption key not found');
          const results = await Promise.all(
            items.map((item, i) =>
              batchItemResult(item.reference, async () => {
                if (!item.ciphertext) throw badRequest('missing ciphertext to decrypt');
                const context = itemBytes(item.context as string | undefined);
                const nonce = itemBytes(item.nonce as string | undefined);
                if (item.nonce && !nonceAllowed(p)) throw badRequest('provided nonce not allowed for this key');
                // As Vault's rewrap, associated data is not taken: a value encrypted with some does not rewrap.
                const plaintext = await cipher.decrypt(ctx.mount, p, { ciphertext: item.ciphertext as string, context, nonce });
                const out = await cipher.encrypt(ctx.mount, p, { plaintext, context, nonce, keyVersion: itemInt(item, i, 'key_version') ?? 0 });
                return { ciphertext: out.ciphertext, key_version: out.keyVersion };
              }),
            ),
          );
          // Unlike encrypt and decrypt, Vault's rewrap answers a batch 200 whatever its items' errors.
          if (batch) return logical({ batch_results: results });
          return batchAnswer(results, { batch, statusRule: 'always-200', single: (r) => ({ ciphertext: r.ciphertext, key_version: r.key_version }) });
        },
      },
    }),
    route({
      path: 'datakey/:plaintext/:name',
      fields: DATAKEY_FIELDS,
      help: 'Generates a random data key of `bits` and encrypts it with the named key: `ciphertext`, `key_version`, and on the `plaintext` path `plaintext` (base64).',
      pureOperations: ['update'],
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          const kind = ctx.params.plaintext;
          if (kind !== 'plaintext' && kind !== 'wrapped') throw badRequest("Invalid path, must be 'plaintext' or 'wrapped'");
          const context = ctx.data.context ? decodeBase64(ctx.data.context) : undefined;
          if (ctx.data.context && !context) throw badRequest('failed to base64-decode context');
          const nonce = ctx.data.nonce ? decodeBase64(ctx.data.nonce) : undefined;
          if (ctx.data.nonce && !nonce) throw badRequest('failed to base64-decode nonce');
          const p = await store.policy(ctx.mount.uuid, name);
          if (!p) throw badRequest('encryption key not found');
          const length = DATAKEY_BYTES[ctx.data.bits];
          if (length === undefined) throw badRequest('invalid bit length');
          const dataKey = randomBytes(length);
          const out = await cipher.encrypt(ctx.mount, p, { plaintext: dataKey, context, nonce, keyVersion: ctx.data.key_version ?? 0 });
          // Vault checks the nonce after encrypting (and answers 500); here it is the caller's error.
          if (nonce && nonce.length > 0 && !nonceAllowed(p)) throw badRequest('provided nonce not allowed for this key');
          const data: Record<string, unknown> = { ciphertext: out.ciphertext, key_version: out.keyVersion };
          if (kind === 'plaintext') data.plaintext = dataKey.toString('base64');
          return logical(data);
        },
      },
    }),
    route({
      path: 'keys/:name/trim',
      fields: {
        min_available_version: {
          type: 'int',
          description: 'Versions below it are deleted for good; at most min_decryption_version and min_encryption_version, both of which must be set.',
        },
      },
      help: 'Deletes the key versions below min_available_version for good (one transaction).',
      handlers: {
        update: async (ctx) => {
          const name = checkedName(ctx);
          const wanted = ctx.data.min_available_version;
          const p = await store.trim(
            ctx.mount.uuid,
            name,
            (current) => {
              if (wanted === undefined) throw badRequest('missing min_available_version');
              if (wanted < current.minAvailableVersion) throw badRequest('minimum available version cannot be decremented');
              if (current.minEncryptionVersion === 0) throw badRequest('minimum available version cannot be set when minimum encryption version is not set');
              if (current.minDecryptionVersion === 0) throw badRequest('minimum available version cannot be set when minimum decryption version is not set');
              // "minmum": Vault's spelling.
              if (wanted > current.minEncryptionVersion) throw badRequest('minimum available version cannot be greater than minmum encryption version');
              if (wanted > current.minDecryptionVersion) throw badRequest('minimum available version cannot be greater than minimum decryption version');
              if (wanted < 0) throw badRequest('minimum available version cannot be negative');
              if (wanted === 0) throw badRequest('minimum available version should be positive');
              return wanted;
            },
            { event: 'trim', reason: 'manual', actor: actorOf(ctx) },
          );
          if (!p) throw badRequest('invalid key name');
          return logical(keyAnswer(p));
        },
      },
    }),
    hash('hash'),
    hash('hash/*urlalgorithm'),
    random('random'),
    random('random/:source'),
    random('random/:source/*urlbytes'),
    route({
      path: 'cache-config',
      fields: { size: { type: 'int', description: 'How many keys the cache holds: 0 (the default) for no bound, else at least 10.', default: 0 } },
      help: "Reads or sets the size of the mount's key cache (0: unbounded).",
      pureOperations: ['read'],
      handlers: {
        read: async (ctx) => logical({ size: (await store.mountConfig(ctx.mount.uuid)).cacheSize }),
        update: async (ctx) => {
          const size = ctx.data.size;
          if (size !== 0 && size < MIN_CACHE_SIZE) throw badRequest(`size must be 0 or a value greater or equal to ${MIN_CACHE_SIZE}`);
          await store.setMountConfig(ctx.mount.uuid, { cacheSize: size });
          return logical({ size });
        },
      },
    }),
    route({
      path: 'config/keys',
      fields: {
        disable_upsert: { type: 'bool', description: 'True: encrypt no longer creates a missing key.', default: false },
      },
      help: 'Reads or sets disable_upsert: whether encrypt refuses to create a missing key.',
      pureOperations: ['read'],
      handlers: {
        read: async (ctx) => logical({ disable_upsert: (await store.mountConfig(ctx.mount.uuid)).disableUpsert }),
        update: async (ctx) => {
          const current = await store.mountConfig(ctx.mount.uuid);
          const disableUpsert = ctx.data.disable_upsert;
          if (current.disableUpsert !== disableUpsert) await store.setMountConfig(ctx.mount.uuid, { disableUpsert });
          return logical({ disable_upsert: disableUpsert });
        },
      },
    }),
  ];
}
