/**
 * The reseal job: after unseal, rewrites every value still bound to its column's legacy location
 * (sealed-columns.ts) under the column's `table/column/row key` location. Migrations cannot do it:
 * they run before unseal, without the barrier's keys.
 *
 * Invariants:
 * - crash-safe and idempotent: each row is replaced by one compare-and-set UPDATE, so after a kill
 *   at any point every row holds either its legacy or its current ciphertext, and both open
 *   (SealedColumn.open falls back); a run skips rows that already open under the current location;
 * - a column is marked finished (kernel secret `sealed_columns/<table>.<column>`) only after a full
 *   pass found no row left in the legacy grammar; marked columns are not scanned again;
 * - one process at a time: the server runs it on the leader (`exclusive`; the advisory lock
 *   `secrethub.reseal` is the default for tests); seal stops it between rows;
 * - log lines name tables, columns and counts only.
 */
import type { DataSource } from 'typeorm';
import { withTryAdvisoryLock } from '../../database/sql';
import type { KernelSecretsRepository } from '../kernel-secrets.repository';
import type { Barrier } from './barrier';
import { ResealRepository } from './reseal.repository';
import { type ResealScan, SealedColumn, type SealedColumnDeclaration } from './sealed-column';
import { visitSealedColumns } from './sealed-columns';

/** Rows read per page. */
const PAGE = 100;
export const RESEAL_MARKER_PREFIX = 'sealed_columns/';

export interface ResealOutcome {
  column: string;
  resealed: number;
  unreadable: number;
  finished: boolean;
}

export class ResealJob {
  private readonly rows: ResealRepository;
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(
    dataSource: DataSource,
    private readonly barrier: Barrier,
    private readonly secrets: KernelSecretsRepository,
    private readonly log: { info(m: string): void; error(m: string): void },
    private readonly exclusive: (work: () => Promise<void>) => Promise<void> = (work) =>
      withTryAdvisoryLock(dataSource, 'secrethub.reseal', work).then(() => undefined),
  ) {
    this.rows = new ResealRepository(dataSource);
  }

  /** Starts a run in the background (after unseal). */
  start(): void {
    this.stopping = false;
    this.running ??= this.exclusive(async () => {
      await this.run();
    })
      // Sealing or shutting down mid-row makes the row's work fail: expected, the next unseal resumes.
      .catch((err: Error) => (this.stopping ? undefined : this.log.error(`reseal: stopped: ${err.message}`)))
      .finally(() => (this.running = undefined));
  }

  /** Stops between two rows (before seal); resolves when the run has stopped. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  /** One pass over every legacy column not yet marked finished. */
  async run(): Promise<ResealOutcome[]> {
    const outcomes: ResealOutcome[] = [];
    for (const work of visitSealedColumns((column) => () => this.column(column))) {
      if (this.stopping) break;
      const outcome = await work();
      if (outcome) outcomes.push(outcome);
    }
    return outcomes;
  }

  private async column<K>(column: SealedColumnDeclaration<K>): Promise<ResealOutcome | undefined> {
    if (!column.legacy) return undefined;
    const name = `${column.table}.${column.column}`;
    const marker = await this.secrets.get(RESEAL_MARKER_PREFIX + name);
    if (marker) {
      marker.fill(0);
      return undefined;
    }
    const { resealed, unreadable, complete } = await this.pass(column, column.legacy.scan);
    const finished = complete && unreadable === 0;
    if (finished) await this.secrets.getOrCreate(RESEAL_MARKER_PREFIX + name, () => Buffer.from('table/column/row key', 'utf8'));
    if (resealed > 0 || unreadable > 0 || !complete)
      this.log.info(
        `reseal: ${name}: ${resealed} rows re-sealed${unreadable ? `, ${unreadable} open under neither location` : ''}${complete ? '' : ' (stopped)'}`,
      );
    return { column: name, resealed, unreadable, finished };
  }

  private async pass<K>(column: SealedColumnDeclaration<K>, scan: ResealScan<K>): Promise<{ resealed: number; unreadable: number; complete: boolean }> {
    const sealed = new SealedColumn(column, this.barrier);
    let after: unknown[] | undefined;
    let resealed = 0;
    let unreadable = 0;
    for (;;) {
      const page = await this.rows.page(column, scan, after, PAGE);
      let changed = 0;
      for (const row of page) {
        if (this.stopping) return { resealed, unreadable, complete: false };
        const result = await sealed.reseal(row.key, row.value);
        if (result === 'unreadable') unreadable++;
        else if (result !== 'current' && (await this.rows.replace(column, scan, row, result.resealed))) changed++;
      }
      resealed += changed;
      if (changed > 0) this.log.info(`reseal: ${column.table}.${column.column}: ${resealed} rows re-sealed so far`);
      if (page.length < PAGE) return { resealed, unreadable, complete: true };
      after = page[page.length - 1].primaryKey;
    }
  }
}
