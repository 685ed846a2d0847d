/**
 * When to replace a dead worker: at once after one that ran a while; after a worker that died
 * within QUICK_EXIT_MS of its start, wait, twice as long for each such death in a row (up to
 * MAX_DELAY_MS), so a crash loop does not spin.
 */
export const QUICK_EXIT_MS = 30_000;
export const FIRST_DELAY_MS = 500;
export const MAX_DELAY_MS = 60_000;

export class RestartBackoff {
  private quickExits = 0;

  /** A worker of this slot exited after `uptimeMs`: how long to wait before starting the next. */
  exited(uptimeMs: number): number {
    if (uptimeMs >= QUICK_EXIT_MS) {
      this.quickExits = 0;
      return 0;
    }
    this.quickExits++;
    return Math.min(FIRST_DELAY_MS * 2 ** (this.quickExits - 1), MAX_DELAY_MS);
  }
}
