/**
 * The ACL: a set of parsed policies compiled once, then asked per request. Pure and total: it never
 * throws on input, and matching is linear in the path length (see README.md).
 *
 * Matching (Vault's): an exact rule wins; else the highest-priority non-exact rule among the
 * longest `*` prefix and every matching `+` rule; else implicit deny.
 */
import { smallerNonZero } from '../../framework/limits';
import { ipInCidrs } from '../cidr';
import { parseDurationSeconds } from '../../framework/field-types';
import type { Capability, PathConditions, PathRule } from './policy-parser';

export type AclOperation = 'read' | 'list' | 'create' | 'update' | 'patch' | 'delete';

const OPERATION_CAPABILITY: Record<AclOperation, Capability> = {
  read: 'read',
  list: 'list',
  create: 'create',
  update: 'update',
  patch: 'patch',
  delete: 'delete',
};

interface Grant {
  capabilities: Set<Capability>;
  conditions?: PathConditions;
}

interface CompiledRule {
  pattern: string;
  deny: boolean;
  grants: Grant[];
  allowedParameters?: Record<string, unknown[]>;
  deniedParameters?: Record<string, unknown[]>;
  requiredParameters: Set<string>;
  minWrappingTtl: number;
  maxWrappingTtl: number;
  /** For non-exact rules: the position of the first `+` or the `*`. */
  firstWildcard: number;
  isPrefix: boolean;
  plusCount: number;
  segments?: string[];
}

export interface AclRequest {
  path: string;
  operation: AclOperation;
  data?: Record<string, unknown>;
  /** The TTL the response will be wrapped with, in seconds; undefined when it will not be wrapped. */
  wrapTtl?: number;
  remoteAddress?: string;
  now?: Date;
  /** The path is sudo-protected (root paths). */
  sudoRequired?: boolean;
}

export interface AclDecision {
  allowed: boolean;
  /** Why it was denied, for the audit record and the server log (never sent to clients). */
  reason?: string;
  /** The SecretHub condition that failed, if that is the reason. */
  failedCondition?: string;
  /** The pattern that decided. */
  matched?: string;
  /** The deciding rule grants sudo under this request's conditions (always true for root). */
  sudo?: boolean;
}

/** Counts matcher steps (characters and segments compared), so tests can check the cost. */
export interface MatchStats {
  steps: number;
}

interface TrieNode {
  children: Map<string, TrieNode>;
  rule?: CompiledRule;
}

function mergeParams(a: Record<string, unknown[]> | undefined, b: Record<string, unknown[]> | undefined): Record<string, unknown[]> | undefined {
  if (!a) return b ? { ...b } : undefined;
  if (!b) return a;
  const out: Record<string, unknown[]> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = out[k] === undefined ? [...v] : out[k].length === 0 || v.length === 0 ? [] : [...out[k], ...v];
  return out;
}

function wildcardStats(pattern: string): { firstWildcard: number; isPrefix: boolean; plusCount: number } {
  const isPrefix = pattern.endsWith('*');
  const segments = pattern.split('/');
  const plusCount = segments.filter((s) => s === '+').length;
  let firstWildcard = isPrefix ? pattern.length - 1 : pattern.length;
  let offset = 0;
  for (const s of segments) {
    if (s === '+') {
      firstWildcard = Math.min(firstWildcard, offset);
      break;
    }
    offset += s.length + 1;
  }
  return { firstWildcard, isPrefix, plusCount };
}

/** Vault's priority: true when `a` has LOWER priority than `b`. */
function lowerPriority(a: CompiledRule, b: CompiledRule): boolean {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard < b.firstWildcard;
  if (a.isPrefix !== b.isPrefix) return a.isPrefix;
  if (a.plusCount !== b.plusCount) return a.plusCount > b.plusCount;
  if (a.pattern.length !== b.pattern.length) return a.pattern.length < b.pattern.length;
  return a.pattern < b.pattern;
}

/** Returns the name of the first failing condition, or null when all hold. */
export function failedCondition(conditions: PathConditions | undefined, req: AclRequest): string | null {
  if (!conditions) return null;
  if (conditions.sourceCidrs && !ipInCidrs(req.remoteAddress ?? '', conditions.sourceCidrs)) return `source_cidrs ${JSON.stringify(conditions.sourceCidrs)}`;
  if (conditions.hoursUtc) {
    const hour = (req.now ?? new Date()).getUTCHours();
    const { from, to } = conditions.hoursUtc;
    const inside = from < to ? hour >= from && hour < to : hour >= from || hour < to;
    if (!inside) return `hours_utc "${conditions.hoursUtc.text}"`;
  }
  if (conditions.maxTtlSeconds !== undefined) {
    for (const key of ['ttl', 'increment', 'explicit_max_ttl']) {
      const v = req.data?.[key];
      if (v === undefined || v === null || v === '') continue;
      let seconds: number;
      try {
        seconds = typeof v === 'number' ? v : parseDurationSeconds(String(v));
      } catch {
        return `max_ttl ${conditions.maxTtlSeconds}s`;
      }
      if (!(seconds <= conditions.maxTtlSeconds)) return `max_ttl ${conditions.maxTtlSeconds}s`;
    }
  }
  return null;
}

function splitValues(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' && value.includes(',')) return [value, ...value.split(',').map((s) => s.trim())];
  return [value];
}

function valueMatches(expected: unknown, actual: unknown, caseInsensitive: boolean): boolean {
  if (typeof expected === 'string' && typeof actual === 'string') {
    const e = caseInsensitive ? expected.toLowerCase() : expected;
    const a = caseInsensitive ? actual.toLowerCase() : actual;
    if (e === '*') return true;
    if (e.length > 1 && e.endsWith('*') && e.startsWith('*')) return a.includes(e.slice(1, -1));
    if (e.endsWith('*')) return a.startsWith(e.slice(0, -1));
    if (e.startsWith('*')) return a.endsWith(e.slice(1));
    return a === e;
  }
  if (typeof expected !== 'object' && typeof actual !== 'object') return String(expected) === String(actual);
  return JSON.stringify(expected) === JSON.stringify(actual);
}

/** Parameter constraints (Vault's rules; denied values compared case-insensitively, so case variants stay denied). */
function parameterProblem(rule: CompiledRule, data: Record<string, unknown>): string | null {
  const keys = Object.keys(data);
  const lowered = new Map(keys.map((k) => [k.toLowerCase(), k]));
  for (const required of rule.requiredParameters) if (!lowered.has(required)) return `missing required parameter "${required}"`;
  if (keys.length === 0) return null;
  const denied = rule.deniedParameters;
  if (denied) {
    if (denied['*'] !== undefined) return 'all parameters are denied';
    for (const key of keys) {
      const list = denied[key.toLowerCase()];
      if (list === undefined) continue;
      if (list.length === 0) return `parameter "${key}" is denied`;
      for (const v of splitValues(data[key])) if (list.some((d) => valueMatches(d, v, true))) return `value of parameter "${key}" is denied`;
    }
  }
  const allowed = rule.allowedParameters;
  if (!allowed) return null;
  const wildcard = allowed['*'];
  if (wildcard !== undefined && Object.keys(allowed).length === 1 && wildcard.length === 0) return null;
  for (const key of keys) {
    const list = allowed[key.toLowerCase()] ?? wildcard;
    if (list === undefined) return `parameter "${key}" is not allowed`;
    if (list.length === 0) continue;
    const values = Array.isArray(data[key])
      ? (data[key] as unknown[])
      : typeof data[key] === 'string' && String(data[key]).includes(',')
        ? String(data[key])
            .split(',')
            .map((s) => s.trim())
        : [data[key]];
    for (const v of values) if (!list.some((a) => valueMatches(a, v, false))) return `value of parameter "${key}" is not allowed`;
  }
  return null;
}

export class Acl {
  readonly root: boolean;
  private readonly exact = new Map<string, CompiledRule>();
  private readonly prefixRoot: TrieNode = { children: new Map() };
  private readonly segmentRules: CompiledRule[] = [];
  private readonly rules: CompiledRule[] = [];

  /** `policies`: name → parsed rules. A `root` policy must stand alone. */
  constructor(policies: { name: string; rules: PathRule[] }[]) {
    const names = policies.map((p) => p.name);
    this.root = names.includes('root');
    if (this.root && names.length > 1) throw new Error('other policies present along with root');
    const merged = new Map<string, CompiledRule>();
    for (const policy of policies) for (const rule of policy.rules) this.merge(merged, rule);
    for (const rule of merged.values()) {
      this.rules.push(rule);
      if (rule.plusCount > 0) {
        rule.segments = rule.pattern.split('/');
        this.segmentRules.push(rule);
      } else if (rule.isPrefix) this.insertPrefix(rule);
      else this.exact.set(rule.pattern, rule);
    }
  }

  private merge(merged: Map<string, CompiledRule>, rule: PathRule): void {
    const deny = rule.capabilities.includes('deny');
    const existing = merged.get(rule.pattern);
    if (!existing) {
      merged.set(rule.pattern, {
        pattern: rule.pattern,
        deny,
        grants: deny ? [] : [{ capabilities: new Set(rule.capabilities), conditions: rule.conditions }],
        allowedParameters: deny ? undefined : rule.allowedParameters,
        deniedParameters: deny ? undefined : rule.deniedParameters,
        requiredParameters: new Set(rule.requiredParameters),
        minWrappingTtl: rule.minWrappingTtl,
        maxWrappingTtl: rule.maxWrappingTtl,
        ...wildcardStats(rule.pattern),
      });
      return;
    }
    if (existing.deny) return;
    if (deny) {
      existing.deny = true;
      existing.grants = [];
      existing.allowedParameters = undefined;
      existing.deniedParameters = undefined;
      return;
    }
    existing.grants.push({ capabilities: new Set(rule.capabilities), conditions: rule.conditions });
    existing.allowedParameters = mergeParams(existing.allowedParameters, rule.allowedParameters);
    existing.deniedParameters = mergeParams(existing.deniedParameters, rule.deniedParameters);
    rule.requiredParameters.forEach((p) => existing.requiredParameters.add(p));
    existing.minWrappingTtl = smallerNonZero(existing.minWrappingTtl, rule.minWrappingTtl);
    existing.maxWrappingTtl = smallerNonZero(existing.maxWrappingTtl, rule.maxWrappingTtl);
  }

  private insertPrefix(rule: CompiledRule): void {
    let node = this.prefixRoot;
    for (const ch of rule.pattern.slice(0, -1)) {
      let next = node.children.get(ch);
      if (!next) node.children.set(ch, (next = { children: new Map() }));
      node = next;
    }
    node.rule = rule;
  }

  private longestPrefix(path: string, stats?: MatchStats): CompiledRule | undefined {
    let node = this.prefixRoot;
    let best = node.rule;
    for (const ch of path) {
      if (stats) stats.steps++;
      const next = node.children.get(ch);
      if (!next) break;
      node = next;
      if (node.rule) best = node.rule;
    }
    return best;
  }

  private segmentMatch(rule: CompiledRule, pathSegments: string[], stats?: MatchStats): boolean {
    const segs = rule.segments as string[];
    if (segs.length > pathSegments.length) return false;
    if (!rule.isPrefix && segs.length !== pathSegments.length) return false;
    for (let i = 0; i < segs.length; i++) {
      if (stats) stats.steps += 1 + pathSegments[i].length;
      const s = segs[i];
      if (s === '+') continue;
      if (rule.isPrefix && i === segs.length - 1) return pathSegments[i].startsWith(s.slice(0, -1));
      if (s !== pathSegments[i]) return false;
    }
    return true;
  }

  private nonExact(path: string, stats?: MatchStats): CompiledRule | undefined {
    let best = this.longestPrefix(path, stats);
    if (this.segmentRules.length === 0) return best;
    const pathSegments = path.split('/');
    if (stats) stats.steps += path.length;
    for (const rule of this.segmentRules) {
      if (!this.segmentMatch(rule, pathSegments, stats)) continue;
      if (!best || lowerPriority(best, rule)) best = rule;
    }
    return best;
  }

  /** The rule that decides for `path` (Vault's matching, including the list trailing-slash forms). */
  match(path: string, operation: AclOperation, stats?: MatchStats): CompiledRule | undefined {
    const clean = path.startsWith('/') ? path.slice(1) : path;
    if (stats) stats.steps += clean.length;
    const exact = this.exact.get(clean);
    if (exact) return exact;
    if (operation === 'list' && clean.endsWith('/')) {
      const bare = clean.slice(0, -1);
      if (stats) stats.steps += bare.length;
      const exactBare = this.exact.get(bare);
      if (exactBare) return exactBare;
      // Both forms compete and the higher-priority rule decides, so a deny on kv/metadata/private/*
      // holds against kv/metadata/* (older Vault stopped at the bare form; docs/policies.md says
      // where current Vault still differs).
      const bareMatch = this.nonExact(bare, stats);
      const slashMatch = this.nonExact(clean, stats);
      if (!bareMatch) return slashMatch;
      if (!slashMatch) return bareMatch;
      return lowerPriority(bareMatch, slashMatch) ? slashMatch : bareMatch;
    }
    return this.nonExact(clean, stats);
  }

  /** The capabilities a request context has on a path (conditions other than max_ttl applied). */
  capabilities(path: string, req: Omit<AclRequest, 'path' | 'operation'> = {}): Capability[] {
    if (this.root) return ['root' as Capability];
    const rule = this.match(path, 'read');
    if (!rule || rule.deny) return ['deny'];
    const caps = new Set<Capability>();
    for (const g of rule.grants) if (!failedCondition(g.conditions, { ...req, path, operation: 'read', data: {} })) g.capabilities.forEach((c) => caps.add(c));
    const order: Capability[] = ['sudo', 'read', 'list', 'update', 'delete', 'create', 'patch', 'subscribe', 'recover'];
    const out = order.filter((c) => caps.has(c));
    return out.length ? out : ['deny'];
  }

  /**
   * Vault's hasMountAccess: some rule grants a capability on the mount path or on a path beneath it.
   * Used only to decide whether a mount is shown to a token (sys/internal/ui/mounts).
   */
  hasAccessUnder(mountPath: string): boolean {
    if (this.root) return true;
    const grants = (r: CompiledRule | undefined) => r !== undefined && !r.deny && r.grants.some((g) => g.capabilities.size > 0);
    if (grants(this.match(mountPath, 'read'))) return true;
    const mountSegments = mountPath.slice(0, -1).split('/');
    return this.rules.some((r) => {
      if (!grants(r)) return false;
      if (r.plusCount === 0) return r.pattern.startsWith(mountPath);
      const segs = r.pattern.split('/');
      return segs.length > mountSegments.length && mountSegments.every((s, i) => segs[i] === '+' || segs[i] === s);
    });
  }

  allowOperation(req: AclRequest, stats?: MatchStats): AclDecision {
    if (this.root) return { allowed: true, sudo: true };
    const rule = this.match(req.path, req.operation, stats);
    if (!rule) return { allowed: false, reason: 'no policy grants access to this path' };
    const matched = rule.pattern;
    if (rule.deny) return { allowed: false, reason: 'denied by policy', matched };
    const needed = OPERATION_CAPABILITY[req.operation];
    const granting = rule.grants.filter((g) => g.capabilities.has(needed));
    if (granting.length === 0) return { allowed: false, reason: `missing capability "${needed}"`, matched };
    let conditionFailure: string | null = null;
    const satisfied = granting.filter((g) => {
      const failed = failedCondition(g.conditions, req);
      conditionFailure ??= failed;
      return failed === null;
    });
    if (satisfied.length === 0)
      return { allowed: false, reason: `condition failed: ${conditionFailure}`, failedCondition: conditionFailure ?? undefined, matched };
    const sudo = rule.grants.some((g) => g.capabilities.has('sudo') && !failedCondition(g.conditions, req));
    if (req.sudoRequired && !sudo) {
      return { allowed: false, reason: 'sudo capability required', matched };
    }
    // Vault's AllowOperation: either limit on the deciding rule requires a wrapped response within
    // it. Merging keeps the smaller non-zero of each, so min > max can result; then nothing passes.
    const wrapTtl = req.wrapTtl;
    if ((rule.maxWrappingTtl || rule.minWrappingTtl) && wrapTtl === undefined)
      return { allowed: false, reason: 'response wrapping required by min/max_wrapping_ttl', matched };
    if (rule.maxWrappingTtl && wrapTtl !== undefined && wrapTtl > rule.maxWrappingTtl)
      return { allowed: false, reason: 'wrapping TTL above max_wrapping_ttl', matched };
    if (rule.minWrappingTtl && wrapTtl !== undefined && wrapTtl < rule.minWrappingTtl)
      return { allowed: false, reason: 'wrapping TTL below min_wrapping_ttl', matched };
    if (['read', 'create', 'update', 'patch'].includes(req.operation)) {
      const problem = parameterProblem(rule, req.data ?? {});
      if (problem) return { allowed: false, reason: problem, matched };
    }
    return { allowed: true, matched, sudo };
  }
}
