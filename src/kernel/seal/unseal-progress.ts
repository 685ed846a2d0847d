/**
 * The unseal shares submitted so far on one node. Invariants: a duplicate share (constant-time
 * compare) does not count twice; the nonce is new for every round (set by its first share); shares
 * handed out at the threshold, or reset, leave the progress empty (reset zeroes them).
 */
import { randomUUID } from 'node:crypto';
import { constantTimeEqual, zero } from '../../crypto/hmac';

export interface ProgressView {
  progress: number;
  nonce: string;
}

export class UnsealProgress {
  private shares: Buffer[] = [];
  private nonce = '';

  view(): ProgressView {
    return { progress: this.shares.length, nonce: this.nonce };
  }

  /**
   * Takes `share` (the caller must not reuse it). Returns every share of the round once `threshold`
   * are in (the caller owns and zeroes them; the progress is empty again), else undefined.
   */
  add(share: Buffer, threshold: number): Buffer[] | undefined {
    if (this.shares.some((s) => constantTimeEqual(s, share))) {
      zero(share);
      return undefined;
    }
    if (this.shares.length === 0) this.nonce = randomUUID();
    this.shares.push(share);
    if (this.shares.length < threshold) return undefined;
    const complete = this.shares;
    this.shares = [];
    this.nonce = '';
    return complete;
  }

  reset(): void {
    zero(...this.shares);
    this.shares = [];
    this.nonce = '';
  }
}
