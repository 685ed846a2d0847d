/**
 * Runs each mounted backend's periodic function (Vault's PeriodicFunc): the database engine's
 * static-role rotation and orphan reconciliation, for instance.
 *
 * Invariants: one pass right after unseal and then one per interval; only the process holding the
 * leader lease runs passes (others skip them), and it stops between two mounts when it loses the
 * lease; each backend's writes check the fence it is given in their own transactions; a backend
 * that throws is logged and does not stop the others; a pass never overlaps the previous one on
 * this node.
 */
import type { LeaderFence } from '../../framework/backend';
import type { MountTable } from '../router/mount-table';

export interface PeriodicOptions {
  intervalMs: number;
  /** The leader lease: passes run only while it is this process's. */
  fence: LeaderFence;
  log: { error(m: string): void };
}

export class PeriodicRunner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly mounts: MountTable,
    private readonly options: PeriodicOptions,
  ) {}

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over every mount (also what tests call); joins a pass already running. */
  tick(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    const { fence } = this.options;
    try {
      for (const mount of [...this.mounts.list('secret'), ...this.mounts.list('auth')]) {
        if (!fence.isLeader) return;
        const periodic = this.mounts.backendOf(mount.type)?.periodic;
        if (!periodic) continue;
        await periodic(mount, fence).catch((err: Error) => this.options.log.error(`periodic: ${mount.path} failed: ${err.message}`));
      }
    } catch (err) {
      this.options.log.error(`periodic: pass failed: ${(err as Error).message}`);
    }
  }
}
