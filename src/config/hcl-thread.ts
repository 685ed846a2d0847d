/**
 * HCL parsing on a worker thread, for documents that arrive in requests.
 *
 * js-hcl-parser needs well over 100 ms for a policy of a few hundred path blocks (measured: 500
 * blocks, 49 KB, 135–200 ms median and up to ~1 s on a shared, loaded two-core machine), and the
 * event loop must never be held that long. One thread, started on first use and unref'd (an idle thread never keeps the process
 * alive; a job's timer does while it runs). Jobs run one at a time, in order. A thread idle for
 * `idleMs` is ended: it holds ~25 MB of RSS (its own V8 heap and the parser's code), and documents
 * arrive rarely (policy writes, usually in bursts), so the next one pays a new thread's start
 * (~100 ms) instead. Its young generation is kept small (documents are bounded).
 *
 * Invariants
 * - A job that runs longer than the timeout, that throws inside the parser (its GopherJS runtime
 *   can be left broken, e.g. after a stack overflow), or that kills the thread (out of memory)
 *   fails with HclSyntaxError, and the thread is replaced before the next job.
 * - The thread only parses: it is given text and returns the parser's output, its JSON made
 *   compact (the parser indents by depth, several times the size of the data) so that the main
 *   thread's JSON.parse stays proportional to the document.
 */
import { Worker } from 'node:worker_threads';
import { HclSyntaxError } from './hcl';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { parse } = require(workerData.parser);
parentPort.on('message', (text) => {
  let reply;
  try {
    const output = parse(text);
    reply = { output: typeof output === 'string' && output.startsWith('{') ? JSON.stringify(JSON.parse(output)) : output };
  } catch (err) {
    reply = { thrown: String((err && err.message) || err) };
  }
  parentPort.postMessage(reply);
});
`;

interface Job {
  text: string;
  resolve: (output: string) => void;
  reject: (err: Error) => void;
}

export interface HclThreadOptions {
  /** A job running longer than this fails and the thread is replaced. */
  timeoutMs: number;
  /** The thread's old-generation heap; a job that needs more fails. */
  maxHeapMb: number;
  /** A module exporting `parse(text): string` (default js-hcl-parser; tests put a misbehaving one here). */
  parser?: string;
  /** An idle thread is ended after this long (default 1 s); the next job starts a new one. */
  idleMs?: number;
}

const DEFAULT_IDLE_MS = 1_000;
/** The thread's young generation (a thread with the default one held 31 MB of RSS, with this 25). */
const YOUNG_GENERATION_MB = 2;

export class HclThread {
  private worker?: Worker;
  private readonly queue: Job[] = [];
  private running?: { job: Job; timer: NodeJS.Timeout };
  private idleTimer?: NodeJS.Timeout;

  constructor(private readonly options: HclThreadOptions) {}

  /** The parser's output for `text` (its JSON, or its `unable to parse` message). Fails with HclSyntaxError as above. */
  parse(text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ text, resolve, reject });
      this.next();
    });
  }

  /** True while a thread exists (running a job, or idle for less than `idleMs`). */
  get threadAlive(): boolean {
    return this.worker !== undefined;
  }

  /** Ends the thread; queued jobs fail. */
  async close(): Promise<void> {
    this.clearIdle();
    const worker = this.worker;
    this.worker = undefined;
    for (const job of this.queue.splice(0)) job.reject(new Error('HCL parser thread closed'));
    this.finish()?.reject(new Error('HCL parser thread closed'));
    await worker?.terminate();
  }

  private next(): void {
    if (this.running) return;
    if (this.queue.length === 0) return this.scheduleIdleEnd();
    this.clearIdle();
    const job = this.queue.shift() as Job;
    let worker: Worker;
    try {
      worker = this.worker ?? this.start();
    } catch (err) {
      job.reject(err as Error);
      this.next();
      return;
    }
    const timer = setTimeout(() => this.fail(new HclSyntaxError('document took too long to parse')), this.options.timeoutMs);
    this.running = { job, timer };
    worker.postMessage(job.text);
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { parser: this.options.parser ?? require.resolve('js-hcl-parser') },
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb, maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    worker.on('message', (reply: { output?: string; thrown?: string }) => {
      if (worker !== this.worker) return;
      if (typeof reply.output === 'string') {
        this.finish()?.resolve(reply.output);
        this.next();
      } else this.fail(new HclSyntaxError('document could not be parsed'));
    });
    worker.on('error', () => {
      if (worker === this.worker) this.fail(new HclSyntaxError('document could not be parsed within the parser thread limits'));
    });
    worker.on('exit', () => {
      if (worker === this.worker) this.fail(new HclSyntaxError('document could not be parsed'));
    });
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** Fails the running job and drops the thread; the next job starts a new one. */
  private fail(err: Error): void {
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
    this.finish()?.reject(err);
    this.next();
  }

  private scheduleIdleEnd(): void {
    if (!this.worker || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      const worker = this.worker;
      if (!worker || this.running || this.queue.length > 0) return;
      this.worker = undefined;
      void worker.terminate();
    }, this.options.idleMs ?? DEFAULT_IDLE_MS);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private finish(): Job | undefined {
    const running = this.running;
    if (!running) return undefined;
    clearTimeout(running.timer);
    this.running = undefined;
    return running.job;
  }
}
