/**
 * AppRole roles (pure): what a role stores, how a write changes it, Vault's read shape, and how a
 * secret ID's TTL, uses and CIDRs are bounded by its role.
 *
 * Invariants: a role always has at least one login constraint (bind_secret_id, or CIDRs); its
 * policies never include `root` (auth methods cannot make root tokens); a secret ID never has
 * more uses, a longer TTL or wider CIDRs than its role allows.
 */
import type { FieldData, Fields } from '../../framework/fields';
import { cidrWithin, isValidCidr } from '../../kernel/cidr';
import { badRequest } from '../../kernel/errors';
import { normaliseRequestedPolicies } from '../../shared/token/token-create';
import { applyTokenSettings, TOKEN_SETTING_FIELDS, tokenSettingsOutput, type TokenSettings, type TokenTypeSetting } from '../../shared/token/token-fields';

export interface AppRole extends TokenSettings {
  name: string;
  roleId: string;
  bindSecretId: boolean;
  secretIdBoundCidrs: string[];
  secretIdNumUses: number;
  /** Seconds; 0: secret IDs do not expire. */
  secretIdTtl: number;
  tokenPolicies: string[];
  tokenTtl: number;
  tokenMaxTtl: number;
}

export function defaultAppRole(name: string, roleId: string): AppRole {
  return {
    name,
    roleId,
    bindSecretId: true,
    secretIdBoundCidrs: [],
    secretIdNumUses: 0,
    secretIdTtl: 0,
    tokenPolicies: [],
    tokenTtl: 0,
    tokenMaxTtl: 0,
    tokenBoundCidrs: [],
    tokenExplicitMaxTtl: 0,
    tokenNoDefaultPolicy: false,
    tokenNumUses: 0,
    tokenPeriod: 0,
    tokenType: 'default',
  };
}

export const ROLE_FIELDS = {
  role_id: { type: 'string', description: 'A chosen role ID (default: a random UUID).' },
  bind_secret_id: { type: 'bool', description: 'Require a secret ID at login (default true).' },
  secret_id_bound_cidrs: { type: 'string-list', description: 'CIDRs logins with this role may come from.' },
  bound_cidr_list: { type: 'string-list', description: 'Deprecated alias of secret_id_bound_cidrs.' },
  secret_id_num_uses: { type: 'int', description: 'Logins per secret ID (0: unlimited).' },
  secret_id_ttl: { type: 'duration', description: 'Lifetime of secret IDs (0: no expiry).' },
  local_secret_ids: { type: 'bool', description: 'Accepted for compatibility; secret IDs are always shared by the cluster.' },
  token_policies: { type: 'string-list', description: 'Policies of the tokens issued.' },
  policies: { type: 'string-list', description: 'Deprecated alias of token_policies.' },
  token_ttl: { type: 'duration', description: 'TTL of the tokens issued (0: the mount default).' },
  token_max_ttl: { type: 'duration', description: 'Max TTL of the tokens issued (0: the mount max).' },
  ...TOKEN_SETTING_FIELDS,
} as const satisfies Fields;

/** Role names are case-insensitive, as Vault's (stored lower case). */
export function normaliseRoleName(raw: string): string {
  const name = raw.trim().toLowerCase();
  if (!/^\w(?:[\w.@-]*\w)?$/.test(name)) throw badRequest('invalid role name');
  return name;
}

function cidrList(values: string[], field: string): string[] {
  const out = values.map((c) => c.trim()).filter((c) => c !== '');
  for (const c of out) if (!isValidCidr(c)) throw badRequest(`invalid CIDR in ${field}`);
  return out;
}

/** A role write's fields, as the pipeline coerces them. */
export type RoleFieldData = FieldData<typeof ROLE_FIELDS, false>;

/** Applies the fields of a role write (coerced by ROLE_FIELDS) over `role`: a write changes only what it names. */
export function applyRoleFields(role: AppRole, d: RoleFieldData): AppRole {
  const next: AppRole = { ...role };
  // An empty role_id keeps the current one (a new role's is random).
  if (typeof d.role_id === 'string' && d.role_id.trim() !== '') next.roleId = d.role_id.trim();
  if (typeof d.bind_secret_id === 'boolean') next.bindSecretId = d.bind_secret_id;
  const secretIdCidrs = d.secret_id_bound_cidrs ?? d.bound_cidr_list;
  if (secretIdCidrs) next.secretIdBoundCidrs = cidrList(secretIdCidrs, 'secret_id_bound_cidrs');
  if (typeof d.secret_id_num_uses === 'number') {
    if (d.secret_id_num_uses < 0) throw badRequest('secret_id_num_uses cannot be negative');
    next.secretIdNumUses = d.secret_id_num_uses;
  }
  if (typeof d.secret_id_ttl === 'number') next.secretIdTtl = d.secret_id_ttl;
  const policies = d.token_policies ?? d.policies;
  if (policies) {
    next.tokenPolicies = normaliseRequestedPolicies(policies);
    if (next.tokenPolicies.includes('root')) throw badRequest('the root policy cannot be given to an AppRole role');
  }
  if (typeof d.token_ttl === 'number') next.tokenTtl = d.token_ttl;
  if (typeof d.token_max_ttl === 'number') next.tokenMaxTtl = d.token_max_ttl;
  applyTokenSettings(next, d, 'default');
  if (next.tokenMaxTtl > 0 && next.tokenTtl > next.tokenMaxTtl) throw badRequest("'token_ttl' cannot be greater than 'token_max_ttl'");
  if (!next.bindSecretId && next.secretIdBoundCidrs.length === 0 && next.tokenBoundCidrs.length === 0) {
    throw badRequest('at least one constraint should be enabled on the role');
  }
  return next;
}

/** Vault's read shape of a role (durations in seconds; `policies` and `period` are the deprecated copies). */
export function roleOutput(r: AppRole): Record<string, unknown> {
  return {
    bind_secret_id: r.bindSecretId,
    local_secret_ids: false,
    secret_id_bound_cidrs: r.secretIdBoundCidrs,
    secret_id_num_uses: r.secretIdNumUses,
    secret_id_ttl: r.secretIdTtl,
    ...tokenSettingsOutput(r),
    token_max_ttl: r.tokenMaxTtl,
    token_policies: r.tokenPolicies,
    token_ttl: r.tokenTtl,
    policies: r.tokenPolicies,
    period: r.tokenPeriod,
  };
}

/**
 * The TTL and uses of a new secret ID: the role's unless the request asks for less. Asking for
 * more (or for unlimited where the role has a limit) is refused rather than silently capped.
 */
export function secretIdLimits(
  role: Pick<AppRole, 'secretIdTtl' | 'secretIdNumUses'>,
  requested: { ttl?: number; numUses?: number },
): { ttlSeconds: number; numUses: number } {
  let numUses = role.secretIdNumUses;
  if (requested.numUses !== undefined) {
    if (requested.numUses < 0) throw badRequest('num_uses cannot be negative');
    if (role.secretIdNumUses > 0 && (requested.numUses === 0 || requested.numUses > role.secretIdNumUses))
      throw badRequest("num_uses cannot be higher than the role's secret_id_num_uses");
    numUses = requested.numUses;
  }
  let ttlSeconds = role.secretIdTtl;
  if (requested.ttl !== undefined) {
    if (role.secretIdTtl > 0 && (requested.ttl === 0 || requested.ttl > role.secretIdTtl))
      throw badRequest("ttl cannot be longer than the role's secret_id_ttl");
    ttlSeconds = requested.ttl;
  }
  return { ttlSeconds, numUses };
}

/** A secret ID's CIDRs (cidr_list or token_bound_cidrs), each inside the role's when the role has any. */
export function secretIdCidrs(requested: string[] | undefined, roleCidrs: string[], field: string): string[] {
  const cidrs = cidrList(requested ?? [], field);
  if (roleCidrs.length > 0) {
    for (const c of cidrs)
      if (!cidrWithin(c, roleCidrs)) throw badRequest(`failed to verify the CIDR restrictions set on the secret ID: ${field} must be a subset of the role's`);
  }
  return cidrs;
}

/** `metadata`: a JSON object of strings, sent as a JSON string (Vault) or as an object. */
export function parseSecretIdMetadata(value: unknown): Record<string, string> {
  if (value === undefined || value === null || value === '') return {};
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = undefined;
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw badRequest('failed to parse metadata: it must be a JSON object of strings');
  }
  return { ...(parsed as Record<string, string>) };
}

/** The type of the tokens a login issues: the role's setting, or the mount's when the role says `default`. */
export function loginTokenType(setting: TokenTypeSetting, mountSetting: string | undefined): 'service' | 'batch' {
  const effective = setting === 'default' ? (mountSetting ?? 'default-service') : setting;
  return effective === 'batch' || effective === 'default-batch' ? 'batch' : 'service';
}
