/**
 * The policies of a new token where no role's allowed policies decide them (pure), following
 * Vault's handleCreateCommon (vault/token_store.go):
 * - none asked for: the parent's, `default` only if the parent has it;
 * - a caller without sudo on the create path: the asked-for policies must be a subset of the
 *   parent's (`default` included, as Vault compares them); `default` is added if the parent has it;
 * - a caller with sudo there (a root token has it everywhere): any policies, `default` added;
 * - `no_default_policy` removes `default` in every case.
 * Callers then refuse `root` unless the parent is root (sudo is not enough) and `response-wrapping`
 * always (`finalPolicyChecks`).
 */
import { RESPONSE_WRAPPING_POLICY } from '../../kernel/wrapping/response-wrapper';

/** A refused policy set; the handler answers 400 with the message. */
export class TokenPolicyError extends Error {}

export interface ChildPolicyRequest {
  /** Normalised names; undefined or empty: none asked for. */
  requested: string[] | undefined;
  parentPolicies: string[];
  /** The caller holds sudo on the create path (always true for a root token). */
  sudo: boolean;
  noDefault: boolean;
}

/** The policies before `default` is considered, and whether Vault's rules add it. */
export function unrestrictedPolicies(req: ChildPolicyRequest): { policies: string[]; addDefault: boolean } {
  if (req.requested === undefined || req.requested.length === 0) return { policies: [...req.parentPolicies], addDefault: false };
  const policies = [...new Set(req.requested)];
  if (req.sudo) return { policies, addDefault: !req.noDefault };
  const outside = policies.filter((p) => !req.parentPolicies.includes(p));
  if (outside.length) throw new TokenPolicyError(`child policies must be subset of parent (${outside.join(', ')} not held)`);
  return { policies, addDefault: !req.noDefault && req.parentPolicies.includes('default') };
}

/** Policies no token may be given: a forged response-wrapping token would pass for a real one. */
const NON_ASSIGNABLE = [RESPONSE_WRAPPING_POLICY];

/** Checks on the final set: no unassignable policy; `root` alone, and only from a root parent. */
export function finalPolicyChecks(policies: string[], parentPolicies: string[]): void {
  for (const p of policies) if (NON_ASSIGNABLE.includes(p)) throw new TokenPolicyError(`cannot assign policy ${JSON.stringify(p)}`);
  if (!policies.includes('root')) return;
  if (!parentPolicies.includes('root')) throw new TokenPolicyError('root tokens may not be created without parent token being root');
  if (policies.length > 1) throw new TokenPolicyError('the root policy cannot be combined with other policies');
}

/** The policies of a token created without a role (auth/token/create, create-orphan). */
export function childPolicies(req: ChildPolicyRequest): string[] {
  const { policies, addDefault } = unrestrictedPolicies(req);
  // The root policy stands alone: it is never given `default` beside it.
  if (addDefault && !policies.includes('root') && !policies.includes('default')) policies.push('default');
  const final = req.noDefault ? policies.filter((p) => p !== 'default') : policies;
  finalPolicyChecks(final, req.parentPolicies);
  if (final.length === 0) throw new TokenPolicyError('token must have at least one policy');
  return final;
}
