/**
 * Key pairs for the PKI engine: generation, identification and Vault's private key encodings.
 *
 * Invariants:
 * - only the combinations Vault's PKI accepts for generated keys exist: RSA 2048/3072/4096 (e=65537),
 *   EC on P-224/P-256/P-384/P-521, Ed25519 (bits 0); anything else throws before any work;
 * - keyInfo reports `bits` as the modulus length (RSA), the curve size (EC) or 0 (Ed25519), and
 *   throws for any other key kind, so callers never see an unsupported key as a supported one.
 */
import { generateKeyPair as generateNodeKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

export type KeyType = 'rsa' | 'ec' | 'ed25519';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  type: KeyType;
  /** RSA modulus bits; EC curve size (224/256/384/521); 0 for Ed25519. */
  bits: number;
}

export const RSA_KEY_BITS: readonly number[] = [2048, 3072, 4096];

/** EC curve size -> node's (OpenSSL's) curve name. */
const CURVE_BY_BITS: ReadonlyMap<number, string> = new Map([
  [224, 'secp224r1'],
  [256, 'prime256v1'],
  [384, 'secp384r1'],
  [521, 'secp521r1'],
]);

/** Every name node may report for those curves -> size. */
const BITS_BY_CURVE: ReadonlyMap<string, number> = new Map([
  ['secp224r1', 224],
  ['P-224', 224],
  ['prime256v1', 256],
  ['secp256r1', 256],
  ['P-256', 256],
  ['secp384r1', 384],
  ['P-384', 384],
  ['secp521r1', 521],
  ['P-521', 521],
]);

export const EC_KEY_BITS: readonly number[] = [...CURVE_BY_BITS.keys()];

const generate = promisify(generateNodeKeyPair);

export async function generateKeyPair(type: KeyType, bits: number): Promise<KeyPair> {
  switch (type) {
    case 'rsa': {
      if (!RSA_KEY_BITS.includes(bits)) {
        throw new Error(`unsupported RSA key size: use one of ${RSA_KEY_BITS.join(', ')}`);
      }
      const pair = await generate('rsa', { modulusLength: bits, publicExponent: 0x10001 });
      return { ...pair, type, bits };
    }
    case 'ec': {
      const namedCurve = CURVE_BY_BITS.get(bits);
      if (namedCurve === undefined) {
        throw new Error(`unsupported EC key size: use one of ${EC_KEY_BITS.join(', ')}`);
      }
      const pair = await generate('ec', { namedCurve });
      return { ...pair, type, bits };
    }
    case 'ed25519': {
      if (bits !== 0) throw new Error('ed25519 keys have no size: key bits must be 0');
      const pair = await generate('ed25519');
      return { ...pair, type, bits: 0 };
    }
    default:
      throw new Error(`unsupported key type "${String(type)}": use rsa, ec or ed25519`);
  }
}

/** Type and size of a private or public key; throws for kinds the PKI engine does not use. */
export function keyInfo(key: KeyObject): { type: KeyType; bits: number } {
  if (key.type === 'secret') throw new Error('expected an asymmetric key, got a secret key');
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      if (details.modulusLength === undefined) throw new Error('RSA key without a modulus length');
      return { type: 'rsa', bits: details.modulusLength };
    }
    case 'ec': {
      const bits = details.namedCurve === undefined ? undefined : BITS_BY_CURVE.get(details.namedCurve);
      if (bits === undefined) throw new Error(`unsupported EC curve ${details.namedCurve ?? '(unnamed)'}`);
      return { type: 'ec', bits };
    }
    case 'ed25519':
      return { type: 'ed25519', bits: 0 };
    default:
      throw new Error(`unsupported key type ${key.asymmetricKeyType ?? '(unknown)'}`);
  }
}

/**
 * A private key as Vault returns it (`private_key_format`):
 * - 'pem' (default): RSA as PKCS#1 "RSA PRIVATE KEY", EC as SEC 1 "EC PRIVATE KEY" (like Go's
 *   MarshalPKCS1PrivateKey / MarshalECPrivateKey), Ed25519 as PKCS#8 "PRIVATE KEY";
 * - 'der': base64 of the same DER, without PEM armour;
 * - 'pkcs8': PKCS#8 "PRIVATE KEY" PEM for every type.
 * PEM output ends with a newline.
 */
export function privateKeyPem(key: KeyObject, format: 'pem' | 'pkcs8' | 'der' = 'pem'): string {
  if (key.type !== 'private') throw new Error('expected a private key');
  const { type } = keyInfo(key);
  if (format === 'pkcs8') return key.export({ type: 'pkcs8', format: 'pem' }).toString();
  const nativeType = type === 'rsa' ? 'pkcs1' : type === 'ec' ? 'sec1' : 'pkcs8';
  if (format === 'der') return key.export({ type: nativeType, format: 'der' }).toString('base64');
  if (format !== 'pem') throw new Error(`unsupported private key format "${String(format)}": use pem, der or pkcs8`);
  return key.export({ type: nativeType, format: 'pem' }).toString();
}
