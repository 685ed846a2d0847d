/**
 * The expiration manager: registers the leases engines hand out, renews them within their max TTL,
 * and revokes them on request, on expiry and when their token goes.
 *
 * Invariants:
 * - everything lives in the `leases` table: after a restart the loop carries on from it;
 * - a lease is revoked by asking its engine (BackendDefinition.leases.revoke) and only then marked
 *   revoked; revoking a revoked lease succeeds (idempotent);
 * - a failed revocation is retried with exponential backoff (1 s · 2^n, at most 1 h, with jitter);
 *   after `maxAttempts` it is irrevocable (listed, no automatic attempts) until a manual revoke
 *   works or revoke-force drops the record without the engine;
 * - renewal never moves expiry past the lease's max TTL;
 * - error text stored and logged comes from engines, which must not put secrets in errors.
 */
import type { BackendDefinition, MountEntry } from '../../framework/backend';
import type { LeaseRequest } from '../../framework/route';
import { randomBase62 } from '../../crypto/random';
import { badRequest } from '../errors';
import type { MountTable } from '../router/mount-table';
import type { TokenInfo } from '../token/token-store.service';
import type { LeaseRepository, LeaseRow } from './lease.repository';

/** What a handler returns to have its secret leased (declared in the framework, LogicalResponse.lease). */
export type { LeaseRequest };

export interface ExpirationOptions {
  maxAttempts: number;
  tickMs: number;
  /** This process, as the node registry knows it (claims name it). */
  claimer: { nodeId: string; workerId: number };
  /** A claim whose process has not heartbeated for this long is taken over (the leader lease TTL). */
  claimerSilentSeconds: number;
  log: { info(m: string): void; error(m: string): void };
}

const MAX_BACKOFF_MS = 3_600_000;
/** How long a claimed lease is left to the node that claimed it. */
const CLAIM_SECONDS = 60;
const BATCH = 100;

export const leaseNotFound = () => badRequest('lease not found');

export function backoffMs(attempt: number, random = Math.random()): number {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random / 2));
}

export class ExpirationManager {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly repository: LeaseRepository,
    private readonly mounts: MountTable,
    private readonly options: ExpirationOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** Records a lease for a secret just handed out; gives its id. */
  async register(
    mount: MountEntry,
    path: string,
    lease: LeaseRequest,
    context: { token?: TokenInfo; requestId: string; remoteAddress?: string },
  ): Promise<{ leaseId: string; ttlSeconds: number }> {
    const now = Date.now();
    const maxTtl = Math.max(1, lease.maxTtlSeconds ?? (mount.config.maxLeaseTtl || 768 * 3600));
    const ttl = Math.max(1, Math.min(lease.ttlSeconds, maxTtl));
    const leaseId = `${mount.path}${path.replace(/\/+$/, '')}/${randomBase62(24)}`;
    await this.repository.insert({
      leaseId,
      secretPath: `${mount.path}${path}`,
      mountUuid: mount.uuid,
      engineType: mount.type,
      tokenHmac: context.token && context.token.tokenType !== 'batch' ? context.token.tokenHmac : null,
      displayName: context.token?.displayName ?? '',
      issuedAt: new Date(now),
      expiresAt: new Date(now + ttl * 1000),
      maxExpiresAt: new Date(now + maxTtl * 1000),
      ttlSeconds: ttl,
      renewable: lease.renewable,
      internal: lease.internal,
      engineMetadata: lease.metadata ?? {},
      // Personal data: the repository seals it.
      sourceIp: context.remoteAddress || null,
      correlationId: context.requestId,
    });
    return { leaseId, ttlSeconds: ttl };
  }

  async lookup(leaseId: string): Promise<LeaseRow> {
    const lease = await this.repository.get(leaseId);
    if (!lease) throw badRequest('invalid lease');
    return lease;
  }

  /** Extends a live lease by `increment` seconds (default the TTL it was issued with), never past its max TTL. */
  async renew(leaseId: string, increment?: number): Promise<LeaseRow> {
    const lease = await this.repository.get(leaseId);
    const now = Date.now();
    if (!lease || lease.revoked || lease.expiresAt.getTime() <= now) throw badRequest('lease not found or lease is not renewable');
    if (!lease.renewable) throw badRequest('lease is not renewable');
    const wanted = increment && increment > 0 ? increment : lease.ttlSeconds;
    const expiresAt = Math.min(now + wanted * 1000, lease.maxExpiresAt.getTime());
    const { backend, mount } = this.backend(lease);
    const renewOnEngine = backend?.leases?.renew;
    if (renewOnEngine && mount) {
      await renewOnEngine({ mount, leaseId, internal: await this.internalOf(lease), expiresAt: new Date(expiresAt) }).catch((err: Error) => {
        this.options.log.error(`leases: renewing ${leaseId} failed on the engine: ${err.message}`);
        throw badRequest('failed to renew lease: the engine refused; see the server log');
      });
    }
    const renewed = await this.repository.renew(leaseId, new Date(expiresAt), new Date(now));
    if (!renewed) throw badRequest('lease not found or lease is not renewable');
    return renewed;
  }

  /** Revokes one lease now (also an irrevocable one: one more attempt). Idempotent; throws when the engine fails. */
  async revoke(leaseId: string, reason = 'revoked'): Promise<void> {
    const lease = await this.repository.get(leaseId);
    if (!lease || lease.revoked) return;
    await this.revokeRow(lease, reason);
  }

  /** Revokes every lease under a prefix; gives how many, throws on the first engine failure. */
  async revokePrefix(prefix: string): Promise<number> {
    const ids = await this.repository.idsWithPrefix(prefix);
    for (const id of ids) await this.revoke(id);
    return ids.length;
  }

  /** Drops the records under a prefix without asking the engine (irrevocable leases). */
  async revokeForce(prefix: string): Promise<number> {
    const n = await this.repository.deleteWithPrefix(prefix);
    this.options.log.info(`leases: force-revoked ${n} lease record(s) under ${prefix} without the engine`);
    return n;
  }

  /** The metadata of a mount's unrevoked leases (irrevocable ones included) that contains `match`. */
  liveLeaseMetadata(mountUuid: string, match: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    return this.repository.liveMetadata(mountUuid, match);
  }

  /** Irrevocable leases for `sys/leases?type=irrevocable` (at most `limit`) and their total. */
  irrevocable(limit: number): ReturnType<LeaseRepository['irrevocable']> {
    return this.repository.irrevocable(limit);
  }

  listKeys(prefix: string): Promise<string[]> {
    return this.repository.listKeys(prefix);
  }

  tidy(olderThanSeconds = 86_400): Promise<number> {
    return this.repository.tidy(new Date(Date.now() - olderThanSeconds * 1000));
  }

  /** One pass of the expiry loop (also what tests call). */
  async tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.runDue().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async runDue(): Promise<void> {
    try {
      for (;;) {
        const ids = await this.repository.claimDue(new Date(), BATCH, CLAIM_SECONDS, this.options.claimer, this.options.claimerSilentSeconds);
        for (const id of ids) {
          const lease = await this.repository.get(id);
          if (!lease || lease.revoked) continue;
          const reason = lease.expiresAt.getTime() <= Date.now() ? 'expired' : 'token revoked';
          await this.revokeRow(lease, reason).catch(() => undefined);
        }
        if (ids.length < BATCH) return;
      }
    } catch (err) {
      this.options.log.error(`leases: expiry pass failed: ${(err as Error).message}`);
    }
  }

  private backend(lease: LeaseRow): { backend: BackendDefinition | undefined; mount: MountEntry | undefined } {
    return { backend: this.mounts.backendOf(lease.engineType), mount: this.mounts.byUuid(lease.mountUuid) };
  }

  private internalOf(lease: LeaseRow): Promise<Record<string, unknown>> {
    return this.repository.internalOf(lease);
  }

  private async revokeRow(lease: LeaseRow, reason: string): Promise<void> {
    const { backend, mount } = this.backend(lease);
    try {
      const revoke = backend?.leases?.revoke;
      if (!revoke) throw new Error(`no revocation for engine type ${lease.engineType}`);
      if (!mount) throw new Error('the mount that issued the lease is gone');
      await revoke({ mount, leaseId: lease.leaseId, internal: await this.internalOf(lease) });
    } catch (err) {
      const attempts = lease.revokeAttempts + 1;
      const irrevocable = attempts >= this.options.maxAttempts;
      const message = (err as Error).message;
      await this.repository.recordFailure(lease.leaseId, message, new Date(Date.now() + backoffMs(attempts)), irrevocable);
      this.options.log.error(`leases: revoking ${lease.leaseId} failed (attempt ${attempts}${irrevocable ? ', now irrevocable' : ''}): ${message}`);
      throw badRequest(`failed to revoke lease: ${irrevocable ? 'lease is irrevocable' : 'the engine refused'}; see the server log`);
    }
    await this.repository.markRevoked(lease.leaseId, reason, new Date());
  }
}
