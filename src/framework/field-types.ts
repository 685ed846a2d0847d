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

/**
 * PostgreSQL int4: the range of every int field that declares none. Counts, versions and seconds
 * are int4 columns, so a value accepted is a value storage holds (Vault takes Go ints, int64).
 */
export const INT4_MIN = -2_147_483_648;
export const INT4_MAX = 2_147_483_647;

/**
 * The longest duration a field takes unless it declares less: 2^31-1 seconds (596523h14m7s, about
 * 68 years), what an int4 seconds column holds; now plus it is a valid Date and timestamptz.
 * Vault's own limit is Go's time.Duration (2562047h47m16s); beyond that both refuse the text.
 */
export const MAX_DURATION_SECONDS = INT4_MAX;

/** Go's time.Duration in whole seconds (2^63-1 ns): longer is not a duration, for Vault or here. */
const GO_MAX_DURATION_SECONDS = 9_223_372_036;

export interface IntBounds {
  min?: number;
  max?: number;
}

const INT4_BOUNDS: IntBounds = { min: INT4_MIN, max: INT4_MAX };

/**
 * An integer field's value within `bounds` (default int4; never beyond ±(2^53-1), where a number
 * stops being exact). Out of range is a FieldError naming the field and the limit, never the value.
 */
export function toInt(name: string, value: unknown, bounds: IntBounds = INT4_BOUNDS): number {
  let n: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) n = value;
  else if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) n = Number(value);
  if (n === undefined) throw new FieldError(`error converting input for field "${name}": expected an integer`);
  const min = Math.max(bounds.min ?? -Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER);
  const max = Math.min(bounds.max ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (n < min) throw new FieldError(`invalid value for field "${name}": must be at least ${min}`);
  if (n > max) throw new FieldError(`invalid value for field "${name}": must be at most ${max}`);
  return n;
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

/**
 * Go-style durations ("1h30m", "768h", "90s") or plain seconds; returns whole seconds. Throws
 * FieldError('invalid duration') for anything else, negative values included, and for durations
 * longer than Go's time.Duration holds (Vault refuses those as invalid too), so the result is
 * always a finite number of seconds that can be added to a Date.
 */
export function parseDurationSeconds(input: string | number): number {
  const seconds = Math.floor(unboundedDurationSeconds(input));
  // The value is not echoed: a duration field may be sent a secret by mistake (errors reach logs).
  if (!(seconds <= GO_MAX_DURATION_SECONDS)) throw new FieldError('invalid duration');
  return seconds;
}

function unboundedDurationSeconds(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new FieldError('invalid duration');
    return input;
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
    if (!m) throw new FieldError('invalid duration');
    total += Number(m[1]) * UNIT_SECONDS[m[2]];
    index = re.lastIndex;
  }
  return total;
}

/** Seconds as Go prints a time.Duration: "0s", "1m30s", "768h0m0s". */
export function goDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * A duration field's value in whole seconds, at most `max` (default MAX_DURATION_SECONDS). Text
 * that is no duration, or one longer than Go's, is "expected a duration" as in Vault; a duration
 * Vault would take but this field does not names the field's limit. Neither echoes the value.
 */
export function toDurationSeconds(name: string, value: unknown, max = MAX_DURATION_SECONDS): number {
  let seconds: number | undefined;
  try {
    if (typeof value === 'number' || typeof value === 'string') seconds = parseDurationSeconds(value);
  } catch {
    /* fall through to the field error */
  }
  if (seconds === undefined) throw new FieldError(`error converting input for field "${name}": expected a duration`);
  if (seconds > max) throw new FieldError(`invalid value for field "${name}": must be at most ${goDuration(max)}`);
  return seconds;
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
