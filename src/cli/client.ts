/**
 * The CLI's HTTP client. The CLI talks to the server ONLY through the HTTP API.
 * Address: --address, SECRETHUB_ADDR, VAULT_ADDR, else http://127.0.0.1:8200.
 * Token: SECRETHUB_TOKEN, VAULT_TOKEN, ~/.secrethub-token, then ~/.vault-token.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
  ) {
    super(errors.length ? errors.join('; ') : `HTTP ${status}`);
  }
}

/** The server could not be reached: a remote error, like an API error (exit code 2, as Vault's CLI). */
export class ServerUnreachableError extends Error {}

export function resolveAddress(flag?: string): string {
  return (flag ?? process.env.SECRETHUB_ADDR ?? process.env.VAULT_ADDR ?? 'http://127.0.0.1:8200').replace(/\/+$/, '');
}

export function resolveToken(): string | undefined {
  const fromEnv = process.env.SECRETHUB_TOKEN ?? process.env.VAULT_TOKEN;
  if (fromEnv) return fromEnv.trim();
  for (const file of ['.secrethub-token', '.vault-token']) {
    const path = join(homedir(), file);
    if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  }
  return undefined;
}

export interface ApiResponse {
  status: number;
  body: Record<string, unknown> | null;
}

export class ApiClient {
  constructor(
    readonly address: string,
    private readonly token?: string,
    /** Sent as X-Vault-Wrap-TTL: the server answers with a wrapping token instead of the response. */
    private readonly wrapTtl?: string,
  ) {}

  async request(method: string, path: string, body?: unknown, allowStatus: number[] = [], contentType = 'application/json'): Promise<ApiResponse> {
    const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
    if (this.token) headers['X-Vault-Token'] = this.token;
    if (this.wrapTtl) headers['X-Vault-Wrap-TTL'] = this.wrapTtl;
    if (body !== undefined) headers['Content-Type'] = contentType;
    let res: Response;
    try {
      res = await fetch(`${this.address}/v1/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new ServerUnreachableError(`cannot reach ${this.address}: ${((err as Error & { cause?: Error }).cause ?? (err as Error)).message}`, { cause: err });
    }
    const text = await res.text();
    let parsed: Record<string, unknown> | null = null;
    if (text) {
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new ServerUnreachableError(`unexpected response from ${this.address} (HTTP ${res.status})`);
      }
    }
    if (res.status >= 400 && !allowStatus.includes(res.status)) {
      throw new ApiRequestError(res.status, Array.isArray(parsed?.errors) ? (parsed.errors as string[]) : []);
    }
    return { status: res.status, body: parsed };
  }
}
