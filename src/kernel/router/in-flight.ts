/**
 * The requests this node is handling now (Vault's sys/in-flight-req): request id → when it started,
 * the client address, the path and method. The path is recorded without its query string.
 */
export interface InFlightRequest {
  startTime: Date;
  clientRemoteAddress: string;
  requestPath: string;
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
        request_path: r.requestPath,
        request_method: r.requestMethod,
        // Vault's client id comes from identity entities, which SecretHub has not: always empty, as Vault's for requests without one.
        client_id: '',
      };
    }
    return out;
  }
}
