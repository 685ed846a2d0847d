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

  /**
   * Sends to the next node in turn; on a connection failure, to the node after that one (each node
   * twice at most). The retries follow this request's own order, not the shared counter, which the
   * other requests in flight move too: otherwise they could all land on the one dead node.
   */
  async request(method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<ClusterAnswer> {
    const refusedBy: number[] = [];
    const errors: string[] = [];
    const first = this.next++;
    for (let tries = 0; tries < this.addresses.length * 2; tries++) {
      const node = (first + tries) % this.addresses.length;
      try {
        const result = await call(this.addresses[node], method, path, options);
        const answer = { ...result, node, refusedBy, method, path };
        this.answers.push(answer);
        return answer;
      } catch (err) {
        if (!isConnectionFailure(err)) throw err;
        refusedBy.push(node);
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        errors.push(`node ${node}: ${(err as Error).message} (${cause?.code ?? cause?.message ?? 'no cause'})`);
      }
    }
    this.unanswered.push({ method, path, error: errors.join('; ') });
    throw new Error(`no node answered ${method} ${path}: ${errors.join('; ')}`);
  }

  /** Answers from the given nodes with a status of 500 or more (or any status not in `ok`). */
  failuresFrom(nodes: number[], ok: (a: ClusterAnswer) => boolean = (a) => a.status < 400): ClusterAnswer[] {
    return this.answers.filter((a) => nodes.includes(a.node) && !ok(a));
  }
}
