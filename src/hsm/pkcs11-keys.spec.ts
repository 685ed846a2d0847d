import { generateKeyPairSync } from 'node:crypto';
import { curveOfParams, EC_CURVES, type EcCurve } from './pkcs11-keys';

describe('EC curve parameters', () => {
  it.each(Object.keys(EC_CURVES) as EcCurve[])('%s: CKA_EC_PARAMS is the named-curve OID node writes into its SPKI', (curve) => {
    const spki = generateKeyPairSync('ec', { namedCurve: curve }).publicKey.export({ type: 'spki', format: 'der' });
    // SPKI: SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve }, BIT STRING }; the curve OID follows id-ecPublicKey.
    const idEcPublicKey = Buffer.from('06072a8648ce3d0201', 'hex');
    const at = spki.indexOf(idEcPublicKey) + idEcPublicKey.length;
    expect(spki.subarray(at, at + EC_CURVES[curve].params.length).equals(EC_CURVES[curve].params)).toBe(true);
    expect(curveOfParams(EC_CURVES[curve].params)).toBe(curve);
  });

  it('knows no other curve', () => {
    expect(curveOfParams(Buffer.from('06052b81040021', 'hex'))).toBeUndefined(); // P-224
    expect(curveOfParams(Buffer.alloc(0))).toBeUndefined();
  });
});
