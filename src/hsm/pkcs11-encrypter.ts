/**
 * An Encrypter (src/crypto/encrypter.ts) over a key on a PKCS#11 token: AES-256-GCM with a secret
 * key, RSA-OAEP with an RSA key pair; the key never leaves the token. Transit uses it for keys on
 * an HSM as it uses the software encrypters for its own.
 *
 * Invariants:
 * - the algorithm is fixed when the encrypter is made, from the key: a secret key must be AES-256
 *   (keyInfo: type AES, 256 bits when the token tells the length), an RSA key gives RSA-OAEP with
 *   `hash` (default sha256; SoftHSM 2.6 supports only sha1); an EC key is refused;
 * - AES-GCM output is Pkcs11Token.encryptAesGcm's `iv (12) ‖ ciphertext ‖ tag (16)`, the
 *   software encrypter's layout; RSA-OAEP output is the standard OAEP block, and the token decrypts
 *   what softwareRsaOaepEncrypter made with `publicKey` (the token's public key);
 * - RSA-OAEP encrypts with the token's public key object, decrypts with the private key, and
 *   refuses a non-empty AAD and a plaintext too long for the modulus before the token is asked;
 * - failures are HsmErrors (the token's), one line, never the PIN; a ciphertext that does not
 *   authenticate or decrypt is HsmError 'operation'.
 */
import { OAEP_AAD_REFUSED, oaepMaxPlaintextBytes, oaepTooLong, OAEP_HASHES, type Encrypter, type OaepHash } from '../crypto/encrypter';
import { HsmError } from './hsm-error';
import { keyName } from './pkcs11-keys';
import type { Pkcs11KeyRef, Pkcs11Token } from './pkcs11-token';

export interface Pkcs11EncrypterOptions {
  /** RSA-OAEP's hash (and MGF1's); default sha256. Not allowed for a secret key. */
  hash?: OaepHash;
}

/** An Encrypter for the AES secret key or RSA key pair `ref` on `token` (which must be open). */
export async function pkcs11Encrypter(token: Pkcs11Token, ref: Pkcs11KeyRef, options: Pkcs11EncrypterOptions = {}): Promise<Encrypter> {
  const name = `${keyName(ref)} on ${token.name}`;
  if (ref.class === 'ec') throw new HsmError('mechanism', `${name} is an EC key: encryption needs an AES secret key or an RSA key`);
  if (ref.class === 'secret') {
    if (options.hash !== undefined) throw new HsmError('mechanism', `${name} is an AES key: a hash applies to RSA-OAEP only`);
    const info = await token.keyInfo(ref);
    if (info.keyType !== 'aes') throw new HsmError('mechanism', `${name} is not an AES key: AES-256-GCM needs one`);
    if (info.bits !== undefined && info.bits !== 256) throw new HsmError('mechanism', `${name} is AES-${info.bits}: AES-256-GCM needs a 256-bit key`);
    return {
      algorithm: 'aes-256-gcm',
      encrypt: (plaintext, aad) => token.encryptAesGcm(ref, plaintext, aad),
      decrypt: (ciphertext, aad) => token.decryptAesGcm(ref, ciphertext, aad),
    };
  }
  const hash = options.hash ?? 'sha256';
  if (!OAEP_HASHES.includes(hash)) throw new HsmError('mechanism', `RSA-OAEP with ${String(hash)} is not supported (one of ${OAEP_HASHES.join(', ')})`);
  const publicKey = await token.rsaPublicKey(ref);
  const maxPlaintext = oaepMaxPlaintextBytes(publicKey, hash);
  const refuseAad = (aad: Buffer | undefined, what: string) => {
    if (aad && aad.length > 0) throw new HsmError('mechanism', `RSA-OAEP ${what} with ${name}: ${OAEP_AAD_REFUSED}`);
  };
  return {
    algorithm: 'rsa-oaep',
    publicKey,
    async encrypt(plaintext, aad) {
      refuseAad(aad, 'encryption');
      // pkcs11js passes an empty Buffer as a NULL pointer, which tokens refuse.
      if (plaintext.length === 0) throw new HsmError('operation', `RSA-OAEP-${hash} encryption with ${name} failed: the plaintext is empty`);
      if (plaintext.length > maxPlaintext)
        throw new HsmError('operation', `RSA-OAEP-${hash} encryption with ${name} failed: ${oaepTooLong(plaintext.length, maxPlaintext, hash)}`);
      return token.encryptRsaOaep(ref, plaintext, hash);
    },
    async decrypt(ciphertext, aad) {
      refuseAad(aad, 'decryption');
      return token.decryptRsaOaep(ref, ciphertext, hash);
    },
  };
}
