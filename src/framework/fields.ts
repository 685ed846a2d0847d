/**
 * Typed field declarations for routes. The pipeline coerces declared fields (body for writes,
 * query string for reads, lists and deletes) into `ctx.data`, answers 400 with the field's name when
 * a value does not convert or is out of the field's range, and warns about fields the route does
 * not declare, as Vault does. The same declarations make the OpenAPI document.
 */
import { FieldError, INT4_MAX, INT4_MIN, toBool, toDurationSeconds, toInt, toStringList, toStringValue, type IntBounds } from './field-types';

export type FieldType = 'string' | 'int' | 'bool' | 'duration' | 'string-list' | 'int-list' | 'map' | 'string-map' | 'any';

export interface FieldSpec {
  type: FieldType;
  description: string;
  /** Read from the query string on read, list and delete. */
  query?: boolean;
  required?: boolean;
  /** Allowed values (strings). */
  allowed?: readonly string[];
  default?: unknown;
  /**
   * int and int-list: the smallest and largest value (default the int4 range, INT4_MIN..INT4_MAX);
   * duration: `max` is the longest, in seconds (default MAX_DURATION_SECONDS). Declare wider only
   * where storage and arithmetic hold it, narrower where the domain is (a port).
   */
  min?: number;
  max?: number;
  /**
   * Whitespace around the value is insignificant (an identifier the handler trims): it is removed
   * before the request is traced, so the audit log records the value acted on and whitespace
   * variants of one identifier hash alike.
   */
  trim?: boolean;
}

export type Fields = Record<string, FieldSpec>;

/** What coerceField makes of a value of each field type. */
interface CoercedValues {
  string: string;
  int: number;
  bool: boolean;
  /** Whole seconds. */
  duration: number;
  'string-list': string[];
  'int-list': number[];
  map: Record<string, unknown>;
  'string-map': Record<string, string>;
  any: unknown;
}

/** The value a field of this declaration holds in `ctx.data`: a string field with `allowed` holds one of them. */
export type FieldValue<S extends FieldSpec> = S extends { type: 'string'; allowed: readonly (infer A extends string)[] } ? A : CoercedValues[S['type']];

/** parseFields fills the field on every call: it has a default, or it is required and read from the body. */
type AlwaysPresent<S extends FieldSpec, FromQuery extends boolean> = S extends { default: NonNullable<unknown> }
  ? true
  : FromQuery extends false
    ? S extends { required: true }
      ? true
      : false
    : false;
/** parseFields may fill it: read from the body, every declared field; from the query string, only `query` fields. */
type MaybePresent<S extends FieldSpec, FromQuery extends boolean> = FromQuery extends false ? true : S extends { query: true } ? true : false;

/**
 * The shape of parseFields(fields, input, fromQuery).data: fields it always fills are required
 * keys, those it may fill are optional, and those it never fills (non-query fields on a read) are
 * absent. Declarations typed only as `Fields` (no literal types) give an open record.
 */
export type FieldData<F extends Fields, FromQuery extends boolean> = Flatten<
  { [K in keyof F as AlwaysPresent<F[K], FromQuery> extends true ? K : never]: FieldValue<F[K]> } & {
    [K in keyof F as AlwaysPresent<F[K], FromQuery> extends true ? never : MaybePresent<F[K], FromQuery> extends true ? K : never]?: FieldValue<F[K]>;
  }
>;
type Flatten<T> = { [K in keyof T]: T[K] };

/** `input` with the string values of `trim` fields trimmed (the same object when none needs it). */
export function withTrimmedFields(fields: Fields | undefined, input: Record<string, unknown>): Record<string, unknown> {
  if (!fields) return input;
  let out = input;
  for (const name in fields) {
    const value = input[name];
    if (!fields[name].trim || typeof value !== 'string' || value.trim() === value) continue;
    if (out === input) out = { ...input };
    out[name] = value.trim();
  }
  return out;
}

function toMap(name: string, value: unknown): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  if (typeof value === 'string' && value.trim().startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      /* fall through */
    }
  }
  throw new FieldError(`error converting input for field "${name}": expected a map`);
}

/** The range an int or int-list field's values must be in: its declared bounds, int4 where it declares none. */
export function intBounds(spec: FieldSpec): Required<IntBounds> {
  return { min: spec.min ?? INT4_MIN, max: spec.max ?? INT4_MAX };
}

export function coerceField(name: string, spec: FieldSpec, value: unknown): unknown {
  let out: unknown;
  switch (spec.type) {
    case 'string':
      out = toStringValue(name, value);
      break;
    case 'int':
      out = toInt(name, value, intBounds(spec));
      break;
    case 'bool':
      out = toBool(name, value);
      break;
    case 'duration':
      out = toDurationSeconds(name, value, spec.max);
      break;
    case 'string-list':
      out = toStringList(name, value);
      break;
    case 'int-list':
      out = (Array.isArray(value) ? value : toStringList(name, value)).map((v) => toInt(name, v, intBounds(spec)));
      break;
    case 'map':
      out = toMap(name, value);
      break;
    case 'string-map':
      out = Object.fromEntries(Object.entries(toMap(name, value)).map(([k, v]) => [k, toStringValue(`${name}.${k}`, v)]));
      break;
    case 'any':
      out = value;
      break;
  }
  if (spec.allowed && !spec.allowed.includes(out as string))
    throw new FieldError(`invalid value for field "${name}": must be one of ${spec.allowed.join(', ')}`);
  return out;
}

/** Coerces the declared fields present in `input`; returns the values and the names of undeclared ones. */
export function parseFields(fields: Fields, input: Record<string, unknown>, fromQuery: boolean): { data: Record<string, unknown>; unknown: string[] } {
  const data: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [name, value] of Object.entries(input)) {
    const spec = fields[name];
    if (!spec || (fromQuery && !spec.query)) {
      unknown.push(name);
      continue;
    }
    // An empty string means "not given" for every type but strings (Vault's framework reads "" as zero).
    if (value === undefined || value === null || (value === '' && spec.type !== 'string')) continue;
    data[name] = coerceField(name, spec, value);
  }
  for (const [name, spec] of Object.entries(fields)) {
    if (data[name] !== undefined) continue;
    if (spec.required && !fromQuery) throw new FieldError(`missing required field "${name}"`);
    if (spec.default !== undefined) data[name] = spec.default;
  }
  return { data, unknown };
}

/** Vault's warning for parameters a path does not declare. */
export function ignoredParametersWarning(names: string[]): string {
  return `Endpoint ignored these unrecognized parameters: [${names.join(' ')}]`;
}
