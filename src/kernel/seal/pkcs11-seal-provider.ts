/**
 * The PKCS#11 seal: the root key is wrapped by a key that never leaves the HSM (AES-256-GCM with
 * the location as AAD, or RSA-OAEP), so the server can unseal by itself. Stored beside the
 * ciphertext is which key (label, id) and mechanism wrapped it: unwrapping uses that key, wrapping
 * the configured one, so a new key_label rotates the seal key while the old key still unwraps.
 * When the token goes away, an operation reopens the session (re-initialising the library) once
 * before it fails; every failure is a SealUnavailableError whose message names what failed and
 * never holds the PIN.
 */
import { HsmError } from '../../hsm/hsm-error';
import { Pkcs11Token, type Pkcs11KeyRef } from '../../hsm/pkcs11-token';
import { CKM_AES_GCM, CKM_RSA_PKCS_OAEP, describeHsmKey, describePkcs11, type Pkcs11SealSettings } from './seal-settings';
import { ROOT_KEY_LOCATION, SealUnavailableError, type HsmKeyIdentity, type SealProvider, type WrappedRootKey } from './seal-provider';

/** Failures a fresh session may cure (the token or library went away and came back). */
const REOPENABLE = new Set(['token-absent', 'not-logged-in', 'library', 'key-missing']);
const RSA_GENERATED_BITS = 2048;
const AAD = Buffer.from(ROOT_KEY_LOCATION, 'utf8');

function identityOf(ref: Pkcs11KeyRef, mechanism: number): HsmKeyIdentity {
  return { mechanism, ...(ref.label !== '' ? { label: ref.label } : {}), ...(ref.id.length > 0 ? { id: ref.id.toString('hex') } : {}) };
}

export class Pkcs11SealProvider implements SealProvider {
  readonly type = 'pkcs11' as const;
  readonly autoUnseal = true;
  private readonly token: Pkcs11Token;
  private current?: { ref: Pkcs11KeyRef; identity: HsmKeyIdentity };

  constructor(private readonly settings: Pkcs11SealSettings) {
    this.token = new Pkcs11Token({
      lib: settings.lib,
      ...(settings.slot !== undefined ? { slot: settings.slot } : { tokenLabel: settings.tokenLabel }),
      pin: settings.pin,
    });
  }

  describe(): string {
    return describePkcs11(this.settings);
  }

  async open(): Promise<void> {
    await this.hsm('open the token', async () => {
      await this.token.open();
      await this.resolveCurrentKey();
    });
  }

  async close(): Promise<void> {
    this.current = undefined;
    await this.token.close().catch(() => undefined);
  }

  async health(): Promise<{ healthy: true } | { healthy: false; error: string }> {
    try {
      await this.open();
      const checked = await this.token.health(this.current?.ref);
      return checked.ok ? { healthy: true } : { healthy: false, error: checked.error.message };
    } catch (err) {
      return { healthy: false, error: (err as Error).message };
    }
  }

  currentKey(): HsmKeyIdentity | undefined {
    return this.current?.identity;
  }

  async wrapRootKey(rootKey: Buffer): Promise<WrappedRootKey> {
    return this.hsm('wrap the root key', async () => {
      const { ref, identity } = await this.resolveCurrentKey();
      const ciphertext =
        identity.mechanism === CKM_AES_GCM
          ? await this.token.encryptAesGcm(ref, rootKey, AAD)
          : await this.token.encryptRsaOaep(ref, rootKey, this.settings.rsaOaepHash);
      return { ciphertext, hsmKey: identity };
    });
  }

  async unwrapRootKey(wrapped: WrappedRootKey): Promise<Buffer> {
    const key = wrapped.hsmKey;
    if (!key) throw new SealUnavailableError('the stored root key was not wrapped by an HSM key');
    return this.hsm('unwrap the root key', async () => {
      await this.token.open();
      const ref = await this.token.findKey({ label: key.label, id: key.id !== undefined ? Buffer.from(key.id, 'hex') : undefined });
      // Reopenable: a token that went away and came back shows no keys until the library is re-initialised.
      if (!ref) throw new HsmError('key-missing', `the HSM key that wrapped the root key (${describeHsmKey(key)}) is not on the token`);
      try {
        return key.mechanism === CKM_AES_GCM
          ? await this.token.decryptAesGcm(ref, wrapped.ciphertext, AAD)
          : await this.token.decryptRsaOaep(ref, wrapped.ciphertext, this.settings.rsaOaepHash);
      } catch (err) {
        if (err instanceof HsmError && err.kind === 'operation')
          throw new SealUnavailableError(`the HSM key (${describeHsmKey(key)}) did not unwrap the stored root key: ${err.message}`);
        throw err;
      }
    });
  }

  /** The configured key, found or (generate_key) created; its mechanism from the setting or the key's type. */
  private async resolveCurrentKey(): Promise<{ ref: Pkcs11KeyRef; identity: HsmKeyIdentity }> {
    if (this.current) return this.current;
    const { keyLabel, keyId, generateKey, mechanism } = this.settings;
    const query = { label: keyLabel, id: keyId !== undefined ? Buffer.from(keyId, 'hex') : undefined };
    let ref = await this.token.findKey(query);
    if (!ref && generateKey && keyLabel !== undefined) {
      // A token that came back after the library was initialised looks empty until it is
      // reinitialised: look again on a fresh view before creating a second key with this label.
      await this.token.reopen();
      ref = await this.token.findKey(query);
    }
    if (!ref && generateKey && keyLabel !== undefined) {
      ref =
        mechanism === CKM_RSA_PKCS_OAEP
          ? await this.token.generateRsaKeyPair(keyLabel, RSA_GENERATED_BITS, query.id)
          : await this.token.generateAesKey(keyLabel, query.id);
    }
    if (!ref) throw new HsmError('key-missing', `no key with ${describeHsmKey({ label: keyLabel, id: keyId })} on the token, and generate_key is false`);
    const resolved = mechanism ?? (ref.class === 'secret' ? CKM_AES_GCM : CKM_RSA_PKCS_OAEP);
    // An EC key (findKey finds signing keys too) fits neither seal mechanism.
    if (ref.class === 'ec')
      throw new SealUnavailableError(`the key ${describeHsmKey({ label: keyLabel, id: keyId })} is an EC key: the seal needs an AES key or an RSA key pair`);
    if ((resolved === CKM_AES_GCM) !== (ref.class === 'secret'))
      throw new SealUnavailableError(
        `the key ${describeHsmKey({ label: keyLabel, id: keyId })} is ${ref.class === 'secret' ? 'a secret key' : 'an RSA key'}: mechanism 0x${resolved.toString(16).padStart(4, '0')} needs ${resolved === CKM_AES_GCM ? 'an AES key' : 'an RSA key pair'}`,
      );
    this.current = { ref, identity: identityOf(ref, resolved) };
    return this.current;
  }

  /** Runs `operation`; when the token or library went away, reopens once and retries; HSM failures become SealUnavailableError. */
  private async hsm<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      if (!(err instanceof HsmError) || !REOPENABLE.has(err.kind)) throw this.unavailable(what, err);
      try {
        this.current = undefined;
        await this.token.reopen();
        return await operation();
      } catch (again) {
        throw this.unavailable(what, again);
      }
    }
  }

  private unavailable(what: string, err: unknown): Error {
    if (err instanceof SealUnavailableError) return err;
    if (err instanceof HsmError) return new SealUnavailableError(`cannot ${what} with the HSM (${this.describe()}): ${err.message}`);
    return err as Error;
  }
}
