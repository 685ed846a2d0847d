/**
 * One interface for encryption with a key wherever it lives: software keys (here) or a key on a
 * PKCS#11 token (src/hsm/pkcs11-encrypter.ts), the counterpart of signer.ts. Transit encrypts and
 * decrypts only through it, so a transit key may live on an HSM without the engine knowing.
 *
 * Byte layouts (the same from software and from the token, so either may open the other's output
 * given the same key):
 * - 'aes-256-gcm': `iv (12) ‖ ciphertext ‖ tag (16)`: a random 96-bit IV per encryption, a 128-bit
 *   tag; the ciphertext is as long as the plaintext. The AAD is bound by the tag and not stored; an
 *   empty AAD is the same as none (GCM treats them alike). This is Pkcs11Token.encryptAesGcm's layout;
 * - 'rsa-oaep': the OAEP block, as long as the modulus; MGF1 with the same hash as OAEP, no label.
 *
 * Invariants:
 * - decrypt(encrypt(p, aad), aad) is p; any change to the ciphertext, the AAD or the key makes
 *   decrypt throw (software: IntegrityError; token: HsmError 'operation'), never return other bytes;
 * - RSA-OAEP has no AAD: a non-empty `aad` is refused (TypeError here, HsmError 'mechanism' on a
 *   token) rather than ignored, so no caller believes a context is bound when it is not;
 * - a software encrypter holds its key as a KeyObject made when it is created (a copy: later changes
 *   to the caller's Buffer do not reach it); RSA-OAEP encrypts with the public key only, and
 *   decrypting needs the private key;
 * - the token refuses an empty plaintext (pkcs11js cannot pass one); software accepts it.
 */
import { constants, createCipheriv, createDecipheriv, createPublicKey, createSecretKey, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { IntegrityError } from './aead';
import { randomNonce } from './random';

export { IntegrityError } from './aead';

export type EncryptionAlgorithm = 'aes-256-gcm' | 'rsa-oaep';
export type OaepHash = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
export const OAEP_HASHES: readonly OaepHash[] = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'];
const OAEP_HASH_BYTES: Record<OaepHash, number> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;
export const AES_256_KEY_BYTES = 32;

export interface Encrypter {
  readonly algorithm: EncryptionAlgorithm;
  /** RSA-OAEP: the public key (for exporting it, or for encrypting elsewhere); absent for AES-GCM. */
  readonly publicKey?: KeyObject;
  encrypt(plaintext: Buffer, aad?: Buffer): Promise<Buffer>;
  decrypt(ciphertext: Buffer, aad?: Buffer): Promise<Buffer>;
}

/** An AES-256-GCM Encrypter over a 32-byte key, in the layout above. */
export function softwareAesGcmEncrypter(key: Buffer): Encrypter {
  if (!Buffer.isBuffer(key) || key.length !== AES_256_KEY_BYTES) throw new TypeError(`an AES-256-GCM key is ${AES_256_KEY_BYTES} bytes`);
  const secret = createSecretKey(key);
  return {
    algorithm: 'aes-256-gcm',
    encrypt: async (plaintext, aad) => {
      const iv = randomNonce(GCM_IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', secret, iv, { authTagLength: GCM_TAG_BYTES });
      if (aad && aad.length > 0) cipher.setAAD(aad);
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return Buffer.concat([iv, body, cipher.getAuthTag()]);
    },
    decrypt: async (blob, aad) => {
      if (blob.length < GCM_IV_BYTES + GCM_TAG_BYTES) throw new IntegrityError(`the AES-GCM ciphertext is ${blob.length} bytes, shorter than IV and tag`);
      const iv = blob.subarray(0, GCM_IV_BYTES);
      const tag = blob.subarray(blob.length - GCM_TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', secret, iv, { authTagLength: GCM_TAG_BYTES });
      if (aad && aad.length > 0) decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(blob.subarray(GCM_IV_BYTES, blob.length - GCM_TAG_BYTES)), decipher.final()]);
      } catch {
        throw new IntegrityError('the AES-GCM ciphertext did not authenticate (wrong key, AAD or bytes)');
      }
    },
  };
}

export interface RsaOaepKeys {
  /** Needed only to decrypt. */
  privateKey?: KeyObject;
  publicKey: KeyObject;
}

/** An RSA-OAEP Encrypter (MGF1 with `hash`, no label): encrypts with `publicKey`, decrypts with `privateKey`. */
export function softwareRsaOaepEncrypter(keys: RsaOaepKeys, hash: OaepHash): Encrypter {
  const { privateKey, publicKey } = keys;
  checkOaepHash(hash);
  if (publicKey?.type !== 'public' || publicKey.asymmetricKeyType !== 'rsa') throw new TypeError('RSA-OAEP needs an RSA public key');
  if (privateKey !== undefined) {
    if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa') throw new TypeError('RSA-OAEP decryption needs an RSA private key');
    if (!createPublicKey(privateKey).equals(publicKey)) throw new TypeError('the RSA private key is not the one of the public key');
  }
  const maxPlaintext = oaepMaxPlaintextBytes(publicKey, hash);
  return {
    algorithm: 'rsa-oaep',
    publicKey,
    encrypt: async (plaintext, aad) => {
      refuseAad(aad);
      if (plaintext.length > maxPlaintext) throw new RangeError(oaepTooLong(plaintext.length, maxPlaintext, hash));
      return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, plaintext);
    },
    decrypt: async (ciphertext, aad) => {
      refuseAad(aad);
      if (privateKey === undefined) throw new TypeError('RSA-OAEP decryption needs the private key; this encrypter has only the public key');
      try {
        return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, ciphertext);
      } catch {
        throw new IntegrityError(`the RSA-OAEP-${hash} ciphertext does not decrypt (wrong key, hash or bytes)`);
      }
    },
  };
}

/** The longest plaintext RSA-OAEP with `hash` takes under `publicKey`: modulus bytes − 2·hash bytes − 2 (RFC 8017 7.1.1). */
export function oaepMaxPlaintextBytes(publicKey: KeyObject, hash: OaepHash): number {
  const bits = publicKey.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new TypeError('RSA-OAEP needs an RSA key');
  return Math.ceil(bits / 8) - 2 * OAEP_HASH_BYTES[hash] - 2;
}

export function oaepTooLong(length: number, max: number, hash: OaepHash): string {
  return `the plaintext is ${length} bytes; RSA-OAEP-${hash} with this key takes at most ${max}`;
}

/** The message for a non-empty AAD given to RSA-OAEP. */
export const OAEP_AAD_REFUSED = 'RSA-OAEP takes no additional authenticated data (AAD); use AES-GCM to bind a context';

function refuseAad(aad: Buffer | undefined): void {
  if (aad && aad.length > 0) throw new TypeError(OAEP_AAD_REFUSED);
}

function checkOaepHash(hash: OaepHash): void {
  if (!OAEP_HASHES.includes(hash)) throw new TypeError(`RSA-OAEP with ${String(hash)} is not supported (one of ${OAEP_HASHES.join(', ')})`);
}
