/** Pure value helpers for KV v2: JSON merge patch (RFC 7396), subkeys, Go duration strings. */

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7396: objects merge recursively, null removes a key, anything else replaces. */
export function mergePatch(target: Record<string, Json>, patch: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (isObject(v)) out[k] = mergePatch(isObject(out[k]) ? (out[k] as Record<string, Json>) : {}, v);
    else out[k] = v;
  }
  return out;
}

/** The keys of `value` with leaves (and anything below `depth`) replaced by null; depth 0: unlimited. */
export function subkeys(value: Record<string, Json>, depth: number, level = 1): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isObject(v) && (depth === 0 || level < depth) ? subkeys(v, depth, level + 1) : null;
  return out;
}

/** Go duration strings are the framework's (the inverse of its duration parsing). */
export { goDuration } from '../../framework/field-types';
