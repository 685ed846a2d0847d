/**
 * Vault's managed keys registry (PKCS#11): keys on HSMs that engines use by name, never holding
 * their material. Stores the registry (ManagedKeyRepository) and hands engines an opened token and
 * a key reference for a mount allowed to use the key.
 *
 * Invariants:
 * - a mount may use a key only when the key has any_mount or the mount's allowed_managed_keys lists
 *   the key's name (or id); a key listed by some mount cannot be deleted (Vault's rule);
 * - opened tokens are cached per (library path, slot or token label, PIN digest) and shared by every
 *   key on that token with that PIN; the PIN is part of the cache key so that a key written with a
 *   wrong PIN never borrows a session another key logged in (the digest is keyed by a random
 *   per-process key and never leaves the process); a token that fails to open is not cached, and
 *   one found gone or logged out is closed and dropped (by forMount, or by an engine through
 *   dropToken), so the next use opens it afresh, reinitialising the library when the token is not seen;
 * - every cached token is closed when the barrier seals (the PINs are barrier-sealed, so nothing is
 *   opened while sealed) and at shutdown;
 * - no message and no returned value carries a PIN; HsmError messages never do (src/hsm).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { MountEntry } from '../../framework/backend';
import { HsmError } from '../../hsm/hsm-error';
import { Pkcs11Token, type Pkcs11KeyRef } from '../../hsm/pkcs11-token';
import { ApiError, badRequest } from '../errors';
import type { MountTable } from '../router/mount-table';
import { findKmsLibrary, type KmsLibrary } from './kms-library';
import { keyKindOf, managedKeyName, mergeManagedKey, type ManagedKeyInput } from './managed-key-input';
import type { ManagedKeyRecord, ManagedKeyRepository, ManagedKeyUsage } from './managed-key.repository';

/** Failures after which a cached token is dropped (closed), so that the next use opens it afresh. */
const TOKEN_LOST = new Set(['token-absent', 'not-logged-in', 'library']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CACHE_DIGEST_KEY = randomBytes(32);

/** What an engine gets: the key's registry entry, the token logged in, and the key on it. */
export interface ManagedKeyHandle {
  key: ManagedKeyRecord;
  token: Pkcs11Token;
  ref: Pkcs11KeyRef;
}

export type Reachability = { reachable: true } | { reachable: false; error: string };

export class ManagedKeys {
  private readonly tokens = new Map<string, Promise<Pkcs11Token>>();

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
        const token = await this.token(record, pin);
        await this.evictOnLoss(record, pin, () => this.findOrGenerate(record, token));
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

  /** Whether the key is on its token now (opening the token if needed); never throws for an HSM failure. */
  async reachability(record: ManagedKeyRecord): Promise<Reachability> {
    try {
      const pin = await this.repository.pin(record.id);
      if (pin === undefined) return { reachable: false, error: 'the key was deleted' };
      const token = await this.token(record, pin);
      const ref = await this.evictOnLoss(record, pin, () => this.find(record, token));
      return ref ? { reachable: true } : { reachable: false, error: `${token.name} has no key ${describe(record)}` };
    } catch (err) {
      if (err instanceof HsmError || err instanceof ApiError) return { reachable: false, error: err.message };
      throw err;
    }
  }

  /**
   * The key `nameOrId` for `mount`: refused (400) when the mount is not allowed to use it or, with
   * `usage`, when the key does not allow that usage. A missing key is generated when the key allows
   * it (Vault generates on first use); otherwise a 400 says it is missing.
   */
  async forMount(mount: MountEntry, nameOrId: string, usage?: ManagedKeyUsage): Promise<ManagedKeyHandle> {
    const record = UUID.test(nameOrId) ? await this.repository.byId(nameOrId.toLowerCase()) : await this.repository.byName(managedKeyName(nameOrId));
    if (!record) throw badRequest(`no managed key named "${nameOrId}"`);
    if (!record.anyMount && !listedBy(mount, record))
      throw badRequest(
        `managed key "${record.name}" is not allowed on mount ${mount.path}: list it in the mount's allowed_managed_keys, or set any_mount on the key`,
      );
    if (usage && !record.usages.includes(usage)) throw badRequest(`managed key "${record.name}" does not allow usage "${usage}"`);
    const pin = await this.repository.pin(record.id);
    if (pin === undefined) throw badRequest(`no managed key named "${nameOrId}"`);
    try {
      const token = await this.token(record, pin);
      return { key: record, token, ref: await this.evictOnLoss(record, pin, () => this.findOrGenerate(record, token)) };
    } catch (err) {
      if (err instanceof HsmError) throw badRequest(`managed key "${record.name}": ${err.message}`);
      throw err;
    }
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

  /** Closes every cached token (at seal and shutdown). */
  async closeAll(): Promise<void> {
    const opened = [...this.tokens.values()];
    this.tokens.clear();
    for (const t of opened) await (await t.catch(() => undefined))?.close();
  }

  /** `work()`; when it finds the token gone or logged out, the cached token is closed and forgotten first. */
  private async evictOnLoss<T>(record: ManagedKeyRecord, pin: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof HsmError && TOKEN_LOST.has(err.kind)) {
        const cacheKey = this.cacheKey(record, pin);
        const cached = this.tokens.get(cacheKey);
        this.tokens.delete(cacheKey);
        await (await cached?.catch(() => undefined))?.close();
      }
      throw err;
    }
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

  /** The cached token for the key's library, slot or label, and PIN; opened (and logged in) on first use. */
  private token(record: ManagedKeyRecord, pin: string): Promise<Pkcs11Token> {
    const library = this.library(record);
    const cacheKey = this.cacheKey(record, pin);
    let opening = this.tokens.get(cacheKey);
    if (!opening) {
      const token = new Pkcs11Token({
        lib: library.library,
        ...(record.slot !== undefined ? { slot: BigInt(record.slot) } : { tokenLabel: record.tokenLabel }),
        pin,
      });
      // A token that went away and came back is seen again only once the library is reinitialised
      // (SoftHSM, some HSMs): one reopen() when the token is not found (other tokens of the library
      // open new sessions on their next call).
      opening = token
        .open()
        .catch(async (err: unknown) => {
          if (!(err instanceof HsmError) || err.kind !== 'token-absent') throw err;
          await token.reopen();
        })
        .then(() => token);
      this.tokens.set(cacheKey, opening);
      opening.catch(() => {
        if (this.tokens.get(cacheKey) === opening) this.tokens.delete(cacheKey);
      });
    }
    return opening;
  }

  private find(record: ManagedKeyRecord, token: Pkcs11Token): Promise<Pkcs11KeyRef | undefined> {
    return token.findKey({ label: record.keyLabel, id: record.keyId !== undefined ? Buffer.from(record.keyId, 'hex') : undefined });
  }

  /** The key, generated first when missing and allowed (RSA or AES; mergeManagedKey refused the rest). */
  private async findOrGenerate(record: ManagedKeyRecord, token: Pkcs11Token): Promise<Pkcs11KeyRef> {
    const found = await this.find(record, token);
    if (found) return found;
    if (!record.allowGenerateKey || !record.keyLabel) throw new HsmError('key-missing', `${token.name} has no key ${describe(record)}`);
    const id = record.keyId !== undefined ? Buffer.from(record.keyId, 'hex') : undefined;
    const kind = keyKindOf(record.mechanism);
    if (kind === 'rsa') return token.generateRsaKeyPair(record.keyLabel, record.keyBits ?? 2048, id);
    if (kind === 'aes') return token.generateAesKey(record.keyLabel, id);
    throw badRequest(kind === 'ec' ? 'EC key generation not available yet' : `cannot generate a key for mechanism 0x${record.mechanism.toString(16)}`);
  }
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
