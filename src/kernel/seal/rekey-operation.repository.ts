/**
 * Rekey operations in the database, one row per target, shared by every process of every node.
 *
 * Invariants:
 * - every change runs in one transaction holding the row's lock (`locked`), so submissions on two
 *   processes are serialised: each counts once, and exactly one meets the threshold;
 * - a section that finds no row and leaves an operation inserts it only if no other process
 *   inserted one meanwhile (`RekeyInProgressError` otherwise);
 * - shares and a key awaiting verification are sealed by the barrier, bound to the target and the
 *   operation's (or the verification's) nonce; the share counts are plain, for status while sealed.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { zero } from '../../crypto/hmac';
import type { Barrier } from '../barrier/barrier';
import { type Ciphertext, SealedColumn } from '../barrier/sealed-column';
import { REKEY_PROGRESS, REKEY_VERIFICATION_KEY, REKEY_VERIFICATION_PROGRESS } from '../barrier/sealed-columns';
import { RekeyOperationEntity } from './seal.entity';
import { openShares, sealShares } from './share-list';

export interface PendingVerification {
  nonce: string;
  unsealKey: Buffer;
  progress: Buffer[];
}

/** An operation with its shares opened (memory only while a locked section runs). */
export interface RekeyOperation {
  nonce: string;
  started: Date;
  shares: number;
  threshold: number;
  requireVerification: boolean;
  progress: Buffer[];
  pending?: PendingVerification;
  /** Recovery keys: the check value the submitted shares were proven against; the commit replaces only it. */
  authorisedCheck?: Buffer;
}

/** What status shows: nothing secret. */
export interface RekeySummary {
  nonce: string;
  shares: number;
  threshold: number;
  requireVerification: boolean;
  progress: number;
  verificationNonce?: string;
  verificationProgress: number;
}

export class RekeyInProgressError extends Error {
  constructor() {
    super('rekey already in progress');
    this.name = 'RekeyInProgressError';
  }
}

/** Zeroes every share and key the operation holds. */
export function zeroOperation(op: RekeyOperation | null | undefined): void {
  if (!op) return;
  zero(...op.progress);
  if (op.pending) zero(op.pending.unsealKey, ...op.pending.progress);
}

export class RekeyOperationRepository {
  private readonly progress: SealedColumn<{ target: string; nonce: string }>;
  private readonly verificationKey: SealedColumn<{ target: string; nonce: string }>;
  private readonly verificationProgress: SealedColumn<{ target: string; nonce: string }>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.progress = new SealedColumn(REKEY_PROGRESS, barrier);
    this.verificationKey = new SealedColumn(REKEY_VERIFICATION_KEY, barrier);
    this.verificationProgress = new SealedColumn(REKEY_VERIFICATION_PROGRESS, barrier);
  }

  async summary(target: string): Promise<RekeySummary | undefined> {
    const row = await this.dataSource.getRepository(RekeyOperationEntity).findOneBy({ target });
    if (!row) return undefined;
    return {
      nonce: row.nonce,
      shares: row.secretShares,
      threshold: row.secretThreshold,
      requireVerification: row.requireVerification,
      progress: row.progress,
      ...(row.verificationNonce ? { verificationNonce: row.verificationNonce } : {}),
      verificationProgress: row.verificationProgress,
    };
  }

  /**
   * Runs `section` on the target's operation (null: none), read and opened under its row lock, and
   * stores the operation it gives back (null: deleted) in the same transaction. The opened shares
   * are zeroed afterwards.
   */
  async locked<T>(target: string, section: (op: RekeyOperation | null) => Promise<{ result: T; next: RekeyOperation | null }>): Promise<T> {
    return this.dataSource.transaction(async (m) => {
      const rows = m.getRepository(RekeyOperationEntity);
      const row = await rows.findOne({ where: { target }, lock: { mode: 'pessimistic_write' } });
      const current = row ? await this.open(row) : null;
      let next: RekeyOperation | null = null;
      try {
        const outcome = await section(current);
        next = outcome.next;
        await this.store(m, target, row, next);
        return outcome.result;
      } finally {
        zeroOperation(current);
        if (next !== current) zeroOperation(next);
      }
    });
  }

  /** Deletes the target's operation (cancel: no share is opened); false when there was none with that nonce. */
  async remove(target: string, nonce?: string): Promise<boolean> {
    const result = await this.dataSource.getRepository(RekeyOperationEntity).delete(nonce ? { target, nonce } : { target });
    return (result.affected ?? 0) > 0;
  }

  private async open(row: RekeyOperationEntity): Promise<RekeyOperation> {
    const key = { target: row.target, nonce: row.nonce };
    const op: RekeyOperation = {
      nonce: row.nonce,
      started: row.startedAt,
      shares: row.secretShares,
      threshold: row.secretThreshold,
      requireVerification: row.requireVerification,
      progress: row.progressCiphertext ? await openShares(this.progress, key, row.progressCiphertext) : [],
      ...(row.authorisedCheck ? { authorisedCheck: row.authorisedCheck } : {}),
    };
    if (row.verificationNonce && row.verificationKeyCiphertext) {
      const verification = { target: row.target, nonce: row.verificationNonce };
      op.pending = {
        nonce: row.verificationNonce,
        unsealKey: await this.verificationKey.open(key, row.verificationKeyCiphertext as Ciphertext),
        progress: row.verificationProgressCiphertext ? await openShares(this.verificationProgress, verification, row.verificationProgressCiphertext) : [],
      };
    }
    return op;
  }

  private async store(m: EntityManager, target: string, row: RekeyOperationEntity | null, op: RekeyOperation | null): Promise<void> {
    const rows = m.getRepository(RekeyOperationEntity);
    if (!op) {
      if (row) await rows.delete({ target });
      return;
    }
    const key = { target, nonce: op.nonce };
    const pending = op.pending;
    const values = {
      target,
      nonce: op.nonce,
      startedAt: op.started,
      secretShares: op.shares,
      secretThreshold: op.threshold,
      requireVerification: op.requireVerification,
      progress: op.progress.length,
      progressCiphertext: await sealShares(this.progress, key, op.progress),
      authorisedCheck: op.authorisedCheck ?? null,
      verificationNonce: pending?.nonce ?? null,
      verificationKeyCiphertext: pending ? await this.verificationKey.seal(key, pending.unsealKey) : null,
      verificationProgress: pending?.progress.length ?? 0,
      verificationProgressCiphertext: pending ? await sealShares(this.verificationProgress, { target, nonce: pending.nonce }, pending.progress) : null,
    };
    if (row) {
      await rows.update({ target }, values);
      return;
    }
    const inserted = await m.createQueryBuilder().insert().into(RekeyOperationEntity).values(values).orIgnore().returning('target').execute();
    if ((inserted.raw as unknown[]).length === 0) throw new RekeyInProgressError();
  }
}
