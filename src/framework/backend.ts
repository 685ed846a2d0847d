/**
 * A secrets engine or auth method type: what `sys/mounts` and `sys/auth` can enable. Its routes are
 * declared relative to the mount path; the pipeline routes `<mount path><route path>` to them and
 * gives the handler the mount entry (`ctx.mount`), whose uuid keys the engine's storage.
 */
import type { EntityManager } from 'typeorm';
import type { TokenInfo } from './token-info';
import type { RequestContext, RouteDefinition } from './route';

export type MountClass = 'secret' | 'auth';

export interface MountConfig {
  /** Seconds; 0 = the system default. */
  defaultLeaseTtl: number;
  /** Seconds; 0 = the system maximum. */
  maxLeaseTtl: number;
  forceNoCache: boolean;
  auditNonHmacRequestKeys: string[];
  auditNonHmacResponseKeys: string[];
  listingVisibility: '' | 'unauth' | 'hidden';
  passthroughRequestHeaders: string[];
  allowedResponseHeaders: string[];
  /** Auth mounts only: default-service, default-batch, service or batch. */
  tokenType?: string;
  /** Auth mounts only: `user_lockout_config` set through tune; unset settings come from the server configuration. */
  userLockout?: UserLockoutSettings;
  /** Vault's `allowed_managed_keys`: the managed keys (by name) this mount may use besides those with any_mount. */
  allowedManagedKeys?: string[];
}

/**
 * Vault's user lockout settings (config file `user_lockout` stanza, tune `user_lockout_config`).
 * Each is optional: the effective value is the most specific one given (mount, method type, "all", default).
 */
export interface UserLockoutSettings {
  threshold?: number;
  durationSeconds?: number;
  counterResetSeconds?: number;
  disabled?: boolean;
}

export interface MountEntry {
  uuid: string;
  /** The full routing path with its trailing slash: `secret/`, `auth/approle/`, `sys/`. */
  path: string;
  class: MountClass;
  type: string;
  description: string;
  accessor: string;
  config: MountConfig;
  options: Record<string, string>;
  local: boolean;
  sealWrap: boolean;
  externalEntropyAccess: boolean;
}

export interface BackendDefinition {
  type: string;
  class: MountClass;
  /** Built-in, mounted once at a fixed path, never enabled, disabled or moved through the API. */
  builtinPath?: string;
  /** The description a built-in mount gets when its row is first created. */
  description?: string;
  /** The routes for one mount; may depend on its options (KV version 1 or 2). Return constant arrays: the pipeline compiles each array once. */
  routes(mount: MountEntry): RouteDefinition[];
  /** Validates and completes a mount's options when it is enabled or tuned; throws a 400 on bad options. */
  normaliseOptions?(options: Record<string, string>, previous?: Record<string, string>): Record<string, string>;
  /** Engines that hand out leased secrets: how one is revoked (called by the expiration manager). Throws when it could not be. */
  leases?: {
    revoke(lease: { mount: MountEntry; leaseId: string; internal: Record<string, unknown> }): Promise<void>;
    /** Called before a renewal is recorded, with the new expiry; a throw refuses the renewal. */
    renew?(lease: { mount: MountEntry; leaseId: string; internal: Record<string, unknown>; expiresAt: Date }): Promise<void>;
  };
  /**
   * Auth methods: checks a renewal of a token one of their logins issued (Vault's login renew), with
   * the renewal request itself (its connection's certificate); a throw refuses the renewal.
   */
  renewLogin?(mount: MountEntry, token: TokenInfo, request: RequestContext): Promise<void>;
  /**
   * Background work for one mount, run about once a minute by the process holding the leader lease
   * (PeriodicRunner). A transaction that writes calls `fence.checkFence(manager)` (last, before it
   * commits): it throws when this process no longer holds the lease, so nothing it writes commits
   * once another process may be doing the same work.
   */
  periodic?(mount: MountEntry, fence: LeaderFence): Promise<void>;
}

/** The leader lease as singleton work sees it (src/kernel/cluster/leader-lease.ts). */
export interface LeaderFence {
  /** Whether this process holds the lease now (by its local deadline). */
  readonly isLeader: boolean;
  /** Inside a transaction that makes a singleton write: throws (FencedError) when the lease is not this process's. */
  checkFence(manager: EntityManager): Promise<void>;
}

/** Vault's system-wide lease TTL default and maximum: 768h. */
export const SYSTEM_DEFAULT_LEASE_TTL = 768 * 3600;
export const SYSTEM_MAX_LEASE_TTL = 768 * 3600;

export function defaultMountConfig(): MountConfig {
  return {
    defaultLeaseTtl: 0,
    maxLeaseTtl: 0,
    forceNoCache: false,
    auditNonHmacRequestKeys: [],
    auditNonHmacResponseKeys: [],
    listingVisibility: '',
    passthroughRequestHeaders: [],
    allowedResponseHeaders: [],
  };
}
