/**
 * Canonical JSON (RFC 8785, JCS) as UTF-8 bytes: the exact bytes the audit chain hashes and stores.
 * Keys sorted by UTF-16 code units, no whitespace, ECMAScript number and string forms; NaN and
 * Infinity are refused. Serialisation is the `canonicalize` package (the RFC's reference
 * implementation for JavaScript), except for values whose `JSON.stringify` form already is the
 * canonical one (checked below): then the native serialiser writes the same bytes, faster. Audit
 * entries are built with their keys in order so that they take that path.
 */
import canonicalize from 'canonicalize';

/** An array index as a property key: JavaScript enumerates these first, in numeric order, whatever their insertion order. */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/**
 * True when JSON.stringify(value) is the RFC 8785 form: only plain data, finite numbers, and every
 * object's keys enumerated in strictly ascending UTF-16 order with none that JavaScript would
 * reorder (array indices). Then both serialisers emit the same strings, numbers and literals.
 */
function stringifyIsCanonical(value: unknown): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (Array.isArray(value)) return value.every((v) => v === undefined || stringifyIsCanonical(v));
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
      let previous: string | undefined;
      for (const key of Object.keys(value)) {
        if (previous !== undefined && !(previous < key)) return false;
        // Only keys starting with a digit can be array indices (the regex is the cost of this walk).
        const first = key.charCodeAt(0);
        if (first >= 48 && first <= 57 && ARRAY_INDEX.test(key)) return false;
        const v = (value as Record<string, unknown>)[key];
        if (v !== undefined && !stringifyIsCanonical(v)) return false;
        previous = key;
      }
      return true;
    }
    default:
      return false;
  }
}

export function canonicalJson(value: unknown): Buffer {
  const text = stringifyIsCanonical(value) ? JSON.stringify(value) : canonicalize(value);
  if (text === undefined) throw new TypeError('canonical JSON needs a JSON value');
  return Buffer.from(text, 'utf8');
}
