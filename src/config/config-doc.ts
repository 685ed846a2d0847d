/** Reading values out of a parsed configuration document (HCL or JSON), each failure a ConfigError naming the setting. */
import { ConfigError } from './config-error';

export type Doc = Record<string, unknown>;

/** HCL blocks come as `[{ label: [ { ...body } ] }]`; JSON configs may give `{ label: { ...body } }`. */
export function blocks(doc: Doc, name: string): { label: string; body: Doc }[] {
  const raw = doc[name];
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  const out: { label: string; body: Doc }[] = [];
  for (const item of list) {
    if (!item || typeof item !== 'object') throw new ConfigError(`${name}: expected a block`);
    for (const [label, value] of Object.entries(item as Doc)) {
      const bodies = Array.isArray(value) ? value : [value];
      for (const body of bodies) out.push({ label, body: (body ?? {}) as Doc });
    }
  }
  return out;
}

export function str(body: Doc, key: string, where: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ConfigError(`${where}.${key}: expected a string`);
}

export function bool(body: Doc, key: string, where: string, dflt: boolean): boolean {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1' || v === 1) return true;
  if (v === 'false' || v === '0' || v === 0) return false;
  throw new ConfigError(`${where}.${key}: expected true or false`);
}

export function int(body: Doc, key: string, where: string, dflt: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new ConfigError(`${where}.${key}: expected an integer ${max < Number.MAX_SAFE_INTEGER ? `from ${min} to ${max}` : `≥ ${min}`}`);
  return n;
}
