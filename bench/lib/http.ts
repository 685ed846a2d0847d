/** A small Vault-API client for setting scenarios up (not used under load). */

export interface ApiResponse {
  status: number;
  body: Record<string, unknown> | undefined;
  text: string;
}

export class VaultApi {
  constructor(
    readonly baseUrl: string,
    readonly rootToken: string,
  ) {}

  async call(method: string, path: string, body?: unknown, token = this.rootToken): Promise<ApiResponse> {
    const res = await fetch(`${this.baseUrl}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  }

  /** Like call(), but throws unless the status is 2xx. */
  async ok(method: string, path: string, body?: unknown, token?: string): Promise<Record<string, unknown>> {
    const r = await this.call(method, path, body, token);
    if (r.status < 200 || r.status > 299) throw new Error(`${method} /v1/${path} answered ${r.status}: ${r.text.slice(0, 300)}`);
    return r.body ?? {};
  }
}

/** Runs `work` on every item with at most `parallel` in flight. */
export async function inParallel<T>(items: T[], parallel: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}
