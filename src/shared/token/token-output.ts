/** What token endpoints answer: Vault's lookup data and `auth` block. */
import { TokenStore, type TokenInfo } from '../../kernel/token/token-store.service';

/** Vault's lookup data for a token. `id` only when the caller presented the token itself. */
export function describeToken(store: TokenStore, info: TokenInfo, id: string): Record<string, unknown> {
  const now = Date.now();
  const data: Record<string, unknown> = {
    accessor: store.accessorOf(info),
    creation_time: Math.floor(info.createdAt.getTime() / 1000),
    creation_ttl: info.ttlSeconds,
    display_name: info.displayName,
    entity_id: '',
    expire_time: info.expiresAt ? info.expiresAt.toISOString() : null,
    explicit_max_ttl: info.explicitMaxTtlSeconds,
    id,
    issue_time: info.createdAt.toISOString(),
    meta: Object.keys(info.meta).length ? info.meta : null,
    num_uses: info.usesRemaining ?? 0,
    orphan: info.orphan,
    path: info.creationPath,
    policies: info.policies,
    renewable: info.renewable,
    ttl: TokenStore.remainingTtl(info, now),
    type: info.tokenType,
  };
  if (info.periodSeconds) data.period = info.periodSeconds;
  if (info.boundCidrs.length) data.bound_cidrs = info.boundCidrs;
  if (info.roleName) data.role = info.roleName;
  return data;
}

export function authBlock(token: string, accessor: string, info: TokenInfo): Record<string, unknown> {
  return {
    client_token: token,
    accessor,
    policies: info.policies,
    token_policies: info.policies,
    identity_policies: null,
    metadata: Object.keys(info.meta).length ? info.meta : null,
    lease_duration: TokenStore.remainingTtl(info),
    renewable: info.renewable,
    entity_id: '',
    token_type: info.tokenType,
    orphan: info.orphan,
    mfa_requirement: null,
    num_uses: info.numUsesInitial,
  };
}
