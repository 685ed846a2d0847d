/**
 * The barrier: encrypts and decrypts every secret value with the active keyring term, binding each
 * ciphertext to its location. See README.md for the invariants.
 */
import { aeadDecrypt, aeadEncrypt, aeadTerm, IntegrityError } from '../../crypto/aead';
import { zero } from '../../crypto/hmac';
import { randomKey } from '../../crypto/random';
import { AsyncMutex } from '../async-mutex';
import type { BarrierRepository } from './barrier.repository';
import { Keyring } from './keyring';
import { DEFAULT_ROTATION_CONFIG, effectiveMaxEncryptions, intervalDue, type RotationConfig } from './rotation-config';

export const KEYRING_LOCATION = 'barrier_keyring/keyring_ciphertext/1';
/** Persist the active term's counter at least this often; also the safety margin added on unseal. */
export const COUNTER_FLUSH_EVERY = 4096;
/** Hard stop: no term may ever pass 2^32 encryptions, whatever the configuration. */
const HARD_LIMIT = 2 ** 32 - 1;

export class BarrierSealedError extends Error {
  constructor() {
    super('Vault is sealed');
    this.name = 'BarrierSealedError';
  }
}

export interface KeyStatus {
  term: number;
  installTime: Date;
  encryptions: number;
}

export interface BarrierOptions {
  maxEncryptionsPerTerm: number;
  log: (message: string) => void;
}

/** What changed in the stored barrier state: other nodes reload it (`reloadKeyring`, `reloadRotationConfig`). */
export type BarrierChange = 'keyring' | 'rotation-config';

export class Barrier {
  private rootKey: Buffer | null = null;
  private keyring: Keyring | null = null;
  /** The stored keyring ciphertext this node last read or wrote: a rotation commits only over it. */
  private storedCiphertext: Buffer | null = null;
  private encryptions = 0;
  private flushedEncryptions = 0;
  private readonly rotation = new AsyncMutex();
  /** `sys/rotate/config`, loaded at unseal; the server's maxEncryptionsPerTerm stays the ceiling. */
  private rotationSettings: RotationConfig = DEFAULT_ROTATION_CONFIG;
  /** The reload on its way (single-flight: a burst of unknown terms reads the keyring row once). */
  private reloading: Promise<void> | undefined;
  /** Told after this node committed a change other nodes must load (the cluster bus publishes it). */
  private changed: (what: BarrierChange) => void = () => undefined;
  /** The root key as stored now (auto seal: unwrapped by the HSM), for when another node replaced it. */
  private storedRootKey: (() => Promise<Buffer>) | undefined;

  constructor(
    private readonly repository: BarrierRepository,
    private readonly options: BarrierOptions,
  ) {}

  get sealed(): boolean {
    return this.keyring === null;
  }

  /** Where this node's committed changes are announced (the cluster bus). */
  onChange(listener: (what: BarrierChange) => void): void {
    this.changed = listener;
  }

  /** How to read the stored root key again when another node replaced it (the seal service, auto seal only). */
  useStoredRootKey(source: () => Promise<Buffer>): void {
    this.storedRootKey = source;
  }

  /** A fresh keyring with term 1, encrypted under `rootKey`, for the init transaction. */
  static newKeyringCiphertext(rootKey: Buffer, installedAt: Date): Buffer {
    const keyring = new Keyring([{ term: 1, installedAt, key: randomKey() }]);
    const plain = keyring.serialize();
    try {
      return aeadEncrypt(rootKey, 0, plain, KEYRING_LOCATION);
    } finally {
      zero(plain);
      keyring.zero();
    }
  }

  /** The keyring under `oldRootKey` re-encrypted under `newRootKey` (seal migration). Throws IntegrityError when the old key does not fit. */
  static reencryptKeyring(oldRootKey: Buffer, newRootKey: Buffer, ciphertext: Buffer): Buffer {
    const plain = aeadDecrypt(oldRootKey, ciphertext, KEYRING_LOCATION);
    try {
      return aeadEncrypt(newRootKey, 0, plain, KEYRING_LOCATION);
    } finally {
      zero(plain);
    }
  }

  /** Opens the barrier with the root key. Throws IntegrityError when the key does not fit. */
  async unseal(rootKey: Buffer): Promise<void> {
    const stored = await this.repository.load();
    if (!stored) throw new Error('barrier has no keyring: not initialised');
    const keyring = Barrier.decryptKeyring(rootKey, stored.ciphertext);
    try {
      this.rotationSettings = (await this.repository.loadRotationConfig()) ?? DEFAULT_ROTATION_CONFIG;
      // Counts since the last flush may be lost in a crash: assume the worst.
      this.install(rootKey, keyring, await this.repository.encryptionsFor(keyring.active.term), COUNTER_FLUSH_EVERY);
      this.storedCiphertext = stored.ciphertext;
    } catch (err) {
      keyring.zero();
      throw err;
    }
  }

  /** Opens a brand-new keyring (init does this inside its transaction; its count is exactly 0). */
  openNew(rootKey: Buffer, keyringCiphertext: Buffer): void {
    this.install(rootKey, Barrier.decryptKeyring(rootKey, keyringCiphertext), 0, 0);
    this.storedCiphertext = keyringCiphertext;
  }

  private static decryptKeyring(rootKey: Buffer, ciphertext: Buffer): Keyring {
    const plain = aeadDecrypt(rootKey, ciphertext, KEYRING_LOCATION);
    try {
      return Keyring.deserialize(plain);
    } finally {
      zero(plain);
    }
  }

  private install(rootKey: Buffer, keyring: Keyring, countedEncryptions: number, margin: number): void {
    this.seal();
    this.rootKey = Buffer.from(rootKey);
    this.keyring = keyring;
    this.encryptions = countedEncryptions + margin;
    this.flushedEncryptions = countedEncryptions;
  }

  /** Zeroes all key material. */
  seal(): void {
    if (this.keyring && this.encryptions > this.flushedEncryptions) this.flushCounter();
    zero(this.rootKey);
    this.keyring?.zero();
    this.rootKey = null;
    this.keyring = null;
    this.storedCiphertext = null;
  }

  /** The root key, for the seal to re-wrap during rekey. Callers must not keep it. */
  currentRootKey(): Buffer {
    if (!this.rootKey) throw new BarrierSealedError();
    return this.rootKey;
  }

  /**
   * Replaces the root key (rekey under an auto seal): `persist` gets the current root key and must
   * commit the keyring re-encrypted under `newRootKey` (returning that ciphertext); only then does
   * this barrier use the new key. Runs under the rotation lock, so no keyring rotation here
   * writes a keyring under the old root key after the commit; the keyring terms stay the same.
   */
  changeRootKey(newRootKey: Buffer, persist: (currentRootKey: Buffer) => Promise<Buffer>): Promise<void> {
    return this.rotation.run(async () => {
      const rootKey = this.rootKey;
      if (!rootKey || !this.keyring) throw new BarrierSealedError();
      await persist(rootKey);
      // Sealed meanwhile: the next unseal reads the committed root key.
      if (this.rootKey !== rootKey) return;
      zero(rootKey);
      this.rootKey = Buffer.from(newRootKey);
      // Another node may have rotated before the commit: the keyring is read back from what was committed.
      this.storedCiphertext = null;
      await this.reloadNow();
      this.changed('keyring');
    });
  }

  /**
   * Loads the stored keyring when another node changed it (a rotation: new terms; a rekey under an
   * auto seal: a new root key, read again through the seal). Single-flight; a no-op when the stored
   * keyring is the one in use. Runs under the rotation lock, so it never interleaves with a rotation here.
   */
  reloadKeyring(): Promise<void> {
    this.reloading ??= this.rotation.run(() => this.reloadNow()).finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async reloadNow(): Promise<void> {
    const current = this.keyring;
    const rootKey = this.rootKey;
    if (!current || !rootKey) return;
    const stored = await this.repository.load();
    if (!stored || this.storedCiphertext?.equals(stored.ciphertext)) return;
    let keyring: Keyring;
    let newRootKey: Buffer | undefined;
    try {
      keyring = Barrier.decryptKeyring(rootKey, stored.ciphertext);
    } catch (err) {
      // Sealed meanwhile (the root key Buffer was zeroed): nothing to reload.
      if (this.keyring !== current) return;
      // The root key was replaced elsewhere (rekey under an auto seal): the seal unwraps the stored one.
      if (!(err instanceof IntegrityError) || !this.storedRootKey) throw err;
      newRootKey = await this.storedRootKey();
      keyring = Barrier.decryptKeyring(newRootKey, stored.ciphertext);
    }
    const rotated = keyring.active.term !== current.active.term;
    const counted = rotated ? await this.repository.encryptionsFor(keyring.active.term) : 0;
    if (this.keyring !== current) {
      // Sealed (or reopened) meanwhile: what was read belongs to no open barrier.
      keyring.zero();
      zero(newRootKey);
      return;
    }
    if (rotated) {
      if (this.encryptions > this.flushedEncryptions) this.flushCounter();
      this.encryptions = counted;
      this.flushedEncryptions = counted;
    }
    // Terms the old keyring shares with the new one are copies: zero the old buffers.
    current.zero();
    this.keyring = keyring;
    this.storedCiphertext = stored.ciphertext;
    if (newRootKey) {
      zero(rootKey);
      this.rootKey = newRootKey;
    }
    if (rotated) this.options.log(`barrier: loaded the keyring another node rotated (active term ${keyring.active.term})`);
  }

  /** Whether `blob` names a term newer than any this node holds (another node rotated): open it after `reloadKeyring`. */
  newerTerm(blob: Buffer): boolean {
    if (!this.keyring) return false;
    try {
      return aeadTerm(blob) > this.keyring.active.term;
    } catch {
      return false;
    }
  }

  async encrypt(location: string, plaintext: Buffer): Promise<Buffer> {
    if (!this.keyring) throw new BarrierSealedError();
    if (this.rotationDue()) await this.rotateIfStillDue();
    const keyring = this.keyring;
    if (!keyring) throw new BarrierSealedError();
    if (this.encryptions >= HARD_LIMIT) throw new Error('barrier key term exhausted; rotation failed');
    this.encryptions++;
    if (this.encryptions - this.flushedEncryptions >= COUNTER_FLUSH_EVERY) this.flushCounter();
    return aeadEncrypt(keyring.active.key, keyring.active.term, plaintext, location);
  }

  decrypt(location: string, blob: Buffer): Buffer {
    if (!this.keyring) throw new BarrierSealedError();
    const term = aeadTerm(blob);
    const key = this.keyring.keyFor(term);
    if (!key) throw new IntegrityError(`ciphertext at ${location} names unknown key term ${term}`);
    return aeadDecrypt(key, blob, location);
  }

  keyStatus(): KeyStatus {
    if (!this.keyring) throw new BarrierSealedError();
    return { term: this.keyring.active.term, installTime: this.keyring.active.installedAt, encryptions: this.encryptions };
  }

  /** The automatic rotation settings in force (Vault's sys/rotate/config). */
  rotationConfig(): RotationConfig {
    if (!this.keyring) throw new BarrierSealedError();
    return this.rotationSettings;
  }

  /** Stores new rotation settings and applies them here; other nodes reload them (`reloadRotationConfig`). */
  async setRotationConfig(config: RotationConfig): Promise<void> {
    if (!this.keyring) throw new BarrierSealedError();
    await this.repository.saveRotationConfig(config);
    this.rotationSettings = config;
    this.changed('rotation-config');
  }

  /** Re-reads the stored settings (another node changed them). */
  async reloadRotationConfig(): Promise<void> {
    if (!this.keyring) return;
    this.rotationSettings = (await this.repository.loadRotationConfig()) ?? DEFAULT_ROTATION_CONFIG;
  }

  private maxEncryptions(): number {
    return effectiveMaxEncryptions(this.options.maxEncryptionsPerTerm, this.rotationSettings);
  }

  private rotationDue(): boolean {
    const keyring = this.keyring;
    if (!keyring) return false;
    return this.encryptions >= this.maxEncryptions() || intervalDue(this.rotationSettings, keyring.active.installedAt, Date.now());
  }

  /** Adds a new active term (sys/rotate). Returns the new term. */
  rotate(): Promise<number> {
    return this.rotation.run(() => this.rotateNow());
  }

  private rotateIfStillDue(): Promise<number | void> {
    return this.rotation.run(async () => {
      if (!this.keyring || !this.rotationDue()) return;
      const why = this.encryptions >= this.maxEncryptions() ? `reached ${this.encryptions} encryptions` : 'reached the rotation interval';
      this.options.log(`barrier: term ${this.keyring.active.term} ${why}; rotating`);
      const term = await this.rotateOnce();
      if (term !== undefined) return term;
      // Another node rotated first: its new term is likely not due.
      await this.reloadNow();
      if (this.rotationDue()) return this.rotateNow();
    });
  }

  /** Rotates on top of the stored keyring, loading it first when another node changed it. */
  private async rotateNow(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const term = await this.rotateOnce();
      if (term !== undefined) return term;
      if (attempt === 3) throw new Error('keyring changed concurrently three times; rotation abandoned');
      await this.reloadNow();
    }
  }

  /** The new term, or undefined when the stored keyring is not the one in use here (nothing written). */
  private async rotateOnce(): Promise<number | undefined> {
    const keyring = this.keyring;
    const rootKey = this.rootKey;
    if (!keyring || !rootKey) throw new BarrierSealedError();
    const installedAt = new Date();
    const next = keyring.withNewTerm(randomKey(), installedAt);
    const plain = next.serialize();
    let ciphertext: Buffer;
    try {
      ciphertext = aeadEncrypt(rootKey, 0, plain, KEYRING_LOCATION);
    } finally {
      zero(plain);
    }
    if (!(await this.repository.saveRotation(keyring.active.term, this.storedCiphertext, ciphertext, next.active.term, installedAt, this.encryptions))) {
      next.active.key.fill(0);
      return undefined;
    }
    if (this.keyring !== keyring) {
      // Sealed while the rotation committed: the committed keyring is authoritative on the next unseal.
      next.active.key.fill(0);
      throw new BarrierSealedError();
    }
    this.keyring = next;
    this.storedCiphertext = ciphertext;
    this.encryptions = 0;
    this.flushedEncryptions = 0;
    this.changed('keyring');
    return next.active.term;
  }

  private flushCounter(): void {
    const keyring = this.keyring;
    if (!keyring) return;
    const count = this.encryptions;
    this.flushedEncryptions = count;
    this.repository.recordEncryptions(keyring.active.term, count).catch((err: Error) => {
      this.options.log(`barrier: could not persist the encryption counter: ${err.message}`);
    });
  }
}
