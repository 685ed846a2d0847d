/**
 * What PostgreSQL refuses in `text` and `jsonb`, made storable: the NUL character (in both) and
 * UTF-16 surrogates without their pair (`jsonb` refuses their `\uXXXX` escapes; `text` would get
 * U+FFFD from the UTF-8 encoder). Such characters are accepted in request bodies, query parameters
 * and map keys, and reach audit entries in clear (map keys are not hashed).
 *
 * Invariants:
 * - only the queryable projection (`event_data`) and the text columns of an audit row pass through
 *   here; the entry's canonical bytes (`entry_bytes`, what the chain hashes) are never changed;
 * - each refused code unit becomes the six characters of its JSON escape (`\u0000`, `\ud800`), so a
 *   reader of the projection sees which character it was;
 * - text without such characters is returned as it is (the common case costs one scan).
 */

/** NUL, or a surrogate not part of a pair. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g; // eslint-disable-line no-control-regex

const escaped = (unit: string) => '\\u' + unit.charCodeAt(0).toString(16).padStart(4, '0');

/** `text` with NUL and lone surrogates written as their escapes. */
export function storableText(text: string): string {
  UNSTORABLE.lastIndex = 0;
  return UNSTORABLE.test(text) ? text.replace(UNSTORABLE, escaped) : text;
}

export function storableNullableText(text: string | null): string | null {
  return text === null ? null : storableText(text);
}

function storableValue(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[storableText(k)] = storableValue(v);
    return out;
  }
  return value;
}

/**
 * JSON text of `value` that `jsonb` accepts. JSON.stringify writes NUL as `\u0000` and a lone
 * surrogate as its lowercase escape; only when the text holds one of those (or an escaped backslash
 * followed by such letters, which is harmless to redo) is the value rewritten.
 */
export function jsonbText(value: unknown): string {
  const text = JSON.stringify(value);
  return /\\u(0000|d[89a-f])/.test(text) ? JSON.stringify(storableValue(value)) : text;
}
