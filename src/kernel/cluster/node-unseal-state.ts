/**
 * The node's unseal state, kept by the parent of a multi-worker node (decision 127): one progress
 * for every worker, the root key while the node is unsealed (so that a replacement worker is
 * unsealed at once), and which worker is combining.
 *
 * Invariants: while a worker combines, other submissions wait (as requests did behind a single
 * process's mutex), and the progress is empty; the key is kept only between a worker's `unsealed`
 * and the next `sealed`, and zeroed when dropped.
 */
import { zero } from '../../crypto/hmac';
import type { ShareOutcome } from '../seal/unseal-coordinator';
import { UnsealProgress, type ProgressView } from '../seal/unseal-progress';

export interface NodeBroadcast {
  /** Every worker unseals with `key`; resolves when each has answered (or is gone). */
  unsealAll(key: Buffer): Promise<void>;
  /** Every worker seals; resolves when each has answered (or is gone). */
  sealAll(): Promise<void>;
}

export class NodeUnsealState {
  private readonly shares = new UnsealProgress();
  private key: Buffer | undefined;
  private combiner: number | undefined;
  private waiting: (() => void)[] = [];

  constructor(private readonly broadcast: NodeBroadcast) {}

  /** The node's key while it is unsealed (for a worker that starts later); undefined when sealed. */
  get unsealKey(): Buffer | undefined {
    return this.key;
  }

  view(): ProgressView {
    return this.shares.view();
  }

  async submit(worker: number, share: Buffer, threshold: number): Promise<ShareOutcome> {
    while (this.combiner !== undefined) await new Promise<void>((resume) => this.waiting.push(resume));
    if (this.key) {
      zero(share);
      return { kind: 'unsealed' };
    }
    const complete = this.shares.add(share, threshold);
    if (!complete) return { kind: 'progress', ...this.shares.view() };
    this.combiner = worker;
    return { kind: 'threshold', shares: complete };
  }

  reset(): void {
    this.shares.reset();
  }

  /** The combiner's unseal failed, was not needed, or the combiner is gone. */
  combinerDone(worker: number): void {
    if (this.combiner !== worker) return;
    this.combiner = undefined;
    for (const resume of this.waiting.splice(0)) resume();
  }

  /** Takes `key`: the node is unsealed with it. Resolves once every worker has been told. */
  async unsealed(worker: number, key: Buffer): Promise<void> {
    zero(this.key);
    this.key = key;
    this.shares.reset();
    try {
      await this.broadcast.unsealAll(key);
    } finally {
      this.combinerDone(worker);
    }
  }

  /** The node is sealed: the key is forgotten. Resolves once every worker has sealed. */
  async sealed(): Promise<void> {
    zero(this.key);
    this.key = undefined;
    this.shares.reset();
    await this.broadcast.sealAll();
  }

  /** At the parent's exit. */
  forget(): void {
    zero(this.key);
    this.key = undefined;
    this.shares.reset();
  }
}
