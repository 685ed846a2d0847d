/**
 * Auto-unseal at start (HSM seals): tries until the server is unsealed once — by this loop, by
 * `sys/init` or by any other path (a seal hook ends the loop then) — and after a `sys/seal` the
 * operators unseal with recovery keys, as in Vault. While the HSM cannot be used the
 * server stays sealed and answers `sys/seal-status`; each failed try logs one line saying why
 * (never the PIN) and the next waits twice as long, up to MAX_DELAY_MS. An uninitialised server is
 * polled quietly (another node may initialise it; `sys/init` here unseals by itself).
 */
import type { SealService } from './seal.service';

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 60_000;
const UNINITIALISED_POLL_MS = 5000;

export class AutoUnsealLoop {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private delay = FIRST_DELAY_MS;
  private announcedUninitialised = false;
  private hooked = false;

  constructor(
    private readonly seal: SealService,
    private readonly log: { info(m: string): void; warn(m: string): void },
  ) {}

  start(): void {
    this.stopped = false;
    if (this.seal.provider.autoUnseal) {
      if (!this.hooked) {
        // Unsealed by any path: the loop's work is done (a later sys/seal must not be undone by a pending try).
        this.seal.addLifecycleHook('state', { afterUnseal: async () => this.end(), beforeSeal: () => undefined });
        this.hooked = true;
      }
      this.schedule(0);
    } else void this.announceMigration();
  }

  /** A pending seal migration is said once at start: the operators must act. */
  private async announceMigration(): Promise<void> {
    try {
      const pending = await this.seal.pendingMigration();
      if (pending) this.log.warn(`seal: ${pending}`);
    } catch (err) {
      this.log.warn(`seal: could not read the seal configuration: ${(err as Error).message}`);
    }
  }

  /** Stops retrying without waiting (called from inside an unseal, possibly this loop's own). */
  private end(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops retrying and waits for a try in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.attempt().finally(() => (this.running = undefined));
    }, ms);
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    if (this.stopped || !this.seal.isSealed) return;
    try {
      if (!(await this.seal.isInitialized())) {
        if (!this.announcedUninitialised) this.log.info('seal: not initialised yet; auto-unseal waits for sys/init');
        this.announcedUninitialised = true;
        this.schedule(UNINITIALISED_POLL_MS);
        return;
      }
      if (await this.seal.autoUnseal()) this.log.info('seal: auto-unsealed with the HSM');
      else await this.announceMigration();
    } catch (err) {
      if (this.stopped) return;
      this.log.warn(`seal: auto-unseal failed, retrying in ${this.delay / 1000} s: ${(err as Error).message}`);
      this.schedule(this.delay);
      this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    }
  }
}
