/**
 * A client for several SecretHub nodes, as an application behind a client-side balancer uses them:
 * requests go round-robin over the nodes; a request whose connection is refused or reset before
 * an answer is sent again to the next node. Every answer records which node gave it, so a test can
 * ask "did any request answered by a surviving node fail?".
 */
import { call, type HttpResult } from './http';

export interface ClusterAnswer extends HttpResult {
  /** Index of the node that answered. */
  node: number;
  /** Nodes tried before it whose connection failed. */
  refusedBy: number[];
  method: string;
  path: string;
}

/**
 * fetch's failure for a connection refused, reset or closed before any answer. Checked by name, not
 * instanceof: under jest, fetch's TypeError comes from Node's realm, not the test's.
 */
function isConnectionFailure(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; message?: string; cause?: { code?: string } };
  if (e.name !== 'TypeError') return false;
  const code = e.cause?.code;
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'].includes(code ?? '') || /fetch failed|other side closed/.test(e.message ?? '')
  );
}

export class ClusterClient {
  private next = 0;
  readonly answers: ClusterAnswer[] = [];
  /** Requests that no node answered (every node refused). */
  readonly unanswered: { method: string; path: string; error: string }[] = [];

  constructor(readonly addresses: string[]) {}

  async request(method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<ClusterAnswer> {
    const refusedBy: number[] = [];
    let lastError = '';
    for (let tries = 0; tries < this.addresses.length * 2; tries++) {
      const node = this.next++ % this.addresses.length;
      try {
        const result = await call(this.addresses[node], method, path, options);
        const answer = { ...result, node, refusedBy, method, path };
        this.answers.push(answer);
        return answer;
      } catch (err) {
        if (!isConnectionFailure(err)) throw err;
        refusedBy.push(node);
        lastError = (err as Error).message;
      }
    }
    this.unanswered.push({ method, path, error: lastError });
    throw new Error(`no node answered ${method} ${path}: ${lastError}`);
  }

  /** Answers from the given nodes with a status of 500 or more (or any status not in `ok`). */
  failuresFrom(nodes: number[], ok: (a: ClusterAnswer) => boolean = (a) => a.status < 400): ClusterAnswer[] {
    return this.answers.filter((a) => nodes.includes(a.node) && !ok(a));
  }
}
