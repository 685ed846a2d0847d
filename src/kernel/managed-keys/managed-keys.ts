/**
 * Vault's managed keys registry (PKCS#11): keys on HSMs that engines use by name, never holding
 * their material. Stores the registry (ManagedKeyRepository) and runs operations on a key for a
 * mount allowed to use it (`withKey`, `signerFor`), recovering from a token outage on the way.
 *
 * Invariants:
 * - a mount may use a key only when the key has any_mount or the mount's allowed_managed_keys lists
 *   the key's name (or id); a key listed by some mount cannot be deleted (Vault's rule);
 * - opened tokens are cached per (library path, slot or token label, PIN digest) and shared by every
 *   key on that token with that PIN; the PIN is part of the cache key so that a key written with a
 *   wrong PIN never borrows a session another key logged in (the digest is keyed by a random
 *   per-process key and never leaves the process); a token that fails to open is not cached;
 * - outage recovery: an operation that fails because the token, its session or the library went
 *   away (HsmError token-absent, not-logged-in, library) reopens the token once, which
 *   re-initialises the library (Pkcs11Token.reopen(): SoftHSM and most tokens do not see a token
 *   that came back otherwise), and runs again once; a second failure is the caller's. Concurrent
 *   failures on one token share one reopen. Every failed operation gets its own one retry, so the
 *   first use after the token is back works, with no restart;
 * - every cached token is closed when the barrier seals (the PINs are barrier-sealed, so nothing is
 *   opened while sealed) and at shutdown; a Signer made before cannot reopen one afterwards;
 * - errors of an operation on a key are one line, `the managed key "<name>" is unavailable: <why>`
 *   (500); no message and no returned value carries a PIN; HsmError messages never do (src/hsm).
 */
import { constants, createHmac, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { Signer } from '../../crypto/signer';
import { defaultSignatureHash, signatureSchemeFor, type SignatureHash } from '../../crypto/x509/signing';
import type { MountEntry } from '../../framework/backend';
import { HsmError } from '../../hsm/hsm-error';
import { pkcs11Signer } from '../../hsm/pkcs11-signer';
import { Pkcs11Token, type EcCurve, type Pkcs11KeyRef } from '../../hsm/pkcs11-token';
import { ApiError, badRequest } from '../errors';
import type { MountTable } from '../router/mount-table';
import { findKmsLibrary, type KmsLibrary } from './kms-library';
import { keyKindOf, managedKeyName, mergeManagedKey, type ManagedKeyInput } from './managed-key-input';
import type { ManagedKeyRecord, ManagedKeyRepository, ManagedKeyUsage } from './managed-key.repository';

/** Failures a reopen (library re-initialisation) may cure: the token, its session or the library went away. */
const REOPENABLE = new Set(['token-absent', 'not-logged-in', 'library']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CACHE_DIGEST_KEY = randomBytes(32);
const EC_CURVES: Record<NonNullable<ManagedKeyRecord['curve']>, EcCurve> = { P256: 'P-256', P384: 'P-384', P521: 'P-521' };
/** The hash of the hashed signing mechanisms (CKM_SHA*_RSA_PKCS, CKM_SHA*_RSA_PKCS_PSS, CKM_ECDSA_SHA*); others take the key's default. */
const MECHANISM_HASHES: Record<number, SignatureHash> = {
  0x0040: 'sha256',
  0x0041: 'sha384',
  0x0042: 'sha512',
  0x0043: 'sha256',
  0x0044: 'sha384',
  0x0045: 'sha512',
  0x1044: 'sha256',
  0x1045: 'sha384',
  0x1046: 'sha512',
};
/** CKM_RSA_PKCS_PSS and CKM_SHA*_RSA_PKCS_PSS. */
const PSS_MECHANISMS = new Set([0x000d, 0x000e, 0x0043, 0x0044, 0x0045, 0x0047]);

/** What an engine gets: the key's registry entry, the token logged in, and the key on it. */
export interface ManagedKeyHandle {
  key: ManagedKeyRecord;
  token: Pkcs11Token;
  ref: Pkcs11KeyRef;
}

export type Reachability = { reachable: true } | { reachable: false; error: string };

/** An operation on a key: may run twice (once more after a reopen), so it must be safe to repeat. */
export type ManagedKeyOperation<T> = (token: Pkcs11Token, ref: Pkcs11KeyRef, key: ManagedKeyRecord) => Promise<T>;

export class ManagedKeys {
  private readonly tokens = new Map<string, Promise<Pkcs11Token>>();
  /** Reopens under way, per cache key: concurrent failures on one token share one. */
  private readonly reopening = new Map<string, Promise<Pkcs11Token>>();
  /** Increases at every closeAll (seal, shutdown): a reopen or signer from before must not cache a token again. */
  private closings = 0;

  constructor(
    private readonly repository: ManagedKeyRepository,
    private readonly mounts: MountTable,
    private readonly libraries: readonly KmsLibrary[],
  ) {}

  list(): Promise<string[]> {
    return this.repository.names();
  }

  read(name: string): Promise<ManagedKeyRecord | undefined> {
    return this.repository.byName(managedKeyName(name));
  }

  /**
   * Creates or updates a key (fields not given keep their stored values; the PIN too). With
   * allow_generate_key the token is opened and a missing key generated now, and a failure to do so
   * refuses the write.
   */
  async write(name: string, input: ManagedKeyInput): Promise<ManagedKeyRecord> {
    const n = managedKeyName(name);
    const previous = await this.repository.byName(n);
    const record = mergeManagedKey(n, input, previous, this.libraries);
    if (record.allowGenerateKey) {
      const pin = input.pin || (previous && (await this.repository.pin(previous.id)));
      if (!pin) throw badRequest(`managed key "${n}" was deleted meanwhile`);
      try {
        await this.run(record, pin, 'generate', async () => undefined);
      } catch (err) {
        if (err instanceof HsmError) throw badRequest(`managed key "${n}": ${err.message}`);
        throw err;
      }
    }
    await this.repository.save(record, input.pin);
    return record;
  }

  /** Vault refuses to delete a key some mount lists in allowed_managed_keys. False when there was no such key. */
  async delete(name: string): Promise<boolean> {
    const n = managedKeyName(name);
    const record = await this.repository.byName(n);
    if (!record) return false;
    const users = (['secret', 'auth'] as const).flatMap((cls) => this.mounts.list(cls)).filter((m) => listedBy(m, record));
    if (users.length > 0)
      throw badRequest(`managed key "${n}" is listed in allowed_managed_keys of ${users.map((m) => m.path).join(', ')}: remove it there first`);
    return this.repository.delete(n);
  }

  /** Whether the key is on its token now (opening, or reopening, the token if needed); never throws for an HSM failure. */
  /** Whether the key with this id answers on its token (key health); a deleted key does not. */
  async reachableById(id: string): Promise<boolean> {
    const record = await this.repository.byId(id);
    return record !== undefined && (await this.reachability(record)).reachable;
  }

  async reachability(record: ManagedKeyRecord): Promise<Reachability> {
    try {
      const pin = await this.repository.pin(record.id);
      if (pin === undefined) return { reachable: false, error: 'the key was deleted' };
      await this.run(record, pin, 'find', async () => undefined);
      return { reachable: true };
    } catch (err) {
      if (err instanceof HsmError || err instanceof ApiError) return { reachable: false, error: err.message };
      throw err;
    }
  }

  /**
   * Vault's sys/managed-keys/:type/:name/test/sign: signs random data with the key (generated first
   * when missing and allowed) and verifies the signature with node:crypto against the token's public
   * key. 400 when the key does not allow "sign" or cannot sign (an AES key); 500 when the token or
   * key is unavailable or the signature does not verify.
   */
  async testSign(name: string): Promise<void> {
    const n = managedKeyName(name);
    const record = await this.repository.byName(n);
    const pin = record && (await this.repository.pin(record.id));
    if (!record || pin === undefined) throw badRequest(`no managed key named "${n}"`);
    if (!record.usages.includes('sign')) throw badRequest(`managed key "${n}" does not allow usage "sign"`);
    if (keyKindOf(record.mechanism) === 'aes')
      throw badRequest(`managed key "${n}" is an AES key (mechanism 0x${record.mechanism.toString(16)}): it cannot sign`);
    const data = randomBytes(64);
    await this.guard(record, () =>
      this.run(record, pin, 'generate', async (token, ref) => {
        if (ref.class === 'secret') throw badRequest(`managed key "${n}" is a secret key on the token: it cannot sign`);
        const signer = await pkcs11Signer(token, ref);
        const hash = MECHANISM_HASHES[record.mechanism] ?? (defaultSignatureHash(signer.publicKey) as SignatureHash);
        const pss = ref.class === 'rsa' && PSS_MECHANISMS.has(record.mechanism);
        const signature = await signer.sign(signatureSchemeFor(signer.publicKey, hash, pss), data);
        if (!verifies(signer.publicKey, hash, pss, data, signature))
          throw new HsmError('operation', `the ${hash} signature of ${token.name} does not verify with the key's public key`);
      }),
    );
  }

  /**
   * The key `nameOrId` for `mount`: refused (400) when the mount is not allowed to use it or, with
   * `usage`, when the key does not allow that usage. A missing key is generated when the key allows
   * it (Vault generates on first use); otherwise the key is unavailable (500).
   */
  async forMount(mount: MountEntry, nameOrId: string, usage?: ManagedKeyUsage): Promise<ManagedKeyHandle> {
    return this.withKey(mount, nameOrId, usage, async (token, ref, key) => ({ key, token, ref }));
  }

  /**
   * Runs `operation` on the key `nameOrId` for `mount` (access as forMount): when it fails because
   * the token went away, the token is reopened (the library re-initialised) and `operation` runs
   * once more. HSM failures come out as `the managed key "<name>" is unavailable: <why>` (500).
   */
  async withKey<T>(mount: MountEntry, nameOrId: string, usage: ManagedKeyUsage | undefined, operation: ManagedKeyOperation<T>): Promise<T> {
    const { record, pin } = await this.access(mount, nameOrId, usage);
    return this.guard(record, () => this.run(record, pin, 'generate', operation));
  }

  /**
   * A Signer over the key `nameOrId` for `mount` (usage "sign"), for one piece of work (a request):
   * its public key is read once; `sign` that fails because the token went away reopens the token
   * and signs once more, provided the key found again has the same public key. Failures as withKey.
   */
  async signerFor(mount: MountEntry, nameOrId: string): Promise<Signer> {
    const { record, pin } = await this.access(mount, nameOrId, 'sign');
    const closings = this.closings;
    let current = await this.guard(record, () => this.run(record, pin, 'generate', async (token, ref) => ({ token, signer: await pkcs11Signer(token, ref) })));
    const publicKey = current.signer.publicKey;
    return {
      publicKey,
      sign: (scheme, data) =>
        this.guard(record, async () => {
          if (this.closings !== closings) throw new HsmError('not-logged-in', 'the managed keys were closed (sealed) after this signer was made');
          try {
            return await current.signer.sign(scheme, data);
          } catch (err) {
            if (!reopenable(err)) throw err;
            const token = await this.reopen(record, pin);
            const ref = await this.locate(record, token, 'find');
            const signer = await pkcs11Signer(token, ref);
            if (!signer.publicKey.equals(publicKey))
              throw new HsmError('key-missing', `the key on ${token.name} is no longer the one this signer was made with`);
            current = { token, signer };
            return signer.sign(scheme, data);
          }
        }),
    };
  }

  /** Closes every cached token (at seal and shutdown). */
  async closeAll(): Promise<void> {
    this.closings++;
    const opened = [...this.tokens.values()];
    this.tokens.clear();
    for (const t of opened) await (await t.catch(() => undefined))?.close();
  }

  /** The key and PIN when `mount` may use the key `nameOrId` (for `usage`); 400 otherwise. */
  private async access(mount: MountEntry, nameOrId: string, usage?: ManagedKeyUsage): Promise<{ record: ManagedKeyRecord; pin: string }> {
    const record = UUID.test(nameOrId) ? await this.repository.byId(nameOrId.toLowerCase()) : await this.repository.byName(managedKeyName(nameOrId));
    if (!record) throw badRequest(`no managed key named "${nameOrId}"`);
    if (!record.anyMount && !listedBy(mount, record))
      throw badRequest(
        `managed key "${record.name}" is not allowed on mount ${mount.path}: list it in the mount's allowed_managed_keys, or set any_mount on the key`,
      );
    if (usage && !record.usages.includes(usage)) throw badRequest(`managed key "${record.name}" does not allow usage "${usage}"`);
    const pin = await this.repository.pin(record.id);
    if (pin === undefined) throw badRequest(`no managed key named "${nameOrId}"`);
    return { record, pin };
  }

  /**
   * Forgets and closes the cached token `token`: an engine found it gone or logged out while using a
   * key on it (outside forMount), so the next use opens it afresh.
   */
  async dropToken(token: Pkcs11Token): Promise<void> {
    for (const [cacheKey, opening] of [...this.tokens]) {
      if ((await opening.catch(() => undefined)) !== token) continue;
      if (this.tokens.get(cacheKey) === opening) this.tokens.delete(cacheKey);
      await token.close();
    }
  }

  /** `work()`, an HsmError from it as the one-line 500 callers get. */
  private async guard<T>(record: ManagedKeyRecord, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof HsmError) throw new ApiError(500, [`the managed key "${record.name}" is unavailable: ${err.message}`]);
      throw err;
    }
  }

  /**
   * `operation` on the key (found, or with 'generate' generated when missing and allowed) on its
   * cached token; when the token, session or library went away, reopens the token once and runs again.
   */
  private async run<T>(record: ManagedKeyRecord, pin: string, mode: 'find' | 'generate', operation: ManagedKeyOperation<T>): Promise<T> {
    try {
      const token = await this.token(record, pin);
      return await operation(token, await this.locate(record, token, mode), record);
    } catch (err) {
      if (!reopenable(err)) throw err;
      const again = await this.reopen(record, pin);
      return operation(again, await this.locate(record, again, mode), record);
    }
  }

  /**
   * The key's token, reopened: the cached one, else a new token (its open failed); `reopen()`
   * re-initialises the library, so a token that came back is seen. Concurrent calls for one token
   * share one reopen. A failed reopen leaves nothing cached.
   */
  private reopen(record: ManagedKeyRecord, pin: string): Promise<Pkcs11Token> {
    const cacheKey = this.cacheKey(record, pin);
    const under = this.reopening.get(cacheKey);
    if (under) return under;
    const closings = this.closings;
    const run = (async () => {
      const cached = await this.tokens.get(cacheKey)?.catch(() => undefined);
      const token = cached ?? this.newToken(record, pin);
      const opening = token.reopen().then(() => token);
      this.tokens.set(cacheKey, opening);
      try {
        await opening;
      } catch (err) {
        if (this.tokens.get(cacheKey) === opening) this.tokens.delete(cacheKey);
        throw err;
      }
      if (this.closings !== closings) {
        if (this.tokens.get(cacheKey) === opening) this.tokens.delete(cacheKey);
        await token.close();
        throw new HsmError('not-logged-in', 'the managed keys were closed (sealed) during the reopen');
      }
      return token;
    })();
    this.reopening.set(cacheKey, run);
    const done = () => {
      if (this.reopening.get(cacheKey) === run) this.reopening.delete(cacheKey);
    };
    run.then(done, done);
    return run;
  }

  private library(record: ManagedKeyRecord): KmsLibrary {
    const library = findKmsLibrary(this.libraries, record.library);
    if (!library) throw badRequest(`managed key "${record.name}": library "${record.library}" is no longer a kms_library of the server configuration`);
    return library;
  }

  /** (library path, slot, token label, keyed PIN digest). */
  private cacheKey(record: ManagedKeyRecord, pin: string): string {
    const pinDigest = createHmac('sha256', CACHE_DIGEST_KEY).update(pin, 'utf8').digest('hex');
    return JSON.stringify([this.library(record).library, record.slot ?? null, record.tokenLabel ?? null, pinDigest]);
  }

  private newToken(record: ManagedKeyRecord, pin: string): Pkcs11Token {
    return new Pkcs11Token({
      lib: this.library(record).library,
      ...(record.slot !== undefined ? { slot: BigInt(record.slot) } : { tokenLabel: record.tokenLabel }),
      pin,
    });
  }

  /** The cached token for the key's library, slot or label, and PIN; opened (and logged in) on first use. */
  private token(record: ManagedKeyRecord, pin: string): Promise<Pkcs11Token> {
    const cacheKey = this.cacheKey(record, pin);
    let opening = this.tokens.get(cacheKey);
    if (!opening) {
      const token = this.newToken(record, pin);
      opening = token.open().then(() => token);
      this.tokens.set(cacheKey, opening);
      opening.catch(() => {
        if (this.tokens.get(cacheKey) === opening) this.tokens.delete(cacheKey);
      });
    }
    return opening;
  }

  /**
   * The key on the token; with 'generate', generated first when missing and allowed (RSA, EC or
   * AES). Not found on a token that fails its health check is that failure (token-absent: reopenable),
   * never a generation.
   */
  private async locate(record: ManagedKeyRecord, token: Pkcs11Token, mode: 'find' | 'generate'): Promise<Pkcs11KeyRef> {
    const id = record.keyId !== undefined ? Buffer.from(record.keyId, 'hex') : undefined;
    const found = await token.findKey({ label: record.keyLabel, id });
    if (found) return found;
    // A token whose storage went away (SoftHSM: its directory) answers "no such key" rather than an
    // error, until the library is reinitialised: tell the two apart before saying missing or generating.
    const health = await token.health();
    if (!health.ok) throw health.error;
    if (mode === 'find' || !record.allowGenerateKey || !record.keyLabel) throw new HsmError('key-missing', `${token.name} has no key ${describe(record)}`);
    const kind = keyKindOf(record.mechanism);
    if (kind === 'rsa') return token.generateRsaKeyPair(record.keyLabel, record.keyBits ?? 2048, id);
    if (kind === 'aes') return token.generateAesKey(record.keyLabel, id);
    if (kind === 'ec' && record.curve) return token.generateEcKeyPair(record.keyLabel, EC_CURVES[record.curve], id);
    throw badRequest(`cannot generate a key for mechanism 0x${record.mechanism.toString(16)}`);
  }
}

function reopenable(err: unknown): boolean {
  return err instanceof HsmError && REOPENABLE.has(err.kind);
}

/** node:crypto's verdict on `signature` (DER ECDSA, PKCS#1 v1.5 or PSS with a salt as long as the hash). */
function verifies(publicKey: KeyObject, hash: SignatureHash, pss: boolean, data: Buffer, signature: Buffer): boolean {
  if (!pss) return verify(hash, data, publicKey, signature);
  return verify(hash, data, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
}

/** The mount's allowed_managed_keys names the key (by name, case folded, or by id). */
function listedBy(mount: MountEntry, record: ManagedKeyRecord): boolean {
  return (mount.config.allowedManagedKeys ?? []).some((k) => {
    const v = k.trim().toLowerCase();
    return v === record.name || v === record.id;
  });
}

function describe(r: ManagedKeyRecord): string {
  return [r.keyLabel !== undefined ? `'${r.keyLabel}'` : '', r.keyId !== undefined ? `(id ${r.keyId})` : ''].filter(Boolean).join(' ');
}
