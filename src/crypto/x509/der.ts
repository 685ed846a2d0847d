/**
 * DER framing: wrapping already-encoded parts in a SEQUENCE or tag, and splitting an element into
 * its raw children.
 *
 * Every structure is encoded by @peculiar/asn1-schema; this file only glues parts that are already
 * DER (an issuer's Name copied byte for byte, node's SubjectPublicKeyInfo, a TBSCertificate and its
 * signature) and reads raw parts back out, which asn1-schema does not expose for nested elements.
 *
 * Invariants:
 * - lengths are written in the minimal definite form (short form below 128), as DER requires;
 * - the reader accepts definite lengths only, in minimal form, and never reads past the buffer:
 *   malformed input throws DerError rather than returning a truncated view.
 */

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_SEQUENCE = 0x30;
/** [0] constructed, context-specific: TBSCertificate's version, CertificationRequestInfo's attributes. */
export const TAG_CONTEXT_0_CONSTRUCTED = 0xa0;

function lengthOctets(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with a single-octet tag around the concatenation of `contents`. */
export function derElement(tag: number, contents: readonly Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), lengthOctets(body.length), body]);
}

export function derSequence(parts: readonly Buffer[]): Buffer {
  return derElement(TAG_SEQUENCE, parts);
}

/** A BIT STRING holding whole octets (no unused bits), as signatures are carried. */
export function derBitString(octets: Buffer): Buffer {
  return derElement(TAG_BIT_STRING, [Buffer.from([0]), octets]);
}

/**
 * The content octets of a positive INTEGER with magnitude `magnitude` (big-endian): leading zero
 * octets dropped, one 0x00 prepended when the top bit is set so the value does not read negative.
 */
export function positiveIntegerContent(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  if (start === magnitude.length) throw new DerError('integer must be positive (got zero)');
  const trimmed = magnitude.subarray(start);
  return trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : Buffer.from(trimmed);
}

/** The magnitude of a non-negative INTEGER's content octets (sign-padding 0x00 dropped). */
export function integerMagnitude(content: Buffer): Buffer {
  if (content.length > 0 && content[0] & 0x80) throw new DerError('integer is negative');
  let start = 0;
  while (start < content.length - 1 && content[start] === 0) start++;
  return Buffer.from(content.subarray(start));
}

export interface DerSpan {
  tag: number;
  /** Offset of the tag octet. */
  start: number;
  /** Offset of the first content octet. */
  contentStart: number;
  /** Offset just past the element. */
  end: number;
}

/** The element starting at `offset`, bounds-checked against `der`. Single-octet tags only. */
export function readElement(der: Buffer, offset = 0): DerSpan {
  if (offset + 2 > der.length) throw new DerError('truncated DER element');
  const tag = der[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-octet DER tags are not supported');
  let cursor = offset + 1;
  const first = der[cursor++];
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new DerError('indefinite length is not DER');
    if (count > 4) throw new DerError('DER length too large');
    if (cursor + count > der.length) throw new DerError('truncated DER length');
    if (der[cursor] === 0) throw new DerError('non-minimal DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[cursor++];
    if (length < 0x80) throw new DerError('non-minimal DER length');
  }
  const end = cursor + length;
  if (end > der.length) throw new DerError('truncated DER element');
  return { tag, start: offset, contentStart: cursor, end };
}

/** `der` must be exactly one element (no trailing bytes); returns its span. */
export function readSingleElement(der: Buffer, expectedTag: number, what: string): DerSpan {
  const span = readElement(der, 0);
  if (span.tag !== expectedTag) throw new DerError(`${what}: unexpected ASN.1 tag 0x${span.tag.toString(16)}`);
  if (span.end !== der.length) throw new DerError(`${what}: trailing data after the DER element`);
  return span;
}

/** The raw children (each a complete TLV, sharing memory with `der`) of the constructed element. */
export function childElements(der: Buffer, parent: DerSpan): Buffer[] {
  const children: Buffer[] = [];
  for (let offset = parent.contentStart; offset < parent.end;) {
    const child = readElement(der.subarray(0, parent.end), offset);
    children.push(der.subarray(child.start, child.end));
    offset = child.end;
  }
  return children;
}

/** ASN.1 string types a DER value may be read as text from (Go's asn1.Unmarshal into a string). */
const STRING_TAGS: Record<number, (content: Buffer) => string> = {
  0x0c: (c) => c.toString('utf8'), // UTF8String
  0x12: (c) => c.toString('latin1'), // NumericString
  0x13: (c) => c.toString('latin1'), // PrintableString
  0x14: (c) => c.toString('latin1'), // T61String
  0x16: (c) => c.toString('latin1'), // IA5String
  0x1e: (c) => Buffer.from(c).swap16().toString('utf16le'), // BMPString (UTF-16BE)
};

/** The text of a DER value that is exactly one ASN.1 string; undefined for anything else. */
export function derStringValue(der: Buffer): string | undefined {
  try {
    const span = readElement(der);
    const decode = STRING_TAGS[span.tag];
    if (!decode || span.end !== der.length) return undefined;
    const content = der.subarray(span.contentStart, span.end);
    if (span.tag === 0x1e && content.length % 2 !== 0) return undefined;
    return decode(content);
  } catch {
    return undefined;
  }
}
