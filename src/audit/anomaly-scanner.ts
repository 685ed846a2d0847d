/**
 * The credential-anomaly job over the database device's chain (`audit_logs`).
 *
 * Invariants:
 * - a run consumes response entries after the cursor whose windows have closed (window end at
 *   least GRACE before now), stores what the detectors found and moves the cursor, all in one
 *   transaction fenced by the leader lease: only the leader scans, and an entry is counted once;
 * - an entry that arrives after its window was scanned (committed more than GRACE late) is counted
 *   by the next run; its window's anomaly only grows (see AnomalyScanTransaction.store);
 * - source addresses are opened in memory for counting and dropped with the run; nothing clear is
 *   stored or logged; a month whose key was destroyed counts as unreadable, it does not fail the run;
 * - a failed run logs one line and the next interval retries from the same cursor.
 */
import type { AnomalyConfig } from '../config/config';
import type { LeaderFence } from '../framework/backend';
import type { AuditAddressKeys } from './address-keys';
import { detectUnusualHour, detectWindow, WindowAccumulator, type AnomalyCandidate, type HistoryHour, type HourActivity } from './anomaly-detectors';
import type { AnomalyRepository, AnomalyScanTransaction, StoredResponse } from './anomaly.repository';

/** How late a response entry may be committed after its own time and still be counted with its window. */
const GRACE_MS = 30_000;
const HOUR_MS = 3_600_000;
const PAGE = 5_000;
/** A run stops at the window boundary after this many entries (a backlog is worked off over several runs). */
const MAX_ENTRIES_PER_RUN = 200_000;

export interface ScanReport {
  /** Response entries consumed. */
  entries: number;
  newAnomalies: number;
  /** Anomalies of windows seen before that grew. */
  updatedAnomalies: number;
  /** The cursor after the run. */
  lastSequence: number;
}

const aligned = (ms: number, periodMs: number) => Math.floor(ms / periodMs) * periodMs;
const subjectKey = (type: string, id: string) => `${type}\u0000${id}`;

export class AnomalyScanner {
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly repository: AnomalyRepository,
    private readonly addressKeys: AuditAddressKeys,
    private readonly config: AnomalyConfig,
    private readonly log: { info(m: string): void; error(m: string): void },
    private readonly fence: LeaderFence,
  ) {}

  /** After unseal: scans every `interval` when enabled. */
  start(): void {
    if (!this.config.enabled || this.timer) return;
    this.timer = setInterval(() => this.tick(), this.config.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Before seal: no new runs; waits for the one in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.tail;
  }

  /** Runs a scan after any in progress; undefined when another process is the leader. */
  scanNow(now = new Date()): Promise<ScanReport | undefined> {
    const run = this.tail.then(() => this.scan(now));
    this.pending++;
    this.tail = run.catch(() => undefined).finally(() => this.pending--);
    return run;
  }

  private tick(): void {
    if (this.pending > 0) return;
    this.scanNow().catch((e: Error) => this.log.error(`audit anomalies: scan failed, retrying in ${this.config.intervalSeconds}s: ${e.message}`));
  }

  private async scan(now: Date): Promise<ScanReport | undefined> {
    const closedBefore = aligned(now.getTime() - GRACE_MS, this.config.windowSeconds * 1000);
    const report = await this.repository.withFencedScan(this.fence, async (tx) => {
      const cursor = await tx.cursor();
      const { entries, through } = await this.readClosedWindows(tx, cursor, closedBefore);
      const accumulator = new WindowAccumulator(this.config.windowSeconds);
      const addresses = await this.addressKeys.openAll(entries.map((e) => e.sealedSource));
      entries.forEach(({ sealedSource: _sealed, ...entry }, i) => accumulator.add({ ...entry, sourceAddress: addresses[i] }));
      addresses.fill(undefined);
      const hours = accumulator.hours();
      await tx.addActivity(hours);
      const candidates = [...accumulator.windows().flatMap((w) => detectWindow(w, this.config)), ...(await this.unusualHours(tx, hours))];
      let created = 0;
      for (const c of candidates) if (await tx.store(c)) created++;
      await tx.pruneActivity(new Date(now.getTime() - this.config.unusualHoursLookbackSeconds * 1000 - HOUR_MS));
      await tx.advanceCursor(through);
      return { entries: entries.length, newAnomalies: created, updatedAnomalies: candidates.length - created, lastSequence: Math.max(cursor, through) };
    });
    if (report && report.newAnomalies > 0)
      this.log.info(`audit anomalies: ${report.newAnomalies} new from ${report.entries} entries (through sequence ${report.lastSequence})`);
    return report;
  }

  /**
   * Response entries after `cursor` in windows that closed before `closedBefore`, stopping at the
   * first entry of a later window; `through` is the last sequence consumed.
   */
  private async readClosedWindows(tx: AnomalyScanTransaction, cursor: number, closedBefore: number): Promise<{ entries: StoredResponse[]; through: number }> {
    const entries: StoredResponse[] = [];
    const windowMs = this.config.windowSeconds * 1000;
    let after = cursor;
    for (;;) {
      const page = await tx.responses(after, PAGE);
      for (const e of page) {
        if (e.time.getTime() >= closedBefore) return { entries, through: entries.at(-1)?.sequence ?? cursor };
        entries.push(e);
      }
      if (page.length < PAGE) return { entries, through: entries.at(-1)?.sequence ?? cursor };
      after = page[page.length - 1].sequence;
      if (entries.length >= MAX_ENTRIES_PER_RUN) {
        // Stop at the start of the last window read, unless that would leave nothing (one huge window is read whole).
        const cut = aligned(entries[entries.length - 1].time.getTime(), windowMs);
        const keep = entries.findIndex((e) => e.time.getTime() >= cut);
        if (keep > 0) return { entries: entries.slice(0, keep), through: entries[keep - 1].sequence };
      }
    }
  }

  /** `unusual_hours` for the hours this run saw, against the history stored so far (this run's counts included). */
  private async unusualHours(tx: AnomalyScanTransaction, hours: HourActivity[]): Promise<AnomalyCandidate[]> {
    if (hours.length === 0) return [];
    const first = hours.reduce((min, h) => Math.min(min, h.hourStart), Infinity);
    const last = hours.reduce((max, h) => Math.max(max, h.hourStart), -Infinity);
    const subjects = [...new Map(hours.map((h) => [subjectKey(h.subject.type, h.subject.id), h.subject])).values()];
    const history = new Map<string, HistoryHour[]>();
    for (const row of await tx.activity(subjects, new Date(first - this.config.unusualHoursLookbackSeconds * 1000), new Date(last + HOUR_MS))) {
      const key = subjectKey(row.subjectType, row.subject);
      if (!history.has(key)) history.set(key, []);
      history.get(key)?.push({ hourStart: row.hourStart, entries: row.entries });
    }
    const found: AnomalyCandidate[] = [];
    for (const h of hours) {
      const own = history.get(subjectKey(h.subject.type, h.subject.id)) ?? [];
      const entriesThisHour = own.find((x) => x.hourStart === h.hourStart)?.entries ?? h.entries;
      const candidate = detectUnusualHour(h, entriesThisHour, own, this.config);
      if (candidate) found.push(candidate);
    }
    return found;
  }
}
