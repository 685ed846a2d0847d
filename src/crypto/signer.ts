/**
 * One interface for signing with a key wherever it lives: a software KeyObject (here) or a key on a
 * PKCS#11 token (src/hsm/pkcs11-signer.ts). The X.509 builders (certificates, CSRs, CRLs, OCSP) sign
 * only through it, so an issuer key may move to an HSM without them knowing.
 *
 * Invariants:
 * - `publicKey` is the public half of the signing key and never changes; scheme selection
 *   (signatureSchemeFor, defaultSignatureHash) works from it, so it needs no private key material;
 * - `sign(scheme, data)` returns the signature bytes exactly as X.509 carries them in the BIT STRING:
 *   the DER ECDSA-Sig-Value for EC, the PKCS#1 v1.5 or PSS block for RSA (PSS: MGF1 with the same
 *   hash, salt as long as the hash, as signing.ts writes the AlgorithmIdentifier), the 64 raw
 *   bytes for Ed25519; `data` is the message itself, hashed by the signer as the scheme says;
 * - softwareSigner returns the same Signer (and so the same publicKey object) for the same private
 *   KeyObject, so per-key caches keyed by the public key (SPKI, key id, key info) keep hitting.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { signWithScheme, type SignatureScheme } from './x509/signing';

export type { SignatureHash, SignatureScheme } from './x509/signing';

export interface Signer {
  readonly publicKey: KeyObject;
  sign(scheme: SignatureScheme, data: Buffer): Promise<Buffer>;
}

const softwareSigners = new WeakMap<KeyObject, Signer>();

/** A Signer over a private KeyObject, signing with node:crypto (signing.ts's signWithScheme). */
export function softwareSigner(privateKey: KeyObject): Signer {
  let signer = softwareSigners.get(privateKey);
  if (signer === undefined) {
    if (privateKey.type !== 'private') throw new TypeError('softwareSigner needs a private key');
    const publicKey = createPublicKey(privateKey);
    signer = {
      publicKey,
      // node's one-shot sign() is synchronous; the Promise is the interface's, for HSM signers.
      sign: async (scheme, data) => signWithScheme(scheme, privateKey, data),
    };
    softwareSigners.set(privateKey, signer);
  }
  return signer;
}
