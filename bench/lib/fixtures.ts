/** Set-up helpers the scenario files share: tokens with a policy, and fixtures made once per run. */
import type { BenchContext } from '../scenarios';
import type { VaultApi } from './http';

export const tokenHeader = (token: string) => ({ 'x-vault-token': token });

/** Runs `make` once per context under `name`; later callers get the same result. */
export function once<T>(ctx: BenchContext, name: string, make: () => Promise<T>): Promise<T> {
  let p = ctx.fixtures.get(name) as Promise<T> | undefined;
  if (!p) ctx.fixtures.set(name, (p = make()));
  return p;
}

/** Writes the ACL policy `policy` with `rules` and returns a new token that has it. */
export async function policyToken(api: VaultApi, policy: string, rules: string): Promise<string> {
  await api.ok('PUT', `sys/policies/acl/${policy}`, { policy: rules });
  const created = await api.ok('POST', 'auth/token/create', { policies: [policy] });
  const token = (created.auth as { client_token?: string } | undefined)?.client_token;
  if (!token) throw new Error(`auth/token/create gave no client_token: ${JSON.stringify(created).slice(0, 200)}`);
  return token;
}
