/**
 * The requests this node is handling now (Vault's sys/in-flight-req): request id → when it started,
 * the client address, the path and method. The path is shown without its query string; the split
 * is made when the list is read, not on every request.
 */
export interface InFlightRequest {
  startTime: Date;
  clientRemoteAddress: string;
  /** The request target below /v1/, query string included. */
  url: string;
  requestMethod: string;
}

export class InFlightRequests {
  private readonly requests = new Map<string, InFlightRequest>();

  /** Records a request; call the returned function when it is answered. */
  add(requestId: string, request: InFlightRequest): () => void {
    this.requests.set(requestId, request);
    return () => this.requests.delete(requestId);
  }

  get size(): number {
    return this.requests.size;
  }

  /** Vault's JSON: `{<request id>: {start_time, client_remote_address, request_path, request_method, client_id}}`. */
  snapshot(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [id, r] of this.requests) {
      out[id] = {
        start_time: r.startTime.toISOString(),
        client_remote_address: r.clientRemoteAddress,
        request_path: `/v1/${r.url.split('?', 1)[0]}`,
        request_method: r.requestMethod,
        // Vault's client id comes from identity entities, which SecretHub has not: always empty, as Vault's for requests without one.
        client_id: '',
      };
    }
    return out;
  }
}
