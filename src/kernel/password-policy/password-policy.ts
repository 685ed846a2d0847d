/**
 * Vault's password policies: parsing (HCL or JSON) and generation. Pure: no I/O, no framework.
 *
 * Syntax (Vault's): `length = <4..100>` and one or more `rule "charset" { charset = "...";
 * min-chars = <n> }`. The password's alphabet is the union of every rule's charset; a rule with
 * `min-chars = n` requires at least n characters of the password to come from its charset.
 *
 * Generation is Vault's method, rejection sampling (docs/decisions.md): each candidate is `length`
 * characters drawn independently and uniformly from the alphabet with `crypto.randomInt`, and the
 * first candidate that satisfies every rule is returned. Invariants:
 * - The result is uniformly distributed over all strings of `length` alphabet characters that
 *   satisfy the rules (rejection sampling changes nothing else). A candidate is abandoned early
 *   only when its remaining positions can no longer meet some rule's shortfall; it would have been
 *   rejected anyway, so this saves draws without changing the distribution.
 * - Work is bounded: one password gets at most MAX_DRAWS_PER_PASSWORD random draws (plus one
 *   candidate); running out throws. Policies are accepted only if SAMPLE_PASSWORDS passwords fit
 *   in a quarter of that budget together, so an accepted policy's typical password costs at most
 *   1/40 of the budget and running out at generation time has probability around e^-40.
 * - Characters are Unicode code points (as Vault's runes), never UTF-16 halves; all printable.
 */
import { randomInt } from 'node:crypto';
import { parseBoundedDocumentSync, type DocumentLimits } from '../../config/bounded-document';
import { HclSyntaxError } from '../../config/hcl';

/** Vault's bounds on `length` (checked when a policy is written). */
export const MIN_PASSWORD_LENGTH = 4;
export const MAX_PASSWORD_LENGTH = 100;
/** Vault's bound on the alphabet (the union of the charsets). */
export const MAX_ALPHABET_SIZE = 256;
/** Random draws one password may use (about 60 ms of `randomInt` on a current core). */
export const MAX_DRAWS_PER_PASSWORD = 1_000_000;
/** Passwords generated when a policy is checked (Vault's number), within a quarter of one budget. */
export const SAMPLE_PASSWORDS = 10;
const SAMPLE_DRAWS = MAX_DRAWS_PER_PASSWORD / 4;

export interface CharsetRule {
  /** The rule's characters as written (code points, duplicates kept). */
  charset: string[];
  minChars: number;
}

export interface PasswordPolicy {
  length: number;
  rules: CharsetRule[];
  /** The union of the charsets: distinct code points in code point order; never empty. */
  alphabet: string[];
}

/** A policy that does not parse, is out of bounds, or cannot generate. The message is for the client. */
export class PasswordPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordPolicyError';
  }
}

/** A source of uniform integers in [0, max); `crypto.randomInt` unless a test injects one. */
export type RandomIndex = (max: number) => number;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const invalid = (detail: string) => new PasswordPolicyError(`invalid password policy: ${detail}`);

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** HCL gives `rule "charset" {...}` as `[{charset: [{...}]}]`; JSON may give objects instead of lists. */
function ruleEntries(value: unknown): [string, unknown][] {
  if (isObj(value)) return Object.entries(value);
  if (Array.isArray(value)) return value.flatMap(ruleEntries);
  throw invalid('"rule" must be a block');
}

/** Each object in a rule's body list is one rule (Vault silently keeps only the first; two rules are meant). */
function ruleBodies(type: string, value: unknown): Obj[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every(isObj)) throw invalid(`rule "${type}" must be a block`);
  return list as Obj[];
}

function nonNegativeInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalid(`${what} must be a whole number ≥ 0`);
  return value;
}

function charsetRule(body: Obj): CharsetRule {
  for (const key of Object.keys(body))
    if (key !== 'charset' && key !== 'min-chars') throw invalid(`rule "charset": unknown key "${key}" (expected charset, min-chars)`);
  if (typeof body.charset !== 'string' || body.charset === '') throw invalid('rule "charset": charset must be a non-empty string');
  const charset = Array.from(body.charset);
  if (!charset.every((c) => PRINTABLE.test(c))) throw invalid('rule "charset": non-printable character in charset');
  return { charset, minChars: body['min-chars'] === undefined ? 0 : nonNegativeInteger(body['min-chars'], 'rule "charset": min-chars') };
}

/**
 * Limits on a password policy's text, checked before parsing (docs/api.md). Real ones are a few
 * rules of at most 256 characters each; JSON with every block in a list nests 5 levels.
 */
export const PASSWORD_POLICY_DOCUMENT_LIMITS: DocumentLimits = { maxBytes: 64 * 1024, maxDepth: 16 };

/** The checks before parsing: not empty (the limits are the parser's caller's). */
export function checkPasswordPolicyText(text: string): void {
  if (typeof text !== 'string' || text.trim() === '') throw invalid('policy document is empty');
}

/** A syntax or limit error as this module reports it; anything else is the server's and stays as it is. */
export const passwordPolicyDecodeError = (err: unknown): Error =>
  err instanceof HclSyntaxError ? invalid(`unable to decode: ${err.message}`) : (err as Error);

/** Parses (on the calling thread) and checks a policy document; see passwordPolicyFromDocument. */
export function parsePasswordPolicy(text: string): PasswordPolicy {
  checkPasswordPolicyText(text);
  let doc: Obj;
  try {
    doc = parseBoundedDocumentSync(text, PASSWORD_POLICY_DOCUMENT_LIMITS);
  } catch (err) {
    throw passwordPolicyDecodeError(err);
  }
  return passwordPolicyFromDocument(doc);
}

/**
 * Checks a parsed policy document: known keys only, `length` within Vault's bounds, non-empty
 * printable charsets, an alphabet of at most 256 characters, and min-chars adding up to no more
 * than `length` (so some password satisfies every rule). Throws PasswordPolicyError.
 */
export function passwordPolicyFromDocument(doc: Obj): PasswordPolicy {
  for (const key of Object.keys(doc)) if (key !== 'length' && key !== 'rule') throw invalid(`unknown key "${key}" (expected length, rule)`);
  if (doc.length === undefined) throw invalid('length is required');
  const length = nonNegativeInteger(doc.length, 'length');
  const rules: CharsetRule[] = [];
  if (doc.rule !== undefined) {
    for (const [type, value] of ruleEntries(doc.rule)) {
      if (type !== 'charset') throw invalid(`unrecognized rule type "${type}"`);
      for (const body of ruleBodies(type, value)) rules.push(charsetRule(body));
    }
  }
  if (rules.length === 0) throw invalid('no charset specified');
  if (length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH)
    throw new PasswordPolicyError(`passwords must be between ${MIN_PASSWORD_LENGTH} and ${MAX_PASSWORD_LENGTH} characters`);
  const required = rules.reduce((sum, r) => sum + r.minChars, 0);
  if (required > length) throw invalid(`specified rules require at least ${required} characters but ${length} is specified`);
  const alphabet = [...new Set(rules.flatMap((r) => r.charset))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  if (alphabet.length > MAX_ALPHABET_SIZE) throw invalid(`charset is too long: limited to ${MAX_ALPHABET_SIZE} characters`);
  return { length, rules, alphabet };
}

/** Rules that constrain anything (min-chars > 0), and for each alphabet index the ones it counts for. */
interface Plan {
  minChars: number[];
  countsFor: number[][];
}

function planOf(policy: PasswordPolicy): Plan {
  const constraining = policy.rules.filter((r) => r.minChars > 0);
  const members = constraining.map((r) => new Set(r.charset));
  return {
    minChars: constraining.map((r) => r.minChars),
    countsFor: policy.alphabet.map((c) => members.flatMap((m, i) => (m.has(c) ? [i] : []))),
  };
}

/**
 * Draws candidates until one satisfies every rule or `budget` draws are spent (checked before
 * each candidate). Returns the password, or undefined when the budget ran out, and the draws used.
 */
function sample(policy: PasswordPolicy, plan: Plan, budget: number, random: RandomIndex): { password?: string; draws: number } {
  const { length, alphabet } = policy;
  const shortfall = new Array<number>(plan.minChars.length);
  let draws = 0;
  // A hand-built policy no candidate can pass would otherwise loop without drawing.
  if (alphabet.length === 0 || plan.minChars.some((m) => m > length)) return { draws };
  while (draws < budget) {
    for (let r = 0; r < shortfall.length; r++) shortfall[r] = plan.minChars[r];
    let worst = Math.max(0, ...shortfall);
    const out: string[] = [];
    // Invariant: `worst` is the largest shortfall; the candidate can still pass iff worst ≤ positions left.
    while (out.length < length && worst <= length - out.length) {
      const i = random(alphabet.length);
      draws++;
      out.push(alphabet[i]);
      let touched = false;
      for (const r of plan.countsFor[i]) {
        if (shortfall[r] > 0) {
          shortfall[r]--;
          touched = true;
        }
      }
      if (touched) worst = Math.max(0, ...shortfall);
    }
    if (out.length === length && worst === 0) return { password: out.join(''), draws };
  }
  return { draws };
}

/**
 * One password from a parsed policy, uniformly random among those that satisfy its rules. Throws
 * PasswordPolicyError if `maxDraws` random draws were not enough (improbable for a checked policy).
 */
export function generatePassword(policy: PasswordPolicy, options: { random?: RandomIndex; maxDraws?: number } = {}): string {
  const { password } = sample(policy, planOf(policy), options.maxDraws ?? MAX_DRAWS_PER_PASSWORD, options.random ?? randomInt);
  if (password === undefined) throw new PasswordPolicyError('failed to generate password from policy: too many attempts (is the policy too restrictive?)');
  return password;
}

/**
 * The write-time check (Vault generates passwords before saving a policy): SAMPLE_PASSWORDS
 * passwords must come out within a quarter of one password's budget, together. Throws
 * PasswordPolicyError with Vault's wording when none or only some did.
 */
export function checkPasswordPolicyGenerates(policy: PasswordPolicy, random: RandomIndex = randomInt): void {
  const plan = planOf(policy);
  let left = SAMPLE_DRAWS;
  let made = 0;
  while (made < SAMPLE_PASSWORDS && left > 0) {
    const { password, draws } = sample(policy, plan, left, random);
    left -= draws;
    if (password !== undefined) made++;
  }
  if (made === 0) throw new PasswordPolicyError('unable to generate password from provided policy: are the rules impossible?');
  if (made < SAMPLE_PASSWORDS) {
    throw new PasswordPolicyError(
      `failed to generate passwords ${SAMPLE_PASSWORDS - made} times out of ${SAMPLE_PASSWORDS} attempts - is the policy too restrictive?`,
    );
  }
}

/** True when `password` has the policy's length, only alphabet characters, and meets every rule. */
export function satisfiesPasswordPolicy(policy: PasswordPolicy, password: string): boolean {
  const chars = Array.from(password);
  if (chars.length !== policy.length) return false;
  const alphabet = new Set(policy.alphabet);
  if (!chars.every((c) => alphabet.has(c))) return false;
  return policy.rules.every((r) => {
    const set = new Set(r.charset);
    return chars.filter((c) => set.has(c)).length >= r.minChars;
  });
}
