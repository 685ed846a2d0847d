/**
 * Lenient field coercion, as Vault's framework does it: clients send "3" for 3, "true" for true,
 * "a,b" for ["a","b"] and "30m" for 1800 seconds. Each function throws FieldError with a message
 * naming the field; callers turn it into a 400.
 */
export class FieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldError';
  }
}

export function toInt(name: string, value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  throw new FieldError(`error converting input for field "${name}": expected an integer`);
}

export function toBool(name: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && (value === 0 || value === 1)) return value === 1;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['true', '1', 't'].includes(v)) return true;
    if (['false', '0', 'f', ''].includes(v)) return false;
  }
  throw new FieldError(`error converting input for field "${name}": expected a boolean`);
}

export function toStringValue(name: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new FieldError(`error converting input for field "${name}": expected a string`);
}

export function toStringList(name: string, value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => toStringValue(name, v));
  if (typeof value === 'string') return value === '' ? [] : value.split(',').map((s) => s.trim());
  throw new FieldError(`error converting input for field "${name}": expected a list of strings`);
}

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 };

/** Go-style durations ("1h30m", "768h", "90s") or plain seconds; returns whole seconds. */
export function parseDurationSeconds(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new FieldError('invalid duration');
    return Math.floor(input);
  }
  const text = input.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (text === '') throw new FieldError('invalid duration');
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    re.lastIndex = index;
    const m = re.exec(text);
    // The value is not echoed: a duration field may be sent a secret by mistake (errors reach logs).
    if (!m) throw new FieldError('invalid duration');
    total += Number(m[1]) * UNIT_SECONDS[m[2]];
    index = re.lastIndex;
  }
  return Math.floor(total);
}

export function toDurationSeconds(name: string, value: unknown): number {
  try {
    if (typeof value === 'number' || typeof value === 'string') return parseDurationSeconds(value);
  } catch {
    /* fall through to the field error */
  }
  throw new FieldError(`error converting input for field "${name}": expected a duration`);
}

/**
 * Go's encoding/json matches struct fields case-insensitively; Vault's raw sys handlers
 * (init, unseal, rekey) decode into structs, so `Key` and `KEY` work there. Exact match wins.
 */
export function pickCaseInsensitive(body: Record<string, unknown>, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(body, name)) return body[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(body)) if (k.toLowerCase() === lower) return body[k];
  return undefined;
}
