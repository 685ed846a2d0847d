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

/** The RFC 8785 form of a JSON value, as text. */
export function canonicalJsonText(value: unknown): string {
  const text = stringifyIsCanonical(value) ? JSON.stringify(value) : canonicalize(value);
  if (text === undefined) throw new TypeError('canonical JSON needs a JSON value');
  return text;
}

/**
 * The RFC 8785 form of an object whose members' forms are given where known (`known.get(v)` for a
 * member value `v`, by identity): two objects sharing members serialise them once. Falls back to
 * `canonicalJsonText` when the keys are not in canonical order or one starts with a digit (it may be
 * an array index, which JavaScript enumerates first).
 */
export function canonicalObjectText(value: Record<string, unknown>, known: ReadonlyMap<unknown, string>): string {
  let out = '{';
  let previous: string | undefined;
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === undefined) continue;
    if ((previous !== undefined && !(previous < key)) || (key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57)) return canonicalJsonText(value);
    out += `${previous === undefined ? '' : ','}${JSON.stringify(key)}:${known.get(v) ?? canonicalJsonText(v)}`;
    previous = key;
  }
  return out + '}';
}

export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(canonicalJsonText(value), 'utf8');
}
