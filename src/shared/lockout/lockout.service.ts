/**
 * User lockout for any login method (userpass keyed on the user name, AppRole on the role_id). A
 * method begins an attempt before checking the credential and reports the outcome:
 *
 *   const attempt = await lockout.begin(ctx.mount, name);
 *   const valid = await check();                     // always runs, locked or not
 *   if (valid && attempt.allowed) await attempt.succeeded(); else { await attempt.failed(); throw ... }
 *
 * A locked name gets exactly the answer of a wrong credential. Settings: Vault's defaults, then the
 * config file's `user_lockout "all"`, then `user_lockout "<method type>"`, then the mount's tune.
 *
 * Counting: `attempts` (userpass) counts every attempt as it begins, so concurrent guesses cannot
 * pass the threshold; `failures` (AppRole, as Vault) counts only failed logins, because many
 * machines legitimately log in at once with one shared role_id and must not lock it.
 */
import type { MountEntry, UserLockoutSettings } from '../../framework/backend';
import { effectiveLockout, normaliseLoginName, type LockoutConfig } from './lockout';
import type { LockedName, LockoutRepository } from './lockout.repository';

export interface LoginAttempt {
  /** False: the name is locked; the login must fail with the wrong-credential answer. */
  allowed: boolean;
  succeeded(): Promise<void>;
  failed(): Promise<void>;
}

/** The config file's `user_lockout "<label>"` stanzas by label ("all", "userpass", ...). */
export type ServerLockoutSettings = Record<string, UserLockoutSettings>;

/** Stale counters of a mount are purged at most this often per node. */
const PURGE_INTERVAL_MS = 60_000;

const UNCOUNTED: LoginAttempt = { allowed: true, succeeded: async () => undefined, failed: async () => undefined };

export class LoginLockout {
  private readonly lastPurge = new Map<string, number>();

  constructor(
    private readonly repository: LockoutRepository,
    private readonly server: ServerLockoutSettings = {},
    private readonly now: () => number = Date.now,
  ) {}

  configFor(mount: MountEntry): LockoutConfig {
    return effectiveLockout(this.server.all, this.server[mount.type], mount.config.userLockout);
  }

  async begin(mount: MountEntry, name: string, counting: 'attempts' | 'failures' = 'attempts'): Promise<LoginAttempt> {
    const config = this.configFor(mount);
    if (config.disabled) return UNCOUNTED;
    const key = normaliseLoginName(name);
    const started = new Date(this.now());
    const allowed =
      counting === 'attempts'
        ? await this.repository.beginAttempt(mount.accessor, key, started, config)
        : !(await this.repository.isLocked(mount.accessor, key, started));
    return {
      allowed,
      succeeded: async () => {
        await this.repository.reset(mount.accessor, key);
      },
      failed: async () => {
        const now = this.now();
        if (counting === 'attempts') await this.repository.recordFailure(mount.accessor, key, new Date(now), config);
        else await this.repository.countFailure(mount.accessor, key, new Date(now), config);
        if (now - (this.lastPurge.get(mount.accessor) ?? 0) >= PURGE_INTERVAL_MS) {
          this.lastPurge.set(mount.accessor, now);
          await this.repository.purgeStale(mount.accessor, new Date(now), config.counterResetSeconds);
        }
      },
    };
  }

  locked(accessor?: string): Promise<LockedName[]> {
    return this.repository.locked(new Date(this.now()), accessor);
  }

  /** True when the name had a counter. */
  unlock(accessor: string, name: string): Promise<boolean> {
    return this.repository.reset(accessor, normaliseLoginName(name));
  }
}
