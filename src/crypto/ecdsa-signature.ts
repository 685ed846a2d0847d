/**
 * ECDSA signature encodings: PKCS#11's CKM_ECDSA (and JOSE, and node's `dsaEncoding: 'ieee-p1363'`)
 * give `r ‖ s`, two big-endian integers of the curve's size each; X.509, CRLs, OCSP and node's
 * default encoding want the DER ECDSA-Sig-Value `SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 2.2.3).
 *
 * Invariants:
 * - the DER written is minimal: each INTEGER without redundant leading zero octets and with one 0x00
 *   before a set top bit (der.ts's positiveIntegerContent), so it is byte-identical to what
 *   OpenSSL writes for the same (r, s);
 * - both directions refuse what is not a valid signature shape (odd or empty raw input, r or s zero,
 *   negative, or wider than the curve, trailing bytes) with a DerError, never a silent truncation.
 */
import {
  DerError,
  TAG_INTEGER,
  TAG_SEQUENCE,
  childElements,
  derElement,
  derSequence,
  integerMagnitude,
  positiveIntegerContent,
  readSingleElement,
} from './x509/der';

/** `r ‖ s` (each half the same length) as a DER ECDSA-Sig-Value. */
export function ecdsaRawToDer(raw: Buffer): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new DerError(`an r‖s ECDSA signature has an even, nonzero length (got ${raw.length})`);
  const half = raw.length / 2;
  return derSequence([
    derElement(TAG_INTEGER, [positiveIntegerContent(raw.subarray(0, half))]),
    derElement(TAG_INTEGER, [positiveIntegerContent(raw.subarray(half))]),
  ]);
}

/** A DER ECDSA-Sig-Value as `r ‖ s`, each left-padded to `size` octets (the curve's byte length: 32, 48, 66). */
export function ecdsaDerToRaw(der: Buffer, size: number): Buffer {
  const parts = childElements(der, readSingleElement(der, TAG_SEQUENCE, 'ECDSA-Sig-Value'));
  if (parts.length !== 2) throw new DerError(`ECDSA-Sig-Value: expected 2 INTEGERs, got ${parts.length} elements`);
  const out = Buffer.alloc(2 * size);
  parts.forEach((part, i) => {
    const span = readSingleElement(part, TAG_INTEGER, 'ECDSA-Sig-Value');
    const magnitude = integerMagnitude(part.subarray(span.contentStart, span.end));
    if (magnitude.length > size) throw new DerError(`ECDSA-Sig-Value: an integer is wider than ${size} octets`);
    if (magnitude.every((octet) => octet === 0)) throw new DerError('ECDSA-Sig-Value: r and s must be positive');
    magnitude.copy(out, (i + 1) * size - magnitude.length);
  });
  return out;
}
