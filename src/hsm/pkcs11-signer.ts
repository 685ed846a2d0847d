/**
 * A Signer (src/crypto/signer.ts) over an RSA or EC private key on a PKCS#11 token, so the X.509
 * builders sign certificates, CSRs, CRLs and OCSP answers with a key that never leaves the token.
 *
 * Invariants:
 * - the public key is read from the token once, when the signer is made; scheme selection works
 *   from it exactly as for a software key, so an HSM issuer signs with the same algorithms;
 * - a scheme maps to one mechanism: ECDSA with the scheme's hash (CKM_ECDSA over a software digest),
 *   RSA PKCS#1 v1.5 (CKM_SHA*_RSA_PKCS) or RSASSA-PSS (CKM_SHA*_RSA_PKCS_PSS, MGF1 of the same
 *   hash, salt as long as the hash: what the scheme's AlgorithmIdentifier says); Ed25519 and any
 *   scheme that does not fit the key are refused with HsmError 'mechanism' before the token is asked;
 * - EC signatures come back from the token as r ‖ s and leave here as the DER ECDSA-Sig-Value
 *   X.509 carries; RSA signatures are returned unchanged;
 * - failures are HsmErrors (the token's), one line, never the PIN.
 */
import { ecdsaRawToDer } from '../crypto/ecdsa-signature';
import type { Signer, SignatureScheme } from '../crypto/signer';
import { keyInfo } from '../crypto/x509/keys';
import { HsmError } from './hsm-error';
import { keyName, type Pkcs11SignMechanism } from './pkcs11-keys';
import type { Pkcs11KeyRef, Pkcs11Token } from './pkcs11-token';

/** A Signer for the RSA or EC private key `ref` on `token` (which must be open). */
export async function pkcs11Signer(token: Pkcs11Token, ref: Pkcs11KeyRef): Promise<Signer> {
  if (ref.class !== 'rsa' && ref.class !== 'ec') throw new HsmError('mechanism', `${keyName(ref)} is a secret key: signing needs an RSA or EC key`);
  const publicKey = await token.publicKey(ref);
  const { type } = keyInfo(publicKey);
  const mechanismFor = (scheme: SignatureScheme): Pkcs11SignMechanism => {
    if (scheme.hash === null) throw new HsmError('mechanism', `${keyName(ref)} on ${token.name} cannot sign without a digest (Ed25519 schemes)`);
    if (type === 'ec' && !scheme.pss) return { algorithm: 'ecdsa', hash: scheme.hash };
    if (type === 'rsa') return { algorithm: scheme.pss ? 'rsa-pss' : 'rsa-pkcs1', hash: scheme.hash };
    throw new HsmError('mechanism', `${keyName(ref)} on ${token.name} is ${type === 'ec' ? 'an EC' : 'an RSA'} key: the scheme does not fit it`);
  };
  return {
    publicKey,
    async sign(scheme, data) {
      const mechanism = mechanismFor(scheme);
      const signature = await token.sign(ref, mechanism, data);
      if (mechanism.algorithm !== 'ecdsa') return signature;
      try {
        return ecdsaRawToDer(signature);
      } catch (err) {
        throw new HsmError('operation', `the ECDSA signature from ${token.name} is not r‖s: ${(err as Error).message}`);
      }
    },
  };
}
