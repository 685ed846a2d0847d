/**
 * Where a node's unseal progress lives. A node is one `secrethub server`: a single process, or a
 * parent and its workers (decision 127). SealService asks its coordinator for the progress and
 * tells it when it unsealed or sealed; the in-process coordinator below is the single process (the
 * worker's, over IPC to the parent, is kernel/cluster/ipc-unseal-coordinator.ts).
 *
 * Invariants: at most one worker combines shares at a time (the one given `threshold`, until it
 * reports `unsealed` or `failed`); the progress is empty from the moment the shares are handed out.
 */
import { UnsealProgress, type ProgressView } from './unseal-progress';

export type ShareOutcome =
  /** Below the threshold (or a duplicate): the node's progress. */
  | ({ kind: 'progress' } & ProgressView)
  /** The threshold is met: this caller combines these shares (and zeroes them), then reports. */
  | { kind: 'threshold'; shares: Buffer[] }
  /** The node was unsealed meanwhile (by another worker's shares). */
  | { kind: 'unsealed' };

/** What the node asks of a worker's seal. */
export interface NodeSealCommands {
  /** Unseal with the node's root key (from the worker that combined the shares). */
  unseal(rootKey: Buffer): Promise<void>;
  /** Seal this worker only. */
  seal(): Promise<void>;
}

export interface UnsealCoordinator {
  /** Takes ownership of `share` (zeroes it when done). */
  submit(share: Buffer, threshold: number): Promise<ShareOutcome>;
  reset(): Promise<void>;
  progress(): Promise<ProgressView>;
  /** The combiner's unseal failed or was not needed: others may submit again. */
  failed(): Promise<void>;
  /** The combiner unsealed; `rootKey` (still the caller's to zero) unseals every worker. */
  unsealed(rootKey: Buffer): Promise<void>;
  /** This worker sealed on an operator's request: every worker seals. */
  sealed(): Promise<void>;
  /**
   * Starts taking the node's commands (before the worker listens); while the node is unsealed,
   * resolves once this worker is unsealed too.
   */
  attach(commands: NodeSealCommands): Promise<void>;
  /** Stops taking them (at shutdown). */
  detach(): void;
}

/** A single-process node: the progress in memory, nothing to tell anyone. */
export class LocalUnsealCoordinator implements UnsealCoordinator {
  private readonly shares = new UnsealProgress();

  async submit(share: Buffer, threshold: number): Promise<ShareOutcome> {
    const complete = this.shares.add(share, threshold);
    return complete ? { kind: 'threshold', shares: complete } : { kind: 'progress', ...this.shares.view() };
  }

  async reset(): Promise<void> {
    this.shares.reset();
  }

  async progress(): Promise<ProgressView> {
    return this.shares.view();
  }

  async failed(): Promise<void> {}

  async unsealed(): Promise<void> {}

  async sealed(): Promise<void> {
    this.shares.reset();
  }

  async attach(): Promise<void> {}

  detach(): void {}
}
