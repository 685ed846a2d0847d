/**
 * One PKCS#11 token, logged in as CKU_USER through one read-write session: find and generate keys,
 * AES-GCM and RSA-OAEP on the token. Knows nothing of its callers (the seal, PKI, transit).
 *
 * Invariants:
 * - every method runs its PKCS#11 calls synchronously, with no await in between, so the one
 *   session is never used by two operations at once (a C_*Init … C_* pair or a C_FindObjects*
 *   sequence is never interleaved); methods return Promises so that callers need not change if
 *   calls become asynchronous;
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
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { fromPkcs11Error, HsmError, type Pkcs11ErrorContext } from './hsm-error';
import { CKS_RO_USER_FUNCTIONS, CKS_RW_USER_FUNCTIONS, type Attribute, type Handle, type Pkcs11Binding, type Pkcs11Module } from './pkcs11-binding';
import {
  aesKeyTemplate,
  attributeBool,
  attributeUlong,
  gcmMechanism,
  GCM_IV_BYTES,
  GCM_TAG_BYTES,
  GENERATED_ID_BYTES,
  keyName,
  keyTemplate,
  keyTypeName,
  OAEP_HASHES,
  oaepMechanism,
  RSA_MAX_BYTES,
  rsaKeyPairTemplates,
  type OaepHash,
  type Pkcs11KeyInfo,
  type Pkcs11KeyQuery,
  type Pkcs11KeyRef,
  type ResolvedKey,
} from './pkcs11-keys';
import { Pkcs11Library } from './pkcs11-library';
import { findSlot, type FoundSlot } from './pkcs11-slots';

export type { OaepHash, Pkcs11KeyInfo, Pkcs11KeyQuery, Pkcs11KeyRef } from './pkcs11-keys';

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

interface Session extends FoundSlot {
  handle: Handle;
  /** The library generation the session was opened under. */
  generation: number;
}

/** A GCM or OAEP decryption whose input does not decrypt: the token's answer varies (SoftHSM: CKR_GENERAL_ERROR). */
const NOT_AUTHENTIC = ['CKR_GENERAL_ERROR', 'CKR_ENCRYPTED_DATA_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE'];

export class Pkcs11Token {
  readonly #pin: string;
  /** The options without the PIN (kept apart so that no inspection or serialisation shows it). */
  private readonly options: Omit<Pkcs11TokenOptions, 'pin'>;
  private lib?: Pkcs11Library;
  private opened = false;
  private current?: Session;
  private epoch = 0;
  private readonly resolved = new WeakMap<Pkcs11KeyRef, ResolvedKey>();

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

  /** Loads the library, finds the slot, opens a read-write session and logs in. Idempotent. */
  async open(): Promise<void> {
    if (!this.lib) this.lib = Pkcs11Library.acquire(this.options.lib);
    this.opened = true;
    try {
      this.session();
    } catch (err) {
      this.release();
      throw err;
    }
  }

  /** Closes the session and releases the library (finalised when no other token uses it). Idempotent. */
  async close(): Promise<void> {
    this.release();
  }

  /**
   * Closes the session, reinitialises the library (C_Finalize + C_Initialize: every session of the
   * library, of every token, becomes stale) and opens again: recovery after the token went away
   * and came back. On failure the object is closed; `reopen()` may be called again.
   */
  async reopen(): Promise<void> {
    const lib = this.lib ?? Pkcs11Library.acquire(this.options.lib);
    this.lib = lib;
    this.dropSession();
    this.opened = false;
    try {
      lib.reinitialize();
    } catch (err) {
      this.release();
      throw err;
    }
    await this.open();
  }

  /**
   * The secret key or RSA private key with this label and/or id (at least one), or undefined;
   * HsmError 'key-ambiguous' when several keys match.
   */
  async findKey(query: Pkcs11KeyQuery): Promise<Pkcs11KeyRef | undefined> {
    if (!query.label && !(query.id && query.id.length > 0)) throw new TypeError('findKey: give a label or an id');
    const s = this.session();
    const found = this.findKeys(s, query);
    if (found.length === 0) return undefined;
    if (found.length > 1) throw new HsmError('key-ambiguous', `${found.length} keys on ${this.name} match ${keyName(query)}: give both label and id`);
    const [{ cls, handle }] = found;
    const [label, id] = this.attributes(s, handle, [this.p.CKA_LABEL, this.p.CKA_ID], `reading ${keyName(query)} on ${this.name}`);
    const ref: Pkcs11KeyRef = { class: cls, label: label.value.toString('utf8'), id: Buffer.from(id.value) };
    this.resolved.set(ref, { epoch: this.epoch, handle });
    return ref;
  }

  /** Generates a 256-bit AES key on the token (sensitive, not extractable); 'key-ambiguous' if the label or id is taken. */
  async generateAesKey(label: string, id?: Buffer): Promise<Pkcs11KeyRef> {
    const s = this.session();
    const keyId = this.newKeyId(s, label, id);
    const what = `generating AES ${keyName({ label, id: keyId })} on ${this.name}`;
    const handle = this.call(what, () => this.m.C_GenerateKey(s.handle, { mechanism: this.p.CKM_AES_KEY_GEN }, aesKeyTemplate(this.p, label, keyId)));
    const ref: Pkcs11KeyRef = { class: 'secret', label, id: keyId };
    this.resolved.set(ref, { epoch: this.epoch, handle });
    return ref;
  }

  /** Generates an RSA key pair (exponent 65537) on the token, the private key sensitive and not extractable. */
  async generateRsaKeyPair(label: string, bits: number, id?: Buffer): Promise<Pkcs11KeyRef> {
    if (!Number.isInteger(bits) || bits < 1024 || bits > RSA_MAX_BYTES * 8)
      throw new TypeError(`generateRsaKeyPair: ${bits} is not a supported modulus length`);
    const s = this.session();
    const keyId = this.newKeyId(s, label, id);
    const what = `generating RSA-${bits} ${keyName({ label, id: keyId })} on ${this.name}`;
    const t = rsaKeyPairTemplates(this.p, label, bits, keyId);
    const pair = this.call(what, () => this.m.C_GenerateKeyPair(s.handle, { mechanism: this.p.CKM_RSA_PKCS_KEY_PAIR_GEN }, t.publicKey, t.privateKey));
    const ref: Pkcs11KeyRef = { class: 'rsa', label, id: keyId };
    this.resolved.set(ref, { epoch: this.epoch, handle: pair.privateKey, publicHandle: pair.publicKey });
    return ref;
  }

  /** Label, id, type, length and the protection attributes of a key (of the private key for RSA). */
  async keyInfo(ref: Pkcs11KeyRef): Promise<Pkcs11KeyInfo> {
    const p = this.p;
    return this.withKey(ref, `reading the attributes of ${keyName(ref)} on ${this.name}`, (s, key) => {
      const [label, id, type, sensitive, extractable] = this.attributes(s, key.handle, [
        p.CKA_LABEL,
        p.CKA_ID,
        p.CKA_KEY_TYPE,
        p.CKA_SENSITIVE,
        p.CKA_EXTRACTABLE,
      ]);
      const info: Pkcs11KeyInfo = {
        label: label.value.toString('utf8'),
        id: Buffer.from(id.value),
        keyType: keyTypeName(p, attributeUlong(type)),
        sensitive: attributeBool(sensitive),
        extractable: attributeBool(extractable),
      };
      try {
        // Public attributes even of a sensitive key; a token may still not report them.
        if (ref.class === 'secret') info.bits = attributeUlong(this.attributes(s, key.handle, [p.CKA_VALUE_LEN])[0]) * 8;
        else info.bits = this.attributes(s, key.handle, [p.CKA_MODULUS])[0].value.length * 8;
      } catch {
        info.bits = undefined;
      }
      return info;
    });
  }

  /** The public key of an RSA reference, for software encryption and verification. */
  async rsaPublicKey(ref: Pkcs11KeyRef): Promise<KeyObject> {
    this.requireClass(ref, 'rsa', 'an RSA public key');
    return this.withKey(ref, `reading the public key of ${keyName(ref)} on ${this.name}`, (s, key) => {
      const [n, e] = this.attributes(s, this.publicHandle(s, ref, key), [this.p.CKA_MODULUS, this.p.CKA_PUBLIC_EXPONENT]);
      return createPublicKey({ key: { kty: 'RSA', n: n.value.toString('base64url'), e: e.value.toString('base64url') }, format: 'jwk' });
    });
  }

  /** AES-GCM on the token: `iv (12) ‖ ciphertext ‖ tag (16)`, the IV from the token's C_GenerateRandom; the plaintext must not be empty. */
  async encryptAesGcm(ref: Pkcs11KeyRef, plaintext: Buffer, aad?: Buffer): Promise<Buffer> {
    this.requireClass(ref, 'secret', 'AES-GCM');
    const what = `AES-GCM encryption with ${keyName(ref)} on ${this.name}`;
    // pkcs11js passes an empty Buffer as a NULL pointer, which tokens refuse (SoftHSM: CKR_ARGUMENTS_BAD).
    if (plaintext.length === 0) throw new HsmError('operation', `${what} failed: the plaintext is empty`);
    return this.withKey(ref, what, (s, key) => {
      // A random 96-bit IV per encryption (NIST SP 800-38D: at most 2^32 encryptions per key; seal operations are rare).
      const iv = Buffer.from(this.m.C_GenerateRandom(s.handle, Buffer.alloc(GCM_IV_BYTES)));
      this.m.C_EncryptInit(s.handle, gcmMechanism(this.p, iv, aad), key.handle);
      const sealed = this.m.C_Encrypt(s.handle, plaintext, Buffer.alloc(plaintext.length + GCM_TAG_BYTES));
      if (sealed.length !== plaintext.length + GCM_TAG_BYTES)
        throw new HsmError('operation', `AES-GCM encryption on ${this.name} returned ${sealed.length} bytes, not ciphertext and tag`);
      return Buffer.concat([iv, sealed]);
    });
  }

  /** Opens what encryptAesGcm sealed; HsmError 'operation' when it does not authenticate (wrong key, AAD or bytes). */
  async decryptAesGcm(ref: Pkcs11KeyRef, blob: Buffer, aad?: Buffer): Promise<Buffer> {
    this.requireClass(ref, 'secret', 'AES-GCM');
    const what = `AES-GCM decryption with ${keyName(ref)} on ${this.name}`;
    if (blob.length < GCM_IV_BYTES + GCM_TAG_BYTES)
      throw new HsmError('operation', `${what} failed: the ciphertext is ${blob.length} bytes, shorter than IV and tag`);
    const iv = blob.subarray(0, GCM_IV_BYTES);
    const sealed = blob.subarray(GCM_IV_BYTES);
    return this.withKey(ref, what, (s, key) => {
      this.m.C_DecryptInit(s.handle, gcmMechanism(this.p, iv, aad), key.handle);
      // The output buffer has the input's length: some tokens want room for the tag too.
      return Buffer.from(
        this.call(what, () => this.m.C_Decrypt(s.handle, sealed, Buffer.alloc(sealed.length)), notAuthentic('the ciphertext did not authenticate')),
      );
    });
  }

  /** RSA-OAEP encryption on the token with the public key, MGF1 with the same hash. */
  async encryptRsaOaep(ref: Pkcs11KeyRef, plaintext: Buffer, hash: OaepHash): Promise<Buffer> {
    this.requireClass(ref, 'rsa', 'RSA-OAEP');
    const what = `RSA-OAEP-${hash} encryption with ${keyName(ref)} on ${this.name}`;
    return this.withKey(ref, what, (s, key) => {
      const pub = this.publicHandle(s, ref, key);
      this.call(what, () => this.m.C_EncryptInit(s.handle, oaepMechanism(this.p, checkedHash(hash)), pub), unsupportedOaep(hash));
      return Buffer.from(this.m.C_Encrypt(s.handle, plaintext, Buffer.alloc(RSA_MAX_BYTES)));
    });
  }

  /** RSA-OAEP decryption on the token with the private key. */
  async decryptRsaOaep(ref: Pkcs11KeyRef, ciphertext: Buffer, hash: OaepHash): Promise<Buffer> {
    this.requireClass(ref, 'rsa', 'RSA-OAEP');
    const what = `RSA-OAEP-${hash} decryption with ${keyName(ref)} on ${this.name}`;
    return this.withKey(ref, what, (s, key) => {
      this.call(what, () => this.m.C_DecryptInit(s.handle, oaepMechanism(this.p, checkedHash(hash)), key.handle), unsupportedOaep(hash));
      return Buffer.from(
        this.call(what, () => this.m.C_Decrypt(s.handle, ciphertext, Buffer.alloc(RSA_MAX_BYTES)), notAuthentic('the ciphertext does not decrypt')),
      );
    });
  }

  /**
   * Whether the token answers: the session is logged in, the token readable, its RNG works, and
   * (with `key`) the key is still there. Cheap; never throws. After an outage it stays not ok until
   * the library is reinitialised (`reopen()`): SoftHSM, for one, sees neither the token nor its keys
   * again before that.
   */
  async health(key?: Pkcs11KeyRef): Promise<HsmHealth> {
    try {
      const s = this.session();
      const state = this.call(`checking the session on ${this.name}`, () => this.m.C_GetSessionInfo(s.handle).state);
      if (state !== CKS_RW_USER_FUNCTIONS && state !== CKS_RO_USER_FUNCTIONS)
        throw new HsmError('not-logged-in', `the session on ${this.name} is not logged in (state ${state})`);
      this.checkTokenReadable(s);
      this.call(`drawing random bytes on ${this.name}`, () => this.m.C_GenerateRandom(s.handle, Buffer.alloc(1)));
      if (key) this.withKey(key, `checking ${keyName(key)} on ${this.name}`, (s2, k) => this.attributes(s2, k.handle, [this.p.CKA_CLASS]));
      return { ok: true };
    } catch (err) {
      return { ok: false, error: fromPkcs11Error(err, `health check of ${this.name}`) };
    }
  }

  private get p(): Pkcs11Binding {
    return this.library().binding;
  }

  private get m(): Pkcs11Module {
    return this.library().module;
  }

  private library(): Pkcs11Library {
    if (!this.lib || !this.opened) throw new HsmError('not-logged-in', `${this.name} is not open`);
    return this.lib;
  }

  /** The current session, opened and logged in when there is none or it is from another library generation. */
  private session(): Session {
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
  private dropSession(): void {
    const s = this.current;
    this.current = undefined;
    if (!s || !this.lib || s.generation !== this.lib.generation) return;
    closeQuietly(this.lib.module, s.handle);
    this.lib.sessionClosed(s.slotId);
  }

  private release(): void {
    this.dropSession();
    this.opened = false;
    const lib = this.lib;
    this.lib = undefined;
    lib?.release();
  }

  /** `fn()`, its failure as an HsmError; a lost session or token drops the session. */
  private call<T>(what: string, fn: () => T, context?: Pkcs11ErrorContext): T {
    try {
      return fn();
    } catch (err) {
      const e = fromPkcs11Error(err, what, context);
      if (e.kind === 'token-absent' || e.kind === 'not-logged-in') this.dropSession();
      throw e;
    }
  }

  /**
   * `fn` with the key's handles. When the token fails the operation, the session is replaced: a
   * failed C_Encrypt/C_Decrypt may leave its operation active (SoftHSM does after
   * CKR_ARGUMENTS_BAD), and PKCS#11 2.40 has no way to cancel one but closing the session. An
   * invalid handle (stale after an outage) resolves the key again and retries once; if the key is
   * not found, the token is probed so that the error says whether the token or only the key is gone.
   */
  private withKey<T>(ref: Pkcs11KeyRef, what: string, fn: (s: Session, key: ResolvedKey) => T): T {
    for (let attempt = 1; ; attempt++) {
      const s = this.session();
      const key = this.resolve(s, ref);
      try {
        return this.call(what, () => fn(s, key));
      } catch (err) {
        if (!(err instanceof HsmError) || err.code === undefined) throw err;
        this.dropSession();
        if (err.kind !== 'key-missing' || attempt > 1) throw err;
        this.resolved.delete(ref);
      }
    }
  }

  /** The handles of `ref` in this session epoch, looked up by class, label and id when not cached. */
  private resolve(s: Session, ref: Pkcs11KeyRef): ResolvedKey {
    const cached = this.resolved.get(ref);
    if (cached && cached.epoch === this.epoch) return cached;
    const found = this.findObjects(s, keyTemplate(this.p, ref.class, ref), `finding ${keyName(ref)} on ${this.name}`);
    if (found.length > 1) throw new HsmError('key-ambiguous', `${found.length} keys on ${this.name} match ${keyName(ref)}`);
    if (found.length === 0) {
      this.checkTokenReadable(s);
      throw new HsmError('key-missing', `${this.name} has no ${ref.class === 'rsa' ? 'RSA private' : 'secret'} ${keyName(ref)}`);
    }
    const key: ResolvedKey = { epoch: this.epoch, handle: found[0] };
    this.resolved.set(ref, key);
    return key;
  }

  /** The RSA public key of `ref`: same CKA_ID (or same label when it has no id). */
  private publicHandle(s: Session, ref: Pkcs11KeyRef, key: ResolvedKey): Handle {
    if (key.publicHandle === undefined) {
      const query = ref.id.length > 0 ? { id: ref.id } : { label: ref.label };
      const found = this.findObjects(s, keyTemplate(this.p, 'rsa-public', query), `finding the public key of ${keyName(ref)} on ${this.name}`);
      if (found.length > 1) throw new HsmError('key-ambiguous', `${found.length} RSA public keys on ${this.name} match ${keyName(query)}`);
      key.publicHandle = found[0] ?? null;
    }
    if (key.publicHandle === null) throw new HsmError('key-missing', `${this.name} has no RSA public key for ${keyName(ref)}`);
    return key.publicHandle;
  }

  /** Throws 'token-absent' when the token does not answer C_GetTokenInfo (SoftHSM: CKR_GENERAL_ERROR once its files are gone). */
  private checkTokenReadable(s: Session): void {
    this.call(`reading the token information of ${this.name}`, () => this.m.C_GetTokenInfo(s.slot), {
      kinds: { CKR_GENERAL_ERROR: 'token-absent' },
      hints: { CKR_GENERAL_ERROR: 'the token does not answer' },
    });
  }

  /** Secret keys and RSA private keys matching `query`. */
  private findKeys(s: Session, query: Pkcs11KeyQuery): { cls: 'secret' | 'rsa'; handle: Handle }[] {
    const what = `finding ${keyName(query)} on ${this.name}`;
    return (['secret', 'rsa'] as const).flatMap((cls) => this.findObjects(s, keyTemplate(this.p, cls, query), what).map((handle) => ({ cls, handle })));
  }

  /** Up to 16 objects matching `template` (more than one is already ambiguous for every caller). */
  private findObjects(s: Session, template: Attribute[], what: string): Handle[] {
    return this.call(what, () => {
      this.m.C_FindObjectsInit(s.handle, template);
      try {
        return this.m.C_FindObjects(s.handle, 16);
      } finally {
        this.m.C_FindObjectsFinal(s.handle);
      }
    });
  }

  private attributes(s: Session, handle: Handle, types: number[], what?: string) {
    const read = () =>
      this.m.C_GetAttributeValue(
        s.handle,
        handle,
        types.map((type) => ({ type })),
      );
    return what ? this.call(what, read) : read();
  }

  /** The id for a new key, refusing a label or id that a key already has (it would make lookups ambiguous). */
  private newKeyId(s: Session, label: string, id?: Buffer): Buffer {
    if (!label) throw new TypeError('a generated key needs a label');
    const keyId = id && id.length > 0 ? Buffer.from(id) : randomBytes(GENERATED_ID_BYTES);
    for (const query of [{ label }, { id: keyId }]) {
      if (this.findKeys(s, query).length > 0)
        throw new HsmError('key-ambiguous', `${this.name} already holds a ${keyName(query)}: another would make it ambiguous`);
    }
    return keyId;
  }

  private requireClass(ref: Pkcs11KeyRef, cls: Pkcs11KeyRef['class'], what: string): void {
    if (ref.class !== cls)
      throw new HsmError(
        'mechanism',
        `${keyName(ref)} is ${ref.class === 'rsa' ? 'an RSA key' : 'a secret key'}: ${what} needs ${cls === 'rsa' ? 'an RSA key' : 'an AES key'}`,
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

function checkedHash(hash: OaepHash): OaepHash {
  if (!OAEP_HASHES.includes(hash)) throw new HsmError('mechanism', `RSA-OAEP with ${String(hash)} is not supported (one of ${OAEP_HASHES.join(', ')})`);
  return hash;
}

function notAuthentic(hint: string): Pkcs11ErrorContext {
  return { kinds: Object.fromEntries(NOT_AUTHENTIC.map((c) => [c, 'operation'])), hints: Object.fromEntries(NOT_AUTHENTIC.map((c) => [c, hint])) };
}

/** SoftHSM 2.6.1 answers CKR_ARGUMENTS_BAD for OAEP with any hash but SHA-1 (SoftHSMv2 #474). */
function unsupportedOaep(hash: OaepHash): Pkcs11ErrorContext {
  const hint = `the token does not support RSA-OAEP with ${hash} and MGF1-${hash}`;
  const codes = ['CKR_ARGUMENTS_BAD', 'CKR_MECHANISM_INVALID', 'CKR_MECHANISM_PARAM_INVALID'];
  return { kinds: Object.fromEntries(codes.map((c) => [c, 'mechanism'])), hints: Object.fromEntries(codes.map((c) => [c, hint])) };
}
