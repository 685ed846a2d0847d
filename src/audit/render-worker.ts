/**
 * The audit render thread: renders batches of jobs (entry-render.ts) off the event loop and answers
 * each batch with one message. It keeps nothing between batches; a job that throws is answered with
 * its error's message only, and the other jobs of its batch are unaffected.
 */
import { parentPort } from 'node:worker_threads';
import { renderJob, type RenderJob, type RenderedTarget } from './entry-render';

export interface RenderBatch {
  id: number;
  jobs: RenderJob[];
}

export type RenderResult = { ok: true; targets: RenderedTarget[] } | { ok: false; error: string };

export interface RenderBatchResult {
  id: number;
  results: RenderResult[];
}

export function renderBatch(batch: RenderBatch): RenderBatchResult {
  return {
    id: batch.id,
    results: batch.jobs.map((job): RenderResult => {
      try {
        return { ok: true, targets: renderJob(job) };
      } catch (err) {
        return { ok: false, error: `audit entry could not be rendered: ${(err as Error).message}` };
      }
    }),
  };
}

parentPort?.on('message', (batch: RenderBatch) => parentPort?.postMessage(renderBatch(batch)));
