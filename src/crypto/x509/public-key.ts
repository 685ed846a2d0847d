/**
 * A public key's SubjectPublicKeyInfo DER and its subjectPublicKey bits.
 *
 * node's `export({ type: 'spki' })` goes through OpenSSL 3's encoder lookup and costs about 170 µs
 * a key here, more than signing a certificate; the same bytes are built from the JWK (EC, Ed25519)
 * or PKCS#1 (RSA) export in 5-60 µs. The AlgorithmIdentifiers are encoded once by asn1-schema.
 *
 * Invariants:
 * - the DER is byte-for-byte what `export({ type: 'spki', format: 'der' })` returns (named curve,
 *   uncompressed point; rsaEncryption with NULL parameters; Ed25519 without parameters) — the
 *   tests compare the two for every supported key kind;
 * - other key kinds fall back to node's export, so the answer is always the key's SPKI.
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { AsnConvert, AsnObjectIdentifierConverter } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { TAG_BIT_STRING, TAG_SEQUENCE, childElements, derBitString, derSequence, readElement, readSingleElement } from './der';

const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_ED25519 = '1.3.101.112';

/**
 * JWK curve name -> (named curve OID, coordinate octets). node exports no P-224 JWK, so P-224
 * keys take node's SPKI export; reading `asymmetricKeyDetails` instead of the JWK's `crv` would
 * cost another 50 µs on a fresh key.
 */
const EC_CURVES: ReadonlyMap<string, { oid: string; coordinateBytes: number }> = new Map([
  ['P-256', { oid: '1.2.840.10045.3.1.7', coordinateBytes: 32 }],
  ['P-384', { oid: '1.3.132.0.34', coordinateBytes: 48 }],
  ['P-521', { oid: '1.3.132.0.35', coordinateBytes: 66 }],
]);

function algorithmIdentifierDer(algorithm: string, parameters?: ArrayBuffer | null): Buffer {
  return Buffer.from(AsnConvert.serialize(new AlgorithmIdentifier({ algorithm, parameters })));
}

/** An OBJECT IDENTIFIER's DER (the parameters of id-ecPublicKey). */
function objectIdentifierDer(oid: string): ArrayBuffer {
  return AsnObjectIdentifierConverter.toASN(oid).toBER(false);
}

const RSA_ALGORITHM_DER = algorithmIdentifierDer(OID_RSA_ENCRYPTION, null);
const ED25519_ALGORITHM_DER = algorithmIdentifierDer(OID_ED25519);
const EC_ALGORITHM_DER = new Map([...EC_CURVES].map(([curve, { oid }]) => [curve, algorithmIdentifierDer(OID_EC_PUBLIC_KEY, objectIdentifierDer(oid))]));

export interface SubjectPublicKey {
  /** The SubjectPublicKeyInfo DER. */
  spkiDer: Buffer;
  /** The subjectPublicKey BIT STRING's bits (what RFC 5280 method 1 hashes for the SKI). */
  keyBits: Buffer;
}

function fixedLength(base64url: string | undefined, bytes: number): Buffer {
  const value = Buffer.from(base64url ?? '', 'base64url');
  if (value.length > bytes) throw new Error('EC coordinate longer than its curve');
  return value.length === bytes ? value : Buffer.concat([Buffer.alloc(bytes - value.length), value]);
}

function fromNodeExport(publicKey: KeyObject): SubjectPublicKey {
  const spkiDer = publicKey.export({ type: 'spki', format: 'der' });
  const [, bitString] = childElements(spkiDer, readSingleElement(spkiDer, TAG_SEQUENCE, 'SubjectPublicKeyInfo'));
  const span = readElement(bitString);
  if (span.tag !== TAG_BIT_STRING) throw new Error('SubjectPublicKeyInfo: subjectPublicKey is not a BIT STRING');
  return { spkiDer, keyBits: bitString.subarray(span.contentStart + 1, span.end) };
}

/** The SPKI of a public key. */
export function subjectPublicKeyOf(publicKey: KeyObject): SubjectPublicKey {
  if (publicKey.type !== 'public') throw new Error('expected a public key');
  let algorithmDer: Buffer | undefined;
  let keyBits: Buffer | undefined;
  switch (publicKey.asymmetricKeyType) {
    case 'rsa':
      algorithmDer = RSA_ALGORITHM_DER;
      keyBits = publicKey.export({ type: 'pkcs1', format: 'der' });
      break;
    case 'ed25519':
      algorithmDer = ED25519_ALGORITHM_DER;
      keyBits = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
      break;
    case 'ec': {
      let jwk: JsonWebKey;
      try {
        jwk = publicKey.export({ format: 'jwk' });
      } catch {
        return fromNodeExport(publicKey);
      }
      const curve = EC_CURVES.get(jwk.crv ?? '');
      algorithmDer = EC_ALGORITHM_DER.get(jwk.crv ?? '');
      if (curve === undefined || algorithmDer === undefined) return fromNodeExport(publicKey);
      const x = fixedLength(jwk.x, curve.coordinateBytes);
      const y = fixedLength(jwk.y, curve.coordinateBytes);
      keyBits = Buffer.concat([Buffer.from([0x04]), x, y]);
      break;
    }
    default:
      return fromNodeExport(publicKey);
  }
  return { spkiDer: derSequence([algorithmDer, derBitString(keyBits)]), keyBits };
}
