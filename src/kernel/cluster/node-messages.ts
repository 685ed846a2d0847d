/**
 * The messages between a node's parent and its workers (node:cluster IPC). Shares and the root key
 * travel base64-encoded in these messages only: this channel is the one way a key leaves a process.
 */
import type { ProgressView } from '../seal/unseal-progress';

/** Every message of ours carries this tag (Node's own cluster messages do not). */
export const NODE_MESSAGE_TAG = 'secrethub-node';

export type WorkerRequest =
  | { op: 'submit'; share: string; threshold: number }
  /** The worker takes the node's commands from now on; the reply carries the node's key while it is unsealed. */
  | { op: 'join' }
  | { op: 'reset' }
  | { op: 'progress' }
  | { op: 'failed' }
  | { op: 'unsealed'; key: string }
  | { op: 'sealed' };

export type WireOutcome = ({ kind: 'progress' } & ProgressView) | { kind: 'threshold'; shares: string[] } | { kind: 'unsealed' };

export interface JoinReply {
  key?: string;
}

export type NodeMessage =
  | { tag: typeof NODE_MESSAGE_TAG; type: 'request'; id: number; request: WorkerRequest }
  | { tag: typeof NODE_MESSAGE_TAG; type: 'reply'; id: number; outcome?: WireOutcome | ProgressView | JoinReply; error?: string }
  /** Parent → worker; the worker answers with `done` and the same id. */
  | { tag: typeof NODE_MESSAGE_TAG; type: 'command'; id: number; command: 'unseal' | 'seal'; key?: string }
  | { tag: typeof NODE_MESSAGE_TAG; type: 'done'; id: number; error?: string };

export function isNodeMessage(message: unknown): message is NodeMessage {
  return typeof message === 'object' && message !== null && (message as { tag?: unknown }).tag === NODE_MESSAGE_TAG;
}

/** What a process uses to talk to the other end (a worker's `process`, the parent's `Worker`). */
export interface MessageChannel {
  send(message: NodeMessage): void;
}
