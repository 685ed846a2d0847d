/**
 * Canonical JSON (RFC 8785, JCS) as UTF-8 bytes: the exact bytes the audit chain hashes and stores.
 * Keys sorted by UTF-16 code units, no whitespace, ECMAScript number and string forms; NaN and
 * Infinity are refused. Serialisation is the `canonicalize` package (the RFC's reference
 * implementation for JavaScript).
 */
import canonicalize from 'canonicalize';

export function canonicalJson(value: unknown): Buffer {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('canonical JSON needs a JSON value');
  return Buffer.from(text, 'utf8');
}
