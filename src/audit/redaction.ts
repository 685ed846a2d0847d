/**
 * Redaction of audit entries by allow-list: an entry is built only from fields named in
 * audit-entry.ts; of those, the ones that may hold secrets (request and response data, tokens,
 * accessors, metadata values, wrapping tokens) pass through `redactValue`, which replaces every
 * string and number with its salted HMAC. Map keys, booleans and null stay clear. Numbers are hashed
 * too (Vault leaves them clear): a secret may be a number, and an allow-list leaks nothing by default.
 */
import { hmacSha256Hex } from '../crypto/hmac';

export const HMAC_PREFIX = 'hmac-sha256:';

export type Hasher = (value: string) => string;

/** `hmac-sha256:<hex>` of a value under a device's salt (what `sys/audit-hash/:path` returns). */
export function saltedHasher(salt: Buffer): Hasher {
  return (value) => HMAC_PREFIX + hmacSha256Hex(salt, value);
}

/** Values up to this length are hashed once per memoised hasher: versions, names and empty strings repeat across a batch's items. */
const MEMO_MAX_LENGTH = 64;

/** `hash`, remembering the HMACs of short values (for one render: the map is dropped with it). */
export function memoisedHasher(hash: Hasher): Hasher {
  const known = new Map<string, string>();
  return (value) => {
    if (value.length > MEMO_MAX_LENGTH) return hash(value);
    let hashed = known.get(value);
    if (hashed === undefined) {
      hashed = hash(value);
      known.set(value, hashed);
    }
    return hashed;
  };
}

/** A deep copy of `value` with every string and number replaced by its HMAC. */
export function redactValue(value: unknown, hash: Hasher, depth = 0): unknown {
  // Request bodies are depth-limited before parsing; handler output is ours. Beyond this, hide all.
  if (depth > 512) return hash(JSON.stringify(value) ?? '');
  if (typeof value === 'string') return hash(value);
  if (typeof value === 'number' || typeof value === 'bigint') return hash(String(value));
  if (value === null || typeof value === 'boolean' || value === undefined) return value ?? null;
  if (value instanceof Uint8Array) return hash(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'));
  if (Array.isArray(value)) return value.map((v) => redactValue(v, hash, depth + 1));
  if (value instanceof Date) return hash(value.toISOString());
  if (typeof value === 'object') {
    // Keys in order: the entry's canonical form is then plain JSON.stringify (crypto/canonical-json.ts).
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = redactValue((value as Record<string, unknown>)[k], hash, depth + 1);
    return out;
  }
  return hash(String(value));
}

/**
 * Redacts a data map; an absent map stays absent. `clearKeys` are top-level keys an operator chose
 * to keep in clear on the mount (Vault's audit_non_hmac_request_keys / audit_non_hmac_response_keys).
 */
export function redactData(
  data: Record<string, unknown> | null | undefined,
  hash: Hasher,
  clearKeys: readonly string[] = [],
): Record<string, unknown> | undefined {
  if (!data) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(data).sort()) out[k] = clearKeys.includes(k) ? data[k] : redactValue(data[k], hash, 1);
  return out;
}
