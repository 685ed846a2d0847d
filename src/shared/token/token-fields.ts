/**
 * The token_* settings that shape the tokens a token role or an auth method role issues (Vault's
 * tokenutil fields), declared and applied once for both.
 */
import type { FieldData, Fields } from '../../framework/fields';
import { isValidCidr } from '../../kernel/cidr';
import { badRequest } from '../../kernel/errors';

/** `default`: the auth mount's tuned token type (default-service when untuned). */
export type TokenTypeSetting = 'service' | 'batch' | 'default-service' | 'default-batch' | 'default';

export interface TokenSettings {
  tokenBoundCidrs: string[];
  tokenExplicitMaxTtl: number;
  tokenNoDefaultPolicy: boolean;
  tokenNumUses: number;
  tokenPeriod: number;
  tokenType: TokenTypeSetting;
}

export const TOKEN_SETTING_FIELDS = {
  token_bound_cidrs: { type: 'string-list', description: 'CIDRs tokens may be used from.' },
  token_explicit_max_ttl: { type: 'duration', description: 'Hard cap on the lifetime of tokens.' },
  token_no_default_policy: { type: 'bool', description: 'Do not add the default policy.' },
  token_num_uses: { type: 'int', description: 'Uses per token (0: unlimited).' },
  token_period: { type: 'duration', description: 'Make periodic tokens with this period.' },
  token_type: { type: 'string', allowed: ['service', 'batch', 'default-service', 'default-batch', 'default'], description: 'Type of token issued.' },
  period: { type: 'duration', description: 'Deprecated alias of token_period.' },
} as const satisfies Fields;

/** The settings as written, with the deprecated aliases some routes declare besides `period`. */
type TokenSettingsInput = FieldData<typeof TOKEN_SETTING_FIELDS, false> & { explicit_max_ttl?: number; bound_cidrs?: string[] };

/**
 * Applies the token_* fields present in `d` (coerced by TOKEN_SETTING_FIELDS) to `target`, with the
 * deprecated aliases `period`, `explicit_max_ttl` and `bound_cidrs` where the route declares them.
 * `defaultType`: what `token_type=default` is stored as.
 */
export function applyTokenSettings(target: TokenSettings, d: TokenSettingsInput, defaultType: TokenTypeSetting): void {
  if (typeof d.token_no_default_policy === 'boolean') target.tokenNoDefaultPolicy = d.token_no_default_policy;
  const cidrs = d.token_bound_cidrs ?? d.bound_cidrs;
  if (cidrs) {
    for (const c of cidrs) if (!isValidCidr(c)) throw badRequest('invalid CIDR in token_bound_cidrs');
    target.tokenBoundCidrs = cidrs;
  }
  const maxTtl = d.token_explicit_max_ttl ?? d.explicit_max_ttl;
  if (typeof maxTtl === 'number') target.tokenExplicitMaxTtl = maxTtl;
  const period = d.token_period ?? d.period;
  if (typeof period === 'number') target.tokenPeriod = period;
  if (typeof d.token_num_uses === 'number') {
    if (d.token_num_uses < 0) throw badRequest('token_num_uses cannot be negative');
    target.tokenNumUses = d.token_num_uses;
  }
  if (typeof d.token_type === 'string') target.tokenType = d.token_type === 'default' ? defaultType : d.token_type;
  if (target.tokenType === 'batch' && (target.tokenPeriod || target.tokenNumUses))
    throw badRequest('batch tokens cannot be periodic or have a limited number of uses');
}

/** Vault's read shape of the settings (durations in seconds). */
export function tokenSettingsOutput(s: TokenSettings): Record<string, unknown> {
  return {
    token_bound_cidrs: s.tokenBoundCidrs,
    token_explicit_max_ttl: s.tokenExplicitMaxTtl,
    token_no_default_policy: s.tokenNoDefaultPolicy,
    token_num_uses: s.tokenNumUses,
    token_period: s.tokenPeriod,
    token_type: s.tokenType,
  };
}
