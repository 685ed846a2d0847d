/**
 * Password policies (Vault's `sys/policies/password`): documents checked on write, stored in
 * PostgreSQL, and passwords generated from them for the API and for engines
 * (`kernel.passwordPolicies.generate(name)`). Parsing and generation themselves are `password-policy.ts`.
 *
 * Invariants
 * - Only documents that parse and pass the generation check are stored; a stored document that no
 *   longer parses (a later, stricter parser) answers 500 rather than a password from a guess.
 * - Every generation reads the row (one primary-key SELECT), so a write or delete on any node
 *   takes effect at once everywhere; parsed documents are cached by their text, which can never
 *   be stale.
 * - Names are case-sensitive (as Vault's) and one path segment.
 */
import { ApiError, badRequest } from '../errors';
import { parseBoundedDocument } from '../../config/bounded-document';
import {
  checkPasswordPolicyGenerates,
  checkPasswordPolicyText,
  generatePassword,
  PASSWORD_POLICY_DOCUMENT_LIMITS,
  passwordPolicyDecodeError,
  passwordPolicyFromDocument,
  PasswordPolicyError,
  type PasswordPolicy,
} from './password-policy';
import type { PasswordPolicyRepository } from './password-policy.repository';

/** Parsed documents kept (first in, first out); parsing HCL costs milliseconds. */
const PARSED_CACHE_SIZE = 256;

/** As parsePasswordPolicy, for text from requests and storage: limits first, HCL parsed off the event loop. */
async function parsePasswordPolicyText(text: string): Promise<PasswordPolicy> {
  checkPasswordPolicyText(text);
  let doc: Record<string, unknown>;
  try {
    doc = await parseBoundedDocument(text, PASSWORD_POLICY_DOCUMENT_LIMITS);
  } catch (err) {
    throw passwordPolicyDecodeError(err);
  }
  return passwordPolicyFromDocument(doc);
}

function checkName(name: string): void {
  if (name === '') throw badRequest('missing policy name');
  if (name.includes('/')) throw badRequest('password policy names cannot contain "/"');
}

export class PasswordPolicies {
  private readonly parsed = new Map<string, PasswordPolicy>();

  constructor(private readonly repository: PasswordPolicyRepository) {}

  /** Checks and stores a policy document. Bad documents → 400 with the parser's or the generation check's message. */
  async put(name: string, text: string): Promise<void> {
    checkName(name);
    if (text === '') throw badRequest('missing policy');
    try {
      checkPasswordPolicyGenerates(await parsePasswordPolicyText(text));
    } catch (err) {
      if (err instanceof PasswordPolicyError) throw badRequest(err.message);
      throw err;
    }
    await this.repository.upsert(name, text);
  }

  /** The document as written, or undefined. */
  async read(name: string): Promise<string | undefined> {
    checkName(name);
    return this.repository.get(name);
  }

  async list(): Promise<string[]> {
    return this.repository.names();
  }

  /** Deleting a policy that does not exist is not an error (Vault's). Engines naming it fail at their next generation. */
  async delete(name: string): Promise<void> {
    checkName(name);
    await this.repository.delete(name);
  }

  /**
   * A password from the named policy, for engines. Unknown policy → 400 `no password policy
   * found` (Vault's message); a stored policy that does not parse or run out of draws → 500.
   */
  async generate(name: string): Promise<string> {
    if (name === '') throw badRequest('missing password policy name');
    const password = await this.tryGenerate(name);
    if (password === undefined) throw badRequest(`no password policy found (${JSON.stringify(name)})`);
    return password;
  }

  /** As generate, but undefined for an unknown policy (the API answers that with a 404). */
  async tryGenerate(name: string): Promise<string | undefined> {
    checkName(name);
    const text = await this.repository.get(name);
    if (text === undefined) return undefined;
    const policy = await this.parse(text);
    try {
      return generatePassword(policy);
    } catch (err) {
      if (err instanceof PasswordPolicyError) throw new ApiError(500, [err.message]);
      throw err;
    }
  }

  private async parse(text: string): Promise<PasswordPolicy> {
    const cached = this.parsed.get(text);
    if (cached) return cached;
    let policy: PasswordPolicy;
    try {
      policy = await parsePasswordPolicyText(text);
    } catch (err) {
      if (err instanceof PasswordPolicyError) throw new ApiError(500, ['stored password policy configuration failed to parse']);
      throw err;
    }
    if (this.parsed.size >= PARSED_CACHE_SIZE) this.parsed.delete(this.parsed.keys().next().value as string);
    this.parsed.set(text, policy);
    return policy;
  }
}
