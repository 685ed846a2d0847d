/**
 * Parses a policy document (HCL v1 or JSON) into path rules, with Vault's validation messages.
 * SecretHub extension: `conditions { source_cidrs, hours_utc, max_ttl }` per path (docs/policies.md).
 */
import { parseBoundedDocument, parseBoundedDocumentSync, type DocumentLimits } from '../../config/bounded-document';
import { HclSyntaxError } from '../../config/hcl';
import { parseDurationSeconds } from '../../framework/field-types';
import { isValidCidr } from '../cidr';

export const CAPABILITIES = ['deny', 'create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'subscribe', 'recover'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface PathConditions {
  /** Source address must be in one of these CIDRs. */
  sourceCidrs?: string[];
  /** UTC hours window "HH-HH" (start inclusive, end exclusive; may wrap past midnight). */
  hoursUtc?: { from: number; to: number; text: string };
  /** A requested `ttl` / `increment` must not exceed this many seconds. */
  maxTtlSeconds?: number;
}

export interface PathRule {
  pattern: string;
  capabilities: Capability[];
  allowedParameters?: Record<string, unknown[]>;
  deniedParameters?: Record<string, unknown[]>;
  requiredParameters: string[];
  minWrappingTtl: number;
  maxWrappingTtl: number;
  conditions?: PathConditions;
}

export interface ParsedPolicy {
  rules: PathRule[];
}

export class PolicyParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyParseError';
  }
}

const PATH_KEYS = new Set([
  'comment',
  'policy',
  'capabilities',
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'conditions',
  'mfa_methods',
]);
const LEGACY_POLICY: Record<string, Capability[]> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** HCL1 gives blocks and maps as lists of objects; JSON gives plain objects. Flatten either into entries. */
function entries(value: unknown, where: string): [string, unknown][] {
  if (isObj(value)) return Object.entries(value);
  if (Array.isArray(value)) return value.flatMap((v) => entries(v, where));
  throw new PolicyParseError(`${where}: expected an object`);
}

/** A block body: HCL1 gives `[ {...} ]`, JSON `{...}`. Several bodies for one key are merged. */
function body(value: unknown, where: string): Obj {
  if (isObj(value)) return value;
  if (Array.isArray(value) && value.every(isObj)) return Object.assign({}, ...value);
  throw new PolicyParseError(`${where}: expected a block`);
}

function stringList(value: unknown, where: string): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw new PolicyParseError(`${where}: expected a list of strings`);
}

function parameterMap(value: unknown, where: string): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = Object.create(null);
  for (const [k, v] of entries(value, where)) {
    const key = k.toLowerCase();
    const list = v === null || v === undefined ? [] : Array.isArray(v) ? v : [v];
    out[key] = out[key] && (out[key].length === 0 || list.length === 0) ? [] : [...(out[key] ?? []), ...list];
  }
  return out;
}

function duration(value: unknown, where: string): number {
  try {
    if (typeof value === 'number' || typeof value === 'string') return parseDurationSeconds(value);
  } catch {
    /* fall through */
  }
  throw new PolicyParseError(`${where}: invalid duration`);
}

function parseCidr(text: string, where: string): string {
  if (!isValidCidr(text)) throw new PolicyParseError(`${where}: invalid CIDR`);
  return text.trim();
}

function conditionsFrom(value: unknown, where: string): PathConditions {
  const c = body(value, where);
  const out: PathConditions = {};
  for (const [k, v] of Object.entries(c)) {
    if (k === 'source_cidrs') out.sourceCidrs = stringList(v, `${where}.source_cidrs`).map((s) => parseCidr(s, `${where}.source_cidrs`));
    else if (k === 'hours_utc') {
      const m = typeof v === 'string' ? /^(\d{1,2})-(\d{1,2})$/.exec(v.trim()) : null;
      if (!m || Number(m[1]) > 24 || Number(m[2]) > 24 || m[1] === m[2])
        throw new PolicyParseError(`${where}.hours_utc: expected "HH-HH" with two different hours 0-24`);
      out.hoursUtc = { from: Number(m[1]), to: Number(m[2]), text: String(v).trim() };
    } else if (k === 'max_ttl') out.maxTtlSeconds = duration(v, `${where}.max_ttl`);
    else throw new PolicyParseError(`${where}: invalid key "${k}"`);
  }
  return out;
}

function ruleFrom(pattern: string, raw: Obj): PathRule {
  const where = `path "${pattern}"`;
  for (const key of Object.keys(raw)) if (!PATH_KEYS.has(key)) throw new PolicyParseError(`${where}: invalid key "${key}"`);
  const path = pattern.startsWith('/') ? pattern.slice(1) : pattern;
  if (path.includes('+*')) throw new PolicyParseError(`${where}: invalid use of wildcards ('+*' is forbidden)`);
  const caps = new Set<Capability>();
  if (raw.policy !== undefined) {
    const legacy = typeof raw.policy === 'string' ? LEGACY_POLICY[raw.policy] : undefined;
    if (!legacy) throw new PolicyParseError(`${where}: invalid policy (expected deny, read, write or sudo)`);
    legacy.forEach((c) => caps.add(c));
  }
  if (raw.capabilities !== undefined) {
    for (const c of stringList(raw.capabilities, `${where}.capabilities`)) {
      // Values are not echoed (errors reach logs and audit entries); keys are structure and are.
      if (!(CAPABILITIES as readonly string[]).includes(c))
        throw new PolicyParseError(`${where}: invalid capability (expected one of ${CAPABILITIES.join(', ')})`);
      caps.add(c as Capability);
    }
  }
  const rule: PathRule = {
    pattern: path,
    capabilities: caps.has('deny') ? ['deny'] : [...caps],
    requiredParameters:
      raw.required_parameters === undefined ? [] : stringList(raw.required_parameters, `${where}.required_parameters`).map((p) => p.toLowerCase()),
    minWrappingTtl: raw.min_wrapping_ttl === undefined ? 0 : duration(raw.min_wrapping_ttl, `${where}.min_wrapping_ttl`),
    maxWrappingTtl: raw.max_wrapping_ttl === undefined ? 0 : duration(raw.max_wrapping_ttl, `${where}.max_wrapping_ttl`),
  };
  if (!caps.has('deny')) {
    if (raw.allowed_parameters !== undefined) rule.allowedParameters = parameterMap(raw.allowed_parameters, `${where}.allowed_parameters`);
    if (raw.denied_parameters !== undefined) rule.deniedParameters = parameterMap(raw.denied_parameters, `${where}.denied_parameters`);
  }
  if (rule.minWrappingTtl && rule.maxWrappingTtl && rule.minWrappingTtl > rule.maxWrappingTtl) {
    throw new PolicyParseError(`${where}: max_wrapping_ttl cannot be less than min_wrapping_ttl`);
  }
  if (raw.conditions !== undefined) {
    if (caps.has('deny')) throw new PolicyParseError(`${where}: conditions cannot be combined with deny`);
    rule.conditions = conditionsFrom(raw.conditions, `${where}.conditions`);
  }
  return rule;
}

/**
 * Limits on a policy's text (docs/policies.md). Vault has none; real policies are flat: HCL nests
 * 4 levels (`path "p" {` counts 2, then a map and a list), JSON at most 8 (every block in a list).
 * 128 KiB is ~1,300 path blocks; it keeps the main thread's share of the worst HCL of that size
 * (building ~65,000 tiny objects from the parser thread's output) within tens of milliseconds.
 */
export const POLICY_DOCUMENT_LIMITS: DocumentLimits = { maxBytes: 128 * 1024, maxDepth: 16 };

function checkText(text: string): void {
  if (typeof text !== 'string' || text.trim() === '') throw new PolicyParseError('policy document is empty');
}

/** Syntax and limit errors are the client's (400); anything else is the server's. */
function parseFailure(err: unknown): Error {
  return err instanceof HclSyntaxError ? new PolicyParseError(`failed to parse policy: ${err.message}`) : (err as Error);
}

/** Parses on the calling thread: for trusted or small text (the default policy, the CLI, tests). */
export function parsePolicy(text: string): ParsedPolicy {
  checkText(text);
  let doc: Obj;
  try {
    doc = parseBoundedDocumentSync(text, POLICY_DOCUMENT_LIMITS);
  } catch (err) {
    throw parseFailure(err);
  }
  return policyFromDocument(doc);
}

/** As parsePolicy, for text from requests: HCL is parsed off the event loop. */
export async function parsePolicyText(text: string): Promise<ParsedPolicy> {
  checkText(text);
  let doc: Obj;
  try {
    doc = await parseBoundedDocument(text, POLICY_DOCUMENT_LIMITS);
  } catch (err) {
    throw parseFailure(err);
  }
  return policyFromDocument(doc);
}

function policyFromDocument(doc: Obj): ParsedPolicy {
  for (const key of Object.keys(doc))
    if (key !== 'name' && key !== 'path') throw new PolicyParseError(`failed to parse policy: invalid key "${key}" on line 1`);
  const rules: PathRule[] = [];
  if (doc.path !== undefined) {
    for (const [pattern, raw] of entries(doc.path, 'path')) rules.push(ruleFrom(pattern, body(raw, `path "${pattern}"`)));
  }
  return { rules };
}

/** Vault's normalisation of policy names: trimmed and lower-cased, before any check. */
export function normalisePolicyName(name: string): string {
  return name.trim().toLowerCase();
}
