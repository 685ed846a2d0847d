/**
 * PKI keys on an HSM (Vault Enterprise's managed-key PKI, `…/generate/kms`): a pki mount's key that
 * is a managed key (sys/managed-keys) signs certificates, CSRs, CRLs and OCSP answers through the
 * token (pkcs11Signer); its private half never leaves the HSM and the mount stores only its id.
 *
 * Invariants:
 * - a mount uses a managed key only as the registry allows (forMount, usage `sign`); the mount's
 *   allowed_managed_keys is checked again, in memory, at every signature, so a tune that removes
 *   the key stops its issuers at once;
 * - the opened key (token, key handle, signer) is cached per mount and managed key, and forgotten
 *   at seal and after any HSM failure; a token found gone is dropped from the registry's cache too,
 *   so the next use opens (and, when needed, reinitialises) it afresh; one signature that meets a
 *   lost token retries once on a freshly opened one;
 * - every HSM failure leaves here as ONE 500 `the managed key "name" is unavailable`, never the
 *   library's words; refusals (not allowed on the mount, no such key) stay the registry's 400s;
 * - a signer for an issuer carries the certificate's public key and opens nothing until it signs,
 *   so reading issuers, CRLs already built and certificates never needs the HSM; before its first
 *   signature the key on the token is checked to be that public key.
 */
import type { KeyObject } from 'node:crypto';
import type { MountEntry } from '../../framework/backend';
import type { Signer, SignatureScheme } from '../../crypto/signer';
import { HsmError } from '../../hsm/hsm-error';
import { pkcs11Signer } from '../../hsm/pkcs11-signer';
import { ApiError, badRequest } from '../../kernel/errors';
import type { ManagedKeyRepository } from '../../kernel/managed-keys/managed-key.repository';
import type { ManagedKeyHandle, ManagedKeys } from '../../kernel/managed-keys/managed-keys';
import type { MountTable } from '../../kernel/router/mount-table';

/** What the engine needs of the kernel; absent (tests, tools) means no managed keys. */
export interface PkiManagedKeyServices {
  keys: ManagedKeys;
  registry: ManagedKeyRepository;
  mounts: MountTable;
}

interface Opened {
  handle: ManagedKeyHandle;
  signer: Signer;
}

/** Failures after which the registry's cached token is dropped (as the registry does itself). */
const TOKEN_LOST = new Set(['token-absent', 'not-logged-in', 'library']);
/** The registry's error for an HSM failure in forMount: `the managed key "name" is unavailable: <the token's words>`. */
const REGISTRY_HSM_FAILURE = /^the managed key "([^"]+)" is unavailable: /;

export const managedKeyUnavailable = (name: string): ApiError => new ApiError(500, [`the managed key "${name}" is unavailable`]);

const spkiOf = (key: KeyObject): Buffer => key.export({ format: 'der', type: 'spki' });

export { managedKeyRef } from '../../kernel/managed-keys/managed-key-input';

export class PkiManagedKeys {
  private readonly opened = new Map<string, Promise<Opened>>();
  private readonly signers = new Map<string, Signer>();

  constructor(private readonly services?: PkiManagedKeyServices) {}

  /** Forgets every opened key (at seal). */
  clear(): void {
    this.opened.clear();
    this.signers.clear();
  }

  /** The managed key's name for its id (no HSM involved); undefined when the registry no longer has it. */
  async nameOf(managedKeyId: string): Promise<string | undefined> {
    return (await this.services?.registry.byId(managedKeyId))?.name;
  }

  /**
   * For `…/generate/kms`: the managed key `nameOrId` for this mount (allowed, usage sign, RSA or EC),
   * opened now; its id and a signer whose public key is read from the token.
   */
  async forGeneration(mount: MountEntry, nameOrId: string): Promise<{ id: string; name: string; signer: Signer }> {
    const opened = await this.open(mount, nameOrId);
    const { id, name } = opened.handle.key;
    this.opened.set(`${mount.uuid}/${id}`, Promise.resolve(opened));
    return { id, name, signer: this.signer(mount.uuid, id, opened.signer.publicKey) };
  }

  /** The public key of a mount's managed key, from the token. */
  async publicKey(mountUuid: string, managedKeyId: string): Promise<KeyObject> {
    return (await this.handle(mountUuid, managedKeyId)).signer.publicKey;
  }

  /**
   * A Signer for the mount's key that is the managed key `managedKeyId` and whose public half is
   * `publicKey` (an issuer certificate's): nothing is opened until it signs.
   */
  signer(mountUuid: string, managedKeyId: string, publicKey: KeyObject): Signer {
    const cacheKey = `${mountUuid}/${managedKeyId}`;
    const cached = this.signers.get(cacheKey);
    if (cached && spkiOf(cached.publicKey).equals(spkiOf(publicKey))) return cached;
    const expected = spkiOf(publicKey);
    const checked = new WeakSet<Signer>();
    const signer: Signer = {
      publicKey,
      sign: async (scheme: SignatureScheme, data: Buffer): Promise<Buffer> => {
        for (let attempt = 1; ; attempt++) {
          const opened = await this.handle(mountUuid, managedKeyId);
          const name = opened.handle.key.name;
          if (!checked.has(opened.signer)) {
            if (!spkiOf(opened.signer.publicKey).equals(expected)) throw new ApiError(500, [`the managed key "${name}" no longer holds this issuer's key`]);
            checked.add(opened.signer);
          }
          try {
            return await opened.signer.sign(scheme, data);
          } catch (err) {
            if (!(err instanceof HsmError)) throw err;
            await this.forget(cacheKey, opened, err);
            // A token closed or lost under the cached handle: once more on a freshly opened one.
            if (attempt > 1 || !TOKEN_LOST.has(err.kind)) throw managedKeyUnavailable(name);
          }
        }
      },
    };
    this.signers.set(cacheKey, signer);
    return signer;
  }

  /** The opened key (cached), still allowed on the mount. */
  private async handle(mountUuid: string, managedKeyId: string): Promise<Opened> {
    const mount = this.services?.mounts.byUuid(mountUuid);
    if (!mount) throw badRequest('the mount of this key is gone');
    const cacheKey = `${mountUuid}/${managedKeyId}`;
    let opening = this.opened.get(cacheKey);
    if (!opening) {
      const p = this.open(mount, managedKeyId);
      opening = p;
      this.opened.set(cacheKey, p);
      p.catch(() => {
        if (this.opened.get(cacheKey) === p) this.opened.delete(cacheKey);
      });
    }
    const opened = await opening;
    const key = opened.handle.key;
    const listed = (mount.config.allowedManagedKeys ?? []).some((k) => [key.name, key.id].includes(k.trim().toLowerCase()));
    if (!key.anyMount && !listed)
      throw badRequest(
        `managed key "${key.name}" is not allowed on mount ${mount.path}: list it in the mount's allowed_managed_keys, or set any_mount on the key`,
      );
    return opened;
  }

  private async open(mount: MountEntry, nameOrId: string): Promise<Opened> {
    if (!this.services) throw badRequest('managed keys are not available on this server');
    let handle: ManagedKeyHandle;
    try {
      handle = await this.services.keys.forMount(mount, nameOrId, 'sign');
    } catch (err) {
      // The registry's HSM failures name the library and token: signing requests say only which key.
      const hsm = err instanceof ApiError ? REGISTRY_HSM_FAILURE.exec(err.errors[0] ?? '') : null;
      if (hsm) throw managedKeyUnavailable(hsm[1]);
      throw err;
    }
    if (handle.ref.class !== 'rsa' && handle.ref.class !== 'ec') throw badRequest(`managed key "${handle.key.name}" is not an RSA or EC key: it cannot sign`);
    try {
      return { handle, signer: await pkcs11Signer(handle.token, handle.ref) };
    } catch (err) {
      if (!(err instanceof HsmError)) throw err;
      if (TOKEN_LOST.has(err.kind)) await this.services.keys.dropToken(handle.token);
      throw managedKeyUnavailable(handle.key.name);
    }
  }

  /** After an HSM failure: the cached key is forgotten, and a lost token dropped from the registry. */
  private async forget(cacheKey: string, opened: Opened, err: HsmError): Promise<void> {
    const current = this.opened.get(cacheKey);
    if (current && (await current.catch(() => undefined)) === opened) this.opened.delete(cacheKey);
    if (TOKEN_LOST.has(err.kind)) await this.services?.keys.dropToken(opened.handle.token);
  }
}
