/**
 * Where audit entries are rendered (redaction HMACs, serialisation, leaf hashes): on the event
 * loop, in batches. Decision 87 records why this is no longer a thread of its own (decision 83).
 *
 * Invariants:
 * - a job resolves with what `renderJob` gives for it;
 * - jobs queued in one turn of the event loop are rendered together at the next `setImmediate`, so
 *   that their entries reach the chain writer in the same turn and share a group commit;
 * - a job that fails to render rejects with its error; the other jobs of its batch are unaffected;
 * - `close` renders what is queued before it resolves: no job is left waiting.
 */
import { renderJob, type RenderJob, type RenderedTarget } from './entry-render';

export interface AuditRenderer {
  render(job: RenderJob): Promise<RenderedTarget[]>;
  close(): Promise<void>;
}

interface Waiting {
  job: RenderJob;
  resolve(targets: RenderedTarget[]): void;
  reject(err: Error): void;
}

export class BatchedAuditRenderer implements AuditRenderer {
  private queued: Waiting[] = [];
  private flushScheduled = false;

  render(job: RenderJob): Promise<RenderedTarget[]> {
    return new Promise((resolve, reject) => {
      this.queued.push({ job, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async close(): Promise<void> {
    this.flush();
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const w of this.queued.splice(0)) {
      try {
        w.resolve(renderJob(w.job));
      } catch (err) {
        w.reject(err as Error);
      }
    }
  }
}
