/**
 * The session plumbing of Pkcs11Token: one read-write session logged in as CKU_USER, an operation
 * lock, key resolution and error mapping. Pkcs11Token (pkcs11-token.ts) adds the operations.
 *
 * Invariants:
 * - every public operation of a token runs under `exclusive`: its PKCS#11 calls, synchronous or
 *   asynchronous (C_Sign on a worker thread), never interleave with another operation's on the one
 *   session (a C_*Init … C_* pair or a C_FindObjects* sequence is never split), and operations run
 *   in the order they were called; a failed operation does not block the next;
 * - a session is used only under the library generation it was opened in: when another token of
 *   the same library reinitialised it, the next call opens and logs in a new session (never
 *   reinitialising by itself: that is `reopen()`, which the caller decides on);
 * - key handles are cached per session epoch and otherwise found again by class, label and CKA_ID;
 *   an operation that meets an invalid handle resolves the key once more before failing;
 * - this object never calls C_Logout (it would log out every session of the process on the token);
 *   closing its session is enough, the token logs out when the process's last session closes;
 * - the PIN lives only in a private field and is passed to C_Login; it is never part of a message;
 * - every failure is an HsmError; an operation that finds the session or token gone drops the
 *   session, and the object stays usable: `reopen()` (or, for a session-only loss, the next call).
 */
import { randomBytes } from 'node:crypto';
import { fromPkcs11Error, HsmError, type Pkcs11ErrorContext } from './hsm-error';
import { type Attribute, type Handle, type Pkcs11Binding, type Pkcs11Module } from './pkcs11-binding';
import { GENERATED_ID_BYTES, keyName, keyTemplate, type Pkcs11KeyQuery, type Pkcs11KeyRef, type ResolvedKey } from './pkcs11-keys';
import { Pkcs11Library } from './pkcs11-library';
import { findSlot, type FoundSlot } from './pkcs11-slots';

export interface Pkcs11TokenOptions {
  /** Path of the PKCS#11 library (the vendor's .so). */
  lib: string;
  /** The slot id (unsigned 64-bit); exactly one of slot and tokenLabel. */
  slot?: bigint;
  /** The token label (compared without CK_TOKEN_INFO's space padding); exactly one of slot and tokenLabel. */
  tokenLabel?: string;
  /** The user PIN. */
  pin: string;
}

export type HsmHealth = { ok: true } | { ok: false; error: HsmError };

export interface Session extends FoundSlot {
  handle: Handle;
  /** The library generation the session was opened under. */
  generation: number;
}

/** What a reference's class is called in messages, and what an operation needing that class asks for. */
const CLASS_NAMES: Record<Pkcs11KeyRef['class'], { is: string; needs: string; missing: string }> = {
  secret: { is: 'a secret key', needs: 'an AES key', missing: 'secret' },
  rsa: { is: 'an RSA key', needs: 'an RSA key', missing: 'RSA private' },
  ec: { is: 'an EC key', needs: 'an EC key', missing: 'EC private' },
};

export abstract class Pkcs11TokenBase {
  readonly #pin: string;
  /** The options without the PIN (kept apart so that no inspection or serialisation shows it). */
  protected readonly options: Omit<Pkcs11TokenOptions, 'pin'>;
  protected lib?: Pkcs11Library;
  protected opened = false;
  private current?: Session;
  private epoch = 0;
  private readonly resolved = new WeakMap<Pkcs11KeyRef, ResolvedKey>();
  /** Settles when the last operation queued by `exclusive` has. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: Pkcs11TokenOptions) {
    const { lib, slot, tokenLabel, pin } = options;
    if ((slot === undefined) === (tokenLabel === undefined)) throw new TypeError('Pkcs11Token: give exactly one of slot and tokenLabel');
    if (slot !== undefined && (slot < 0n || slot >= 1n << 64n)) throw new TypeError('Pkcs11Token: slot is not an unsigned 64-bit id');
    this.options = { lib, slot, tokenLabel };
    this.#pin = pin;
  }

  /** `token 'label' (slot N) of /lib.so`, for messages (the slot once found). */
  get name(): string {
    const { lib, slot, tokenLabel } = this.options;
    const found = this.current;
    if (tokenLabel !== undefined) return `token '${tokenLabel}'${found ? ` (slot ${found.slotId})` : ''} of ${lib}`;
    return `token ${found ? `'${found.label}' ` : ''}in slot ${slot} of ${lib}`;
  }

  /** Runs `fn` once every operation queued before it has settled (see the invariants). */
  protected exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(() => fn());
    this.queue = run.catch(() => undefined);
    return run;
  }

  protected get p(): Pkcs11Binding {
    return this.library().binding;
  }

  protected get m(): Pkcs11Module {
    return this.library().module;
  }

  protected library(): Pkcs11Library {
    if (!this.lib || !this.opened) throw new HsmError('not-logged-in', `${this.name} is not open`);
    return this.lib;
  }

  /** The current session, opened and logged in when there is none or it is from another library generation. */
  protected session(): Session {
    const lib = this.library();
    const s = this.current;
    if (s && s.generation === lib.generation) return s;
    this.dropSession();
    lib.assertInitialized();
    const slot = findSlot(lib, this.options);
    const what = `opening a session on ${describeSlot(this.options, slot)}`;
    const handle = this.call(what, () => lib.module.C_OpenSession(slot.slot, lib.binding.CKF_SERIAL_SESSION | lib.binding.CKF_RW_SESSION));
    lib.sessionOpened(slot.slotId);
    try {
      lib.login(slot.slotId, handle, this.#pin, `login to ${describeSlot(this.options, slot)}`);
    } catch (err) {
      closeQuietly(lib.module, handle);
      lib.sessionClosed(slot.slotId);
      throw err;
    }
    this.current = { ...slot, handle, generation: lib.generation };
    this.epoch++;
    return this.current;
  }

  /**
   * Forgets the session, closing it unless it is from an older library generation (its handle may
   * name another's session by now). Always closed otherwise, even when it seems gone: a session left
   * open would keep the token logged in while the login registry counts it closed.
   */
  protected dropSession(): void {
    const s = this.current;
    this.current = undefined;
    if (!s || !this.lib || s.generation !== this.lib.generation) return;
    closeQuietly(this.lib.module, s.handle);
    this.lib.sessionClosed(s.slotId);
  }

  protected release(): void {
    this.dropSession();
    this.opened = false;
    const lib = this.lib;
    this.lib = undefined;
    lib?.release();
  }

  /** `fn()`, its failure as an HsmError; a lost session or token drops the session. */
  protected call<T>(what: string, fn: () => T, context?: Pkcs11ErrorContext): T {
    try {
      return fn();
    } catch (err) {
      throw this.failure(err, what, context);
    }
  }

  /** `err` as an HsmError; a lost session or token drops the session. */
  protected failure(err: unknown, what: string, context?: Pkcs11ErrorContext): HsmError {
    const e = fromPkcs11Error(err, what, context);
    if (e.kind === 'token-absent' || e.kind === 'not-logged-in') this.dropSession();
    return e;
  }

  /**
   * `fn` with the key's handles. When the token fails the operation, the session is replaced: a
   * failed C_Encrypt/C_Decrypt may leave its operation active (SoftHSM does after
   * CKR_ARGUMENTS_BAD), and PKCS#11 2.40 has no way to cancel one but closing the session. An
   * invalid handle (stale after an outage) resolves the key again and retries once; if the key is
   * not found, the token is probed so that the error says whether the token or only the key is gone.
   */
  protected async withKey<T>(ref: Pkcs11KeyRef, what: string, fn: (s: Session, key: ResolvedKey) => T | Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const s = this.session();
      const key = this.resolve(s, ref);
      try {
        return await fn(s, key);
      } catch (raw) {
        const err = this.failure(raw, what);
        if (err.code === undefined) throw err;
        this.dropSession();
        if (err.kind !== 'key-missing' || attempt > 1) throw err;
        this.resolved.delete(ref);
      }
    }
  }

  /** Caches the handles of a key just found or generated, for this session epoch. */
  protected remember(ref: Pkcs11KeyRef, handle: Handle, publicHandle?: Handle): void {
    this.resolved.set(ref, publicHandle === undefined ? { epoch: this.epoch, handle } : { epoch: this.epoch, handle, publicHandle });
  }

  /** The handles of `ref` in this session epoch, looked up by class, label and id when not cached. */
  protected resolve(s: Session, ref: Pkcs11KeyRef): ResolvedKey {
    const cached = this.resolved.get(ref);
    if (cached && cached.epoch === this.epoch) return cached;
    const found = this.findObjects(s, keyTemplate(this.p, ref.class, ref), `finding ${keyName(ref)} on ${this.name}`);
    if (found.length > 1) throw new HsmError('key-ambiguous', `${found.length} keys on ${this.name} match ${keyName(ref)}`);
    if (found.length === 0) {
      this.checkTokenReadable(s);
      throw new HsmError('key-missing', `${this.name} has no ${CLASS_NAMES[ref.class].missing} ${keyName(ref)}`);
    }
    const key: ResolvedKey = { epoch: this.epoch, handle: found[0] };
    this.resolved.set(ref, key);
    return key;
  }

  /** The public key of an RSA or EC `ref`: same type and CKA_ID (or same label when it has no id). */
  protected publicHandle(s: Session, ref: Pkcs11KeyRef, key: ResolvedKey): Handle {
    const type = ref.class === 'ec' ? 'EC' : 'RSA';
    if (key.publicHandle === undefined) {
      const query = ref.id.length > 0 ? { id: ref.id } : { label: ref.label };
      const cls = ref.class === 'ec' ? 'ec-public' : 'rsa-public';
      const found = this.findObjects(s, keyTemplate(this.p, cls, query), `finding the public key of ${keyName(ref)} on ${this.name}`);
      if (found.length > 1) throw new HsmError('key-ambiguous', `${found.length} ${type} public keys on ${this.name} match ${keyName(query)}`);
      key.publicHandle = found[0] ?? null;
    }
    if (key.publicHandle === null) throw new HsmError('key-missing', `${this.name} has no ${type} public key for ${keyName(ref)}`);
    return key.publicHandle;
  }

  /** Throws 'token-absent' when the token does not answer C_GetTokenInfo (SoftHSM: CKR_GENERAL_ERROR once its files are gone). */
  protected checkTokenReadable(s: Session): void {
    this.call(`reading the token information of ${this.name}`, () => this.m.C_GetTokenInfo(s.slot), {
      kinds: { CKR_GENERAL_ERROR: 'token-absent' },
      hints: { CKR_GENERAL_ERROR: 'the token does not answer' },
    });
  }

  /** Secret keys and RSA and EC private keys matching `query`. */
  protected findKeys(s: Session, query: Pkcs11KeyQuery): { cls: Pkcs11KeyRef['class']; handle: Handle }[] {
    const what = `finding ${keyName(query)} on ${this.name}`;
    return (['secret', 'rsa', 'ec'] as const).flatMap((cls) => this.findObjects(s, keyTemplate(this.p, cls, query), what).map((handle) => ({ cls, handle })));
  }

  /** Up to 16 objects matching `template` (more than one is already ambiguous for every caller). */
  protected findObjects(s: Session, template: Attribute[], what: string): Handle[] {
    return this.call(what, () => {
      this.m.C_FindObjectsInit(s.handle, template);
      try {
        return this.m.C_FindObjects(s.handle, 16);
      } finally {
        this.m.C_FindObjectsFinal(s.handle);
      }
    });
  }

  protected attributes(s: Session, handle: Handle, types: number[], what?: string) {
    const read = () =>
      this.m.C_GetAttributeValue(
        s.handle,
        handle,
        types.map((type) => ({ type })),
      );
    return what ? this.call(what, read) : read();
  }

  /** The id for a new key, refusing a label or id that a key already has (it would make lookups ambiguous). */
  protected newKeyId(s: Session, label: string, id?: Buffer): Buffer {
    if (!label) throw new TypeError('a generated key needs a label');
    const keyId = id && id.length > 0 ? Buffer.from(id) : randomBytes(GENERATED_ID_BYTES);
    for (const query of [{ label }, { id: keyId }]) {
      if (this.findKeys(s, query).length > 0)
        throw new HsmError('key-ambiguous', `${this.name} already holds a ${keyName(query)}: another would make it ambiguous`);
    }
    return keyId;
  }

  /** Throws 'mechanism' unless `ref` is of one of `classes`. */
  protected requireClass(ref: Pkcs11KeyRef, classes: Pkcs11KeyRef['class'] | Pkcs11KeyRef['class'][], what: string): void {
    const allowed = Array.isArray(classes) ? classes : [classes];
    if (!allowed.includes(ref.class))
      throw new HsmError(
        'mechanism',
        `${keyName(ref)} is ${CLASS_NAMES[ref.class].is}: ${what} needs ${allowed.map((c) => CLASS_NAMES[c].needs).join(' or ')}`,
      );
  }
}

function describeSlot(options: Omit<Pkcs11TokenOptions, 'pin'>, slot: FoundSlot): string {
  return `token '${slot.label}' (slot ${slot.slotId}) of ${options.lib}`;
}

function closeQuietly(module: Pkcs11Module, session: Handle): void {
  try {
    module.C_CloseSession(session);
  } catch {
    // A session whose token went away may already be gone.
  }
}
