/**
 * Which node and worker this process is. A node's parent gives each worker SECRETHUB_NODE_ID (one
 * random id per node) and SECRETHUB_WORKER_ID (1..N); a single process has a random node id, fixed
 * for its life, and is worker 1.
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';

export interface NodeIdentity {
  nodeId: string;
  workerId: number;
}

export const NODE_ID_ENV = 'SECRETHUB_NODE_ID';
export const WORKER_ID_ENV = 'SECRETHUB_WORKER_ID';

let fallbackNodeId: string | undefined;

export function nodeIdentity(env: NodeJS.ProcessEnv = process.env): NodeIdentity {
  const workerId = Number(env[WORKER_ID_ENV]);
  return {
    nodeId: env[NODE_ID_ENV] || (fallbackNodeId ??= randomUUID()),
    workerId: Number.isSafeInteger(workerId) && workerId >= 1 ? workerId : 1,
  };
}

/** True in a worker of a multi-worker node (forked by node:cluster, its parent set the worker id). */
export function isNodeWorker(env: NodeJS.ProcessEnv = process.env): boolean {
  return cluster.isWorker && env[WORKER_ID_ENV] !== undefined;
}
