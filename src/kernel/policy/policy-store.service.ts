/**
 * Policies: CRUD with Vault's rules for `root` and `default`, and compiled ACLs cached per policy
 * set. Every write publishes on the cluster bus and every node, this one included, clears its
 * caches when it arrives; the caches serve only while the bus is live (without a bus: always, and a
 * write clears them directly).
 */
import { badRequest } from '../errors';
import type { InvalidationBus } from '../cluster/invalidation-bus';
import { Acl } from './acl';
import { normalisePolicyName, parsePolicyText, PolicyParseError, type PathRule } from './policy-parser';
import type { PolicyRepository } from './policy.repository';

/** Vault's default policy (without Enterprise-only paths). */
export const DEFAULT_POLICY = `# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its resultant ACL from all policies
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body
path "sys/leases/renew" {
    capabilities = ["update"]
}
path "sys/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}
`;

export interface StoredPolicy {
  name: string;
  raw: string;
  rules: PathRule[];
}

export class PolicyStore {
  private readonly policies = new Map<string, StoredPolicy | null>();
  private readonly acls = new Map<string, Acl>();

  /** Without a bus (single process, tests) the caches always serve. */
  constructor(
    private readonly repository: PolicyRepository,
    private readonly bus?: InvalidationBus,
  ) {
    bus?.subscribe((i) => {
      if (i.topic === undefined || i.topic === 'policy') this.clear();
    });
  }

  private get cacheServes(): boolean {
    return !this.bus || this.bus.live;
  }

  /** Caching is safe only if no invalidation arrived since `generation` was read. */
  private mayCache(generation: number | undefined): boolean {
    return this.cacheServes && this.bus?.generation === generation;
  }

  private async changed(name: string): Promise<void> {
    if (this.bus) await this.bus.publish('policy', name);
    else this.clear();
  }

  /**
   * After unseal: the default policy exists (created once, editable afterwards). Parsed only when
   * absent, and on the HCL thread: the parser on the main thread holds ~6 MB of heap for the
   * process's life, and the old generation grows in proportion to what it holds (decision 82).
   */
  async ensureDefault(): Promise<void> {
    if (!(await this.repository.get('default'))) {
      await this.repository.insertIfMissing('default', (await parsePolicyText(DEFAULT_POLICY)).rules, DEFAULT_POLICY);
    }
    this.clear();
  }

  clear(): void {
    this.policies.clear();
    this.acls.clear();
  }

  async get(name: string): Promise<StoredPolicy | undefined> {
    const key = normalisePolicyName(name);
    if (key === 'root') return undefined;
    if (this.cacheServes && this.policies.has(key)) return this.policies.get(key) ?? undefined;
    const generation = this.bus?.generation;
    const row = await this.repository.get(key);
    const stored = row ? { name: row.name, raw: row.raw, rules: row.document as PathRule[] } : null;
    if (this.mayCache(generation)) this.policies.set(key, stored);
    return stored ?? undefined;
  }

  /** Names of all ACL policies, including the implicit `root`. */
  async list(): Promise<string[]> {
    const names = await this.repository.names();
    return [...names, 'root'].sort();
  }

  async put(name: string, raw: string): Promise<void> {
    const key = normalisePolicyName(name);
    if (key === '') throw badRequest('policy name must be provided');
    if (key === 'root') throw badRequest('cannot update "root" policy');
    // Wrapping tokens are recognised by holding exactly this policy: it must never grant anything.
    if (key === 'response-wrapping') throw badRequest('cannot update "response-wrapping" policy');
    let rules: PathRule[];
    try {
      rules = (await parsePolicyText(raw)).rules;
    } catch (err) {
      if (err instanceof PolicyParseError)
        throw badRequest(err.message.startsWith('failed to parse policy') ? err.message : `failed to parse policy: ${err.message}`);
      throw err;
    }
    await this.repository.upsert(key, rules, raw);
    await this.changed(key);
  }

  async delete(name: string): Promise<void> {
    const key = normalisePolicyName(name);
    if (key === 'root') throw badRequest('cannot delete "root" policy');
    if (key === 'default') throw badRequest('cannot delete default policy');
    await this.repository.delete(key);
    await this.changed(key);
  }

  /** The compiled ACL for a token's policies (names normalised; unknown names grant nothing). */
  async aclFor(policyNames: string[]): Promise<Acl> {
    const names = [...new Set(policyNames.map(normalisePolicyName))].sort();
    const cacheKey = names.join('\n');
    const cached = this.cacheServes ? this.acls.get(cacheKey) : undefined;
    if (cached) return cached;
    const generation = this.bus?.generation;
    let acl: Acl;
    if (names.includes('root')) acl = new Acl([{ name: 'root', rules: [] }]);
    else {
      const loaded: { name: string; rules: PathRule[] }[] = [];
      for (const name of names) {
        const p = await this.get(name);
        if (p) loaded.push({ name: p.name, rules: p.rules });
      }
      acl = new Acl(loaded);
    }
    if (this.mayCache(generation)) this.acls.set(cacheKey, acl);
    return acl;
  }
}
