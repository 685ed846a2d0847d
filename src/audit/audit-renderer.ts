/**
 * Where audit entries are rendered (redaction HMACs, serialisation, leaf hashes): on a render
 * thread, so that this work, about a third of an audited request's CPU, stops holding up the event
 * loop (decision 83); on the event loop when the thread cannot do it.
 *
 * Invariants:
 * - a job resolves with what `renderJob` gives for it, wherever it ran;
 * - jobs queued in one turn of the event loop go to the thread as one message;
 * - a job never waits on a dead thread: when the thread exits or errs, its unanswered jobs are
 *   rendered inline and the next batch starts a new thread; a job that cannot be cloned is rendered
 *   inline;
 * - the thread is unreferenced: it never keeps the process alive.
 */
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { asBuffer } from './cloned-bytes';
import { renderJob, type RenderJob, type RenderedTarget } from './entry-render';
import type { RenderBatch, RenderBatchResult } from './render-worker';

const RENDER_THREAD_YOUNG_GENERATION_MB = 8;

export interface AuditRenderer {
  render(job: RenderJob): Promise<RenderedTarget[]>;
  close(): Promise<void>;
}

interface Waiting {
  job: RenderJob;
  resolve(targets: RenderedTarget[]): void;
  reject(err: Error): void;
}

/** The chain writer and `pg` want Buffers. */
function revived(targets: RenderedTarget[]): RenderedTarget[] {
  for (const t of targets) if (t.format === 'chain') for (const e of t.entries) Object.assign(e, { bytes: asBuffer(e.bytes), leaf: e.leaf && asBuffer(e.leaf) });
  return targets;
}

/**
 * The render thread's script beside this module. Run from the TypeScript sources (jest), the thread
 * compiles its modules as it loads them, with the TypeScript compiler of the dev dependencies.
 */
function startThread(): Worker {
  const script = join(__dirname, `render-worker${extname(__filename)}`);
  // What it allocates lives for one batch. RSS measured the same with 4, 8 or 16 MB (243-247 MB).
  const resourceLimits = { maxYoungGenerationSizeMb: RENDER_THREAD_YOUNG_GENERATION_MB };
  if (script.endsWith('.js')) return new Worker(script, { resourceLimits });
  const loader = `
    const ts = require(${JSON.stringify(require.resolve('typescript'))});
    const fs = require('node:fs');
    require.extensions['.ts'] = (module, filename) => module._compile(ts.transpileModule(fs.readFileSync(filename, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: filename }).outputText, filename);
    require(${JSON.stringify(script)});`;
  return new Worker(loader, { eval: true, resourceLimits });
}

export class ThreadAuditRenderer implements AuditRenderer {
  private thread: Worker | undefined;
  private queued: Waiting[] = [];
  private readonly inFlight = new Map<number, Waiting[]>();
  private nextId = 1;
  private flushScheduled = false;

  constructor(private readonly log: { error(m: string): void }) {}

  /** The running render thread's id (diagnostics), if one runs. */
  get threadId(): number | undefined {
    return this.thread?.threadId;
  }

  render(job: RenderJob): Promise<RenderedTarget[]> {
    return new Promise((resolve, reject) => {
      this.queued.push({ job, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Stops the thread (at seal); what it had not answered is rendered here. A later job starts another. */
  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    this.renderInline(this.queued.splice(0));
    for (const [id, waiting] of this.inFlight) {
      this.inFlight.delete(id);
      this.renderInline(waiting);
    }
    await thread?.terminate();
  }

  private flush(): void {
    this.flushScheduled = false;
    const waiting = this.queued.splice(0);
    if (waiting.length === 0) return;
    const id = this.nextId++;
    const batch: RenderBatch = { id, jobs: waiting.map((w) => w.job) };
    const thread = this.threadOrStart();
    this.inFlight.set(id, waiting);
    try {
      thread.postMessage(batch);
    } catch {
      // DataCloneError: some job holds a value that cannot cross threads; render them all here.
      this.inFlight.delete(id);
      this.renderInline(waiting);
    }
  }

  private threadOrStart(): Worker {
    if (this.thread) return this.thread;
    const thread = startThread();
    thread.unref();
    thread.on('message', (m: RenderBatchResult) => this.answered(m));
    thread.on('error', (err) => this.lost(thread, `failed: ${err.message}`));
    thread.on('exit', (code) => this.lost(thread, `exited with code ${code}`));
    this.thread = thread;
    return thread;
  }

  private answered(m: RenderBatchResult): void {
    const waiting = this.inFlight.get(m.id);
    if (!waiting) return;
    this.inFlight.delete(m.id);
    waiting.forEach((w, i) => {
      const r = m.results[i];
      if (r?.ok) w.resolve(revived(r.targets));
      else w.reject(new Error(r?.error ?? 'audit entry could not be rendered'));
    });
  }

  /** The thread is gone: what it had not answered is rendered here; the next batch starts another. */
  private lost(thread: Worker, how: string): void {
    if (this.thread !== thread) return;
    this.thread = undefined;
    this.log.error(`audit render thread ${how}; rendering its ${this.inFlight.size} unanswered batches inline and starting another`);
    for (const [id, waiting] of this.inFlight) {
      this.inFlight.delete(id);
      this.renderInline(waiting);
    }
  }

  private renderInline(waiting: Waiting[]): void {
    for (const w of waiting) {
      try {
        w.resolve(renderJob(w.job));
      } catch (err) {
        w.reject(err as Error);
      }
    }
  }
}
