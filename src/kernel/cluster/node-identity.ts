/**
 * Who this process is among the processes sharing the database: a node (a machine or container) and
 * one of its workers. Read once from SECRETHUB_NODE_ID and SECRETHUB_WORKER_ID; without them the node
 * id is random (a new one per start) and the worker is 1.
 */
import { randomUUID } from 'node:crypto';

export interface NodeIdentity {
  nodeId: string;
  workerId: number;
}

let identity: NodeIdentity | undefined;

export function nodeIdentity(): NodeIdentity {
  if (!identity) {
    const worker = Number(process.env.SECRETHUB_WORKER_ID ?? '1');
    identity = {
      nodeId: process.env.SECRETHUB_NODE_ID || randomUUID(),
      workerId: Number.isInteger(worker) && worker > 0 ? worker : 1,
    };
  }
  return identity;
}
