/**
 * The root generation attempt in the database: one row, shared by every process of every node.
 *
 * Invariants:
 * - every change runs in one transaction holding the row's lock (`locked`), so shares submitted on
 *   two processes are serialised: each counts once, and exactly one meets the threshold;
 * - a section that finds no row and leaves an attempt inserts it only if no other process inserted
 *   one meanwhile (`GenerateRootInProgressError` otherwise);
 * - the OTP and the submitted shares are sealed by the barrier, bound to the attempt's nonce; the
 *   share count is plain, for status.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { zero } from '../../crypto/hmac';
import type { Barrier } from '../barrier/barrier';
import { type Ciphertext, SealedColumn } from '../barrier/sealed-column';
import { GENERATE_ROOT_OTP, GENERATE_ROOT_PROGRESS } from '../barrier/sealed-columns';
import { GenerateRootAttemptEntity } from './seal.entity';
import { openShares, sealShares } from './share-list';

const ROW = 'root';

/** An attempt with its OTP and shares opened (memory only while a locked section runs). */
export interface GenerateRootAttempt {
  nonce: string;
  otp: string;
  progress: Buffer[];
}

export class GenerateRootInProgressError extends Error {
  constructor() {
    super('root generation already in progress');
    this.name = 'GenerateRootInProgressError';
  }
}

export class GenerateRootAttemptRepository {
  private readonly otp: SealedColumn<string>;
  private readonly progress: SealedColumn<string>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.otp = new SealedColumn(GENERATE_ROOT_OTP, barrier);
    this.progress = new SealedColumn(GENERATE_ROOT_PROGRESS, barrier);
  }

  /** The attempt's nonce and share count; nothing secret. */
  async summary(): Promise<{ nonce: string; progress: number } | undefined> {
    const row = await this.dataSource.getRepository(GenerateRootAttemptEntity).findOneBy({ name: ROW });
    return row ? { nonce: row.nonce, progress: row.progress } : undefined;
  }

  /**
   * Runs `section` on the attempt (null: none), read and opened under its row lock, and stores the
   * attempt it gives back (null: deleted) in the same transaction. Opened shares are zeroed afterwards.
   */
  async locked<T>(section: (attempt: GenerateRootAttempt | null) => Promise<{ result: T; next: GenerateRootAttempt | null }>): Promise<T> {
    return this.dataSource.transaction(async (m) => {
      const row = await m.getRepository(GenerateRootAttemptEntity).findOne({ where: { name: ROW }, lock: { mode: 'pessimistic_write' } });
      const current = row ? await this.open(row) : null;
      let next: GenerateRootAttempt | null = null;
      try {
        const outcome = await section(current);
        next = outcome.next;
        await this.store(m, row, next);
        return outcome.result;
      } finally {
        zero(...(current?.progress ?? []));
        if (next && next !== current) zero(...next.progress);
      }
    });
  }

  /** Deletes the attempt (cancel). */
  async remove(): Promise<void> {
    await this.dataSource.getRepository(GenerateRootAttemptEntity).delete({ name: ROW });
  }

  private async open(row: GenerateRootAttemptEntity): Promise<GenerateRootAttempt> {
    const otp = await this.otp.open(row.nonce, row.otpCiphertext as Ciphertext);
    const progress = row.progressCiphertext ? await openShares(this.progress, row.nonce, row.progressCiphertext) : [];
    try {
      return { nonce: row.nonce, otp: otp.toString('utf8'), progress };
    } finally {
      zero(otp);
    }
  }

  private async store(m: EntityManager, row: GenerateRootAttemptEntity | null, attempt: GenerateRootAttempt | null): Promise<void> {
    const rows = m.getRepository(GenerateRootAttemptEntity);
    if (!attempt) {
      if (row) await rows.delete({ name: ROW });
      return;
    }
    const progressCiphertext = await sealShares(this.progress, attempt.nonce, attempt.progress);
    const values = {
      name: ROW,
      nonce: attempt.nonce,
      otpCiphertext: await this.otp.seal(attempt.nonce, Buffer.from(attempt.otp, 'utf8')),
      progress: attempt.progress.length,
      progressCiphertext,
    };
    if (row) {
      await rows.update({ name: ROW }, values);
      return;
    }
    const inserted = await m.createQueryBuilder().insert().into(GenerateRootAttemptEntity).values(values).orIgnore().returning('name').execute();
    if ((inserted.raw as unknown[]).length === 0) throw new GenerateRootInProgressError();
  }
}
