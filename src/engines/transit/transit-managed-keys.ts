/**
 * Transit keys of type `managed_key` (Vault Enterprise's): the key lives on a PKCS#11 token as a
 * managed key (sys/managed-keys) and transit reaches it only through the registry (ManagedKeys),
 * which checks the mount's access (allowed_managed_keys or any_mount) and the key's usages, and
 * recovers from a token outage. An AES-256 key encrypts (AES-GCM, `iv ‖ ciphertext ‖ tag`, the
 * Encrypter's layout, so ciphertexts are `vault:v<N>:base64(iv ‖ ct ‖ tag)`); an EC or RSA key signs.
 *
 * Invariants:
 * - every operation goes through ManagedKeys.withKey / signerFor: the mount's access and the key's
 *   usage (encrypt, decrypt, sign) are checked at each use, so a tune that removes the key from
 *   allowed_managed_keys stops the transit key at once;
 * - the transit key names its managed key by id (recorded at creation, with the name for the key
 *   read): deleting the managed key makes the transit key fail with the registry's 400, never use
 *   another key; every version is the same managed key (the version is only the prefix), so a
 *   version's material holds no key, only its own HMAC key;
 * - a ciphertext that does not authenticate on the token is an IntegrityError (the caller's 400),
 *   not an outage; token failures are the registry's one-line 500 naming the key, never the PIN.
 */
import { IntegrityError, type Encrypter } from '../../crypto/encrypter';
import { randomKey } from '../../crypto/random';
import type { Signer } from '../../crypto/signer';
import { VERSION_HMAC_KEY_BYTES } from '../../crypto/transit/key-types';
import type { MountEntry } from '../../framework/backend';
import { HsmError } from '../../hsm/hsm-error';
import { pkcs11Encrypter } from '../../hsm/pkcs11-encrypter';
import type { Pkcs11KeyRef, Pkcs11Token } from '../../hsm/pkcs11-token';
import { badRequest } from '../../kernel/errors';
import { managedKeyRef } from '../../kernel/managed-keys/managed-key-input';
import type { ManagedKeys } from '../../kernel/managed-keys/managed-keys';
import type { TransitDeps, TransitManagedKeys } from './transit-common';
import type { NewTransitVersion, TransitKeyPolicy } from './transit.repository';

export class TransitManagedKeyAccess implements TransitManagedKeys {
  constructor(private readonly keys: ManagedKeys) {}

  async resolve(mount: MountEntry, nameOrId: string): Promise<{ id: string; name: string }> {
    const { key } = await this.keys.forMount(mount, nameOrId);
    return { id: key.id, name: key.name };
  }

  async encrypter(mount: MountEntry, policy: TransitKeyPolicy): Promise<Encrypter> {
    const nameOrId = referenceOf(policy);
    const onToken = (usage: 'encrypt' | 'decrypt', run: (e: Encrypter) => Promise<Buffer>) =>
      this.keys.withKey(mount, nameOrId, usage, async (token, ref) => run(await aesEncrypter(token, ref, policy.name)));
    return {
      algorithm: 'aes-256-gcm',
      encrypt: (plaintext, aad) => onToken('encrypt', (e) => e.encrypt(plaintext, aad)),
      decrypt: (ciphertext, aad) =>
        onToken('decrypt', async (e) => {
          try {
            return await e.decrypt(ciphertext, aad);
          } catch (err) {
            // The token's "does not authenticate": the ciphertext's fault, not an outage (no reopen, no 500).
            if (err instanceof HsmError && err.kind === 'operation') throw new IntegrityError('the ciphertext did not authenticate on the token');
            throw err;
          }
        }),
    };
  }

  signer(mount: MountEntry, policy: TransitKeyPolicy): Promise<Signer> {
    return this.keys.signerFor(mount, referenceOf(policy));
  }
}

/**
 * keys/:name with type managed_key: the managed key named by managed_key_name or managed_key_id,
 * checked to exist and to be usable by this mount (and found on its token), as the key's columns.
 */
export async function managedKeyColumns(
  deps: TransitDeps,
  mount: MountEntry,
  data: { managed_key_name?: string; managed_key_id?: string; auto_rotate_period?: number },
): Promise<{ managedKeyId: string; managedKeyName: string }> {
  if (!deps.managed) throw badRequest('managed_key transit keys are not available on this server');
  if (data.auto_rotate_period) throw badRequest('Auto rotation can not be set for managed keys');
  const { id, name } = await deps.managed.resolve(mount, managedKeyRef(data));
  return { managedKeyId: id, managedKeyName: name };
}

/**
 * keys/:name/rotate of a managed_key key: a new version on the same managed key. Naming another
 * managed key is refused (a key's versions are one managed key).
 */
export function rotatedManagedKeyVersion(current: TransitKeyPolicy, data: { managed_key_name?: string; managed_key_id?: string }): NewTransitVersion {
  const name = (data.managed_key_name ?? '').trim().toLowerCase();
  const id = (data.managed_key_id ?? '').trim().toLowerCase();
  if ((name && name !== current.managedKeyName) || (id && id !== current.managedKeyId))
    throw badRequest(`transit key ${current.name} uses managed key "${current.managedKeyName}": its versions cannot move to another managed key`);
  return managedKeyVersion();
}

/** A managed_key version: no key material (the key is on the token), its own HMAC key as every version has. */
export function managedKeyVersion(): NewTransitVersion {
  return { material: { key: Buffer.alloc(0), hmacKey: randomKey(VERSION_HMAC_KEY_BYTES) } };
}

function referenceOf(policy: TransitKeyPolicy): string {
  const ref = policy.managedKeyId ?? policy.managedKeyName;
  if (policy.type !== 'managed_key' || !ref) throw new TypeError(`transit key ${policy.name} is not a managed_key key`);
  return ref;
}

/** The token's AES-256-GCM Encrypter for `ref`; an RSA or EC managed key does not encrypt here (a 400). */
async function aesEncrypter(token: Pkcs11Token, ref: Pkcs11KeyRef, name: string): Promise<Encrypter> {
  if (ref.class !== 'secret') throw badRequest(`the managed key of transit key ${name} is not an AES key: it cannot encrypt or decrypt`);
  return pkcs11Encrypter(token, ref);
}
