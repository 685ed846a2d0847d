/**
 * Token roles (pure): what a role stores and how it shapes a token created through
 * auth/token/create/:role_name, following Vault's token store.
 *
 * Invariants: with allowed policies (or globs) the token's policies must fall inside them, else
 * inside the parent's unless the caller holds sudo on the create path (a root token does), as
 * Vault's handleCreateCommon; a disallowed policy is always refused; a role can make orphans
 * without sudo; `root` and `response-wrapping` can never come from a role.
 */
import type { TokenSettings } from './token-fields';
import { finalPolicyChecks, TokenPolicyError, unrestrictedPolicies } from './token-policies';

export interface TokenRole extends TokenSettings {
  name: string;
  allowedPolicies: string[];
  disallowedPolicies: string[];
  allowedPoliciesGlob: string[];
  disallowedPoliciesGlob: string[];
  orphan: boolean;
  renewable: boolean;
  pathSuffix: string;
  allowedEntityAliases: string[];
}

export function defaultTokenRole(name: string): TokenRole {
  return {
    name,
    allowedPolicies: [],
    disallowedPolicies: [],
    allowedPoliciesGlob: [],
    disallowedPoliciesGlob: [],
    orphan: false,
    renewable: true,
    pathSuffix: '',
    allowedEntityAliases: [],
    tokenBoundCidrs: [],
    tokenExplicitMaxTtl: 0,
    tokenNoDefaultPolicy: false,
    tokenNumUses: 0,
    tokenPeriod: 0,
    tokenType: 'default-service',
  };
}

/** Vault's policy globs: `*` matches any run of characters. */
export function globMatch(glob: string, value: string): boolean {
  const re = new RegExp(
    `^${glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(value);
}

export class RoleRuleError extends TokenPolicyError {}

/**
 * The policies of a token created through `role`. `requested` undefined: none were asked for.
 * `noDefault`: the role's or the request's no_default_policy. `sudo`: the caller holds sudo on the
 * create path. Throws RoleRuleError (or TokenPolicyError) with Vault's words.
 */
export function rolePolicies(role: TokenRole, requested: string[] | undefined, parentPolicies: string[], noDefault: boolean, sudo = false): string[] {
  const restricted = role.allowedPolicies.length > 0 || role.allowedPoliciesGlob.length > 0;
  const hasDisallowed = role.disallowedPolicies.length > 0 || role.disallowedPoliciesGlob.length > 0;
  const defaultDisallowed = role.disallowedPolicies.includes('default') || role.disallowedPoliciesGlob.some((g) => globMatch(g, 'default'));
  let policies: string[];
  // Vault: a role with allowed or disallowed lists adds `default` unless it is disallowed; one
  // without lists follows the rules of a token created without a role.
  let addDefault = !noDefault && !defaultDisallowed;
  if (restricted) {
    policies = requested?.length ? requested : role.allowedPolicies.filter((p) => p !== 'default');
    const allowed = (p: string) => p === 'default' || role.allowedPolicies.includes(p) || role.allowedPoliciesGlob.some((g) => globMatch(g, p));
    const outside = policies.filter((p) => !allowed(p));
    if (outside.length)
      throw new RoleRuleError(
        `token policies (${JSON.stringify(policies)}) must be subset of the role's allowed policies (${JSON.stringify(role.allowedPolicies)})`,
      );
  } else {
    const unrestricted = unrestrictedPolicies({ requested, parentPolicies, sudo: sudo || parentPolicies.includes('root'), noDefault });
    policies = unrestricted.policies;
    if (!hasDisallowed) addDefault = unrestricted.addDefault;
  }
  policies = [...new Set(policies)];
  if (policies.includes('root')) throw new RoleRuleError('root tokens may not be created from a token role');
  for (const p of policies) {
    if (role.disallowedPolicies.includes(p) || role.disallowedPoliciesGlob.some((g) => globMatch(g, p)))
      throw new RoleRuleError(`token policy ${JSON.stringify(p)} is disallowed by this role`);
  }
  if (addDefault && !policies.includes('default')) policies.push('default');
  if (noDefault) policies = policies.filter((p) => p !== 'default');
  finalPolicyChecks(policies, parentPolicies);
  return policies;
}

/** The token type a role issues for a request asking for `requested` (`service`, `batch` or nothing). */
export function roleTokenType(role: TokenRole, requested: string | undefined): 'service' | 'batch' {
  const asked = requested === undefined || requested === '' || requested === 'default' ? undefined : requested;
  switch (role.tokenType) {
    case 'service':
    case 'batch':
      if (asked && asked !== role.tokenType) throw new RoleRuleError(`the role only issues ${role.tokenType} tokens`);
      return role.tokenType;
    case 'default-batch':
      return asked === 'service' ? 'service' : 'batch';
    default:
      return asked === 'batch' ? 'batch' : 'service';
  }
}
