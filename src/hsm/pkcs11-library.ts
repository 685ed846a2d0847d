/**
 * One loaded PKCS#11 library (the vendor's .so) per process, shared by every token that names it.
 *
 * Cryptoki's state is process-global: C_Initialize/C_Finalize act on the library, not on a caller,
 * and so does the login state (per application and token, not per session: a second C_Login
 * answers CKR_USER_ALREADY_LOGGED_IN without checking the PIN, C_Logout on one session logs out
 * all of them, closing the last session of a token logs out).
 *
 * Invariants:
 * - one Pkcs11Library per real path (symlinks resolved: dlopen gives one copy of the code per
 *   file, so two paths to one file are one Cryptoki); `acquire` counts references and the last
 *   `release` finalises and unloads it;
 * - C_Initialize is called once per load (and once per `reinitialize`); CKR_CRYPTOKI_ALREADY_INITIALIZED
 *   means something else in the process initialised it, and then this object never finalises it
 *   on release (only `reinitialize`, which the caller asks for explicitly, does);
 * - `generation` increases on every (re)initialisation: a session or object handle obtained under
 *   another generation is stale and must not be used (handles are small integers the library
 *   reuses, so a stale one may name another caller's session or object);
 * - the login registry knows, per slot, how many of our sessions are open and a keyed digest of
 *   the PIN they logged in with, so a second login that the token answers with
 *   CKR_USER_ALREADY_LOGGED_IN is accepted only with the same PIN. The digest's key is random per
 *   process and never leaves it; the PIN itself is not kept here.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { ckrName, fromPkcs11Error, HsmError, oneLine } from './hsm-error';
import { pkcs11Binding, type Pkcs11Binding, type Pkcs11Module } from './pkcs11-binding';

const libraries = new Map<string, Pkcs11Library>();
const PIN_DIGEST_KEY = randomBytes(32);

function pinDigest(pin: string): Buffer {
  return createHmac('sha256', PIN_DIGEST_KEY).update(pin, 'utf8').digest();
}

interface SlotLogin {
  sessions: number;
  pin?: Buffer;
}

export class Pkcs11Library {
  private refs = 0;
  private initialized = false;
  private ownsInitialization = false;
  private gen = 0;
  private readonly logins = new Map<bigint, SlotLogin>();

  private constructor(
    /** The path as configured, for messages. */
    readonly path: string,
    private readonly key: string,
    readonly binding: Pkcs11Binding,
    readonly module: Pkcs11Module,
  ) {}

  /**
   * The library at `path`, loaded and initialised on first use; each call must be paired with one
   * `release()`. HsmError 'binding-missing' without pkcs11js, 'library' when it cannot be loaded or
   * initialised.
   */
  static acquire(path: string): Pkcs11Library {
    const binding = pkcs11Binding();
    const key = existsSync(path) ? realpathSync(path) : resolve(path);
    let lib = libraries.get(key);
    if (!lib) {
      const module = new binding.PKCS11();
      try {
        module.load(path);
      } catch (err) {
        const reason = err instanceof Error ? oneLine(err.message) : String(err);
        throw new HsmError('library', `cannot load the PKCS#11 library ${path}: ${reason}`, ckrName(err), { cause: err });
      }
      lib = new Pkcs11Library(path, key, binding, module);
      try {
        lib.initialize();
      } catch (err) {
        lib.unload();
        throw err;
      }
      libraries.set(key, lib);
    }
    lib.refs++;
    return lib;
  }

  /** Increases on every (re)initialisation; handles from an older generation are stale. */
  get generation(): number {
    return this.gen;
  }

  /** Drops one reference; the last one finalises (if we initialised it) and unloads the library. */
  release(): void {
    if (this.refs === 0) return;
    if (--this.refs > 0) return;
    libraries.delete(this.key);
    if (this.initialized && this.ownsInitialization) {
      try {
        this.module.C_Finalize();
      } catch {
        // Finalising a library whose device is gone may fail; it is unloaded either way.
      }
    }
    this.initialized = false;
    this.logins.clear();
    this.unload();
  }

  /**
   * C_Finalize + C_Initialize: the way to recover after the token went away and came back, and to
   * see tokens created since the last C_Initialize. Every session and object handle of this
   * library (of every caller) becomes stale: callers compare `generation` and reopen.
   */
  reinitialize(): void {
    if (this.initialized) {
      try {
        this.module.C_Finalize();
      } catch {
        // A library that lost its device may refuse C_Finalize; initialising again is what matters.
      }
    }
    this.initialized = false;
    this.logins.clear();
    this.initialize();
  }

  /** Throws 'library' unless initialised (a failed `reinitialize` leaves it uninitialised until the next one). */
  assertInitialized(): void {
    if (!this.initialized) throw new HsmError('library', `the PKCS#11 library ${this.path} is not initialised (a reinitialisation failed): reopen`);
  }

  /** Bookkeeping for the login registry: a session was opened on `slot`. */
  sessionOpened(slot: bigint): void {
    const login = this.logins.get(slot) ?? { sessions: 0 };
    login.sessions++;
    this.logins.set(slot, login);
  }

  /** A session on `slot` was closed (or found gone); after the last one the token is logged out. */
  sessionClosed(slot: bigint): void {
    const login = this.logins.get(slot);
    if (!login) return;
    if (--login.sessions <= 0) this.logins.delete(slot);
  }

  /**
   * C_Login as CKU_USER on `session`. CKR_USER_ALREADY_LOGGED_IN is success when the registry's
   * PIN for the slot is this one (or unknown: logged in by something outside this layer), else
   * 'pin-incorrect'. `what` names the token for messages.
   */
  login(slot: bigint, session: Buffer, pin: string, what: string): void {
    const login = this.logins.get(slot);
    try {
      this.module.C_Login(session, this.binding.CKU_USER, pin);
    } catch (err) {
      if (ckrName(err) !== 'CKR_USER_ALREADY_LOGGED_IN') throw fromPkcs11Error(err, what);
      if (login?.pin && !timingSafeEqual(login.pin, pinDigest(pin)))
        throw new HsmError(
          'pin-incorrect',
          `${what} failed: the token is already logged in by this process with another PIN (CKR_USER_ALREADY_LOGGED_IN)`,
          'CKR_USER_ALREADY_LOGGED_IN',
        );
      return;
    }
    if (login) login.pin = pinDigest(pin);
  }

  private initialize(): void {
    try {
      // OS locking: pkcs11js's asynchronous calls run on libuv's threads. A library that cannot use
      // the OS's locks (CKR_CANT_LOCK) is initialised without, for this layer's synchronous calls.
      try {
        this.module.C_Initialize({ flags: this.binding.CKF_OS_LOCKING_OK });
      } catch (err) {
        if (ckrName(err) !== 'CKR_CANT_LOCK') throw err;
        this.module.C_Initialize();
      }
      this.ownsInitialization = true;
    } catch (err) {
      if (ckrName(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
        const failure = fromPkcs11Error(err, `initialising the PKCS#11 library ${this.path}`);
        throw new HsmError('library', failure.message, failure.code, { cause: err });
      }
      this.ownsInitialization = false;
    }
    this.initialized = true;
    this.gen++;
  }

  private unload(): void {
    try {
      this.module.close();
    } catch {
      // Unloading is best effort: the process keeps the code mapped at worst.
    }
  }
}
