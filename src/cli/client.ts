/**
 * The CLI's HTTP client. The CLI talks to the server ONLY through the HTTP API.
 * Address: --address, SECRETHUB_ADDR, VAULT_ADDR, else http://127.0.0.1:8200 (http:// or https://).
 * Token: SECRETHUB_TOKEN, VAULT_TOKEN, ~/.secrethub-token, then ~/.vault-token.
 * TLS: see tls.ts; the settings apply to https:// addresses only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ClientTlsOptions } from './tls';

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
  /** One agent per client, without keep-alive: a CLI run makes a few requests and must exit promptly. */
  private readonly agent: HttpsAgent;

  constructor(
    readonly address: string,
    private readonly token?: string,
    /** Sent as X-Vault-Wrap-TTL: the server answers with a wrapping token instead of the response. */
    private readonly wrapTtl?: string,
    private readonly tls: ClientTlsOptions = {},
  ) {
    this.agent = new HttpsAgent({ ...tls, keepAlive: false });
  }

  /** The same server and TLS settings with another token (and no wrapping). */
  withToken(token: string): ApiClient {
    return new ApiClient(this.address, token, undefined, this.tls);
  }

  async request(method: string, path: string, body?: unknown, allowStatus: number[] = [], contentType = 'application/json'): Promise<ApiResponse> {
    const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
    if (this.token) headers['X-Vault-Token'] = this.token;
    if (this.wrapTtl) headers['X-Vault-Wrap-TTL'] = this.wrapTtl;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    let res: { status: number; text: string };
    try {
      res = await this.send(method, new URL(`${this.address}/v1/${path}`), headers, payload);
    } catch (err) {
      throw new ServerUnreachableError(`cannot reach ${this.address}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: Record<string, unknown> | null = null;
    if (res.text) {
      try {
        parsed = JSON.parse(res.text) as Record<string, unknown>;
      } catch {
        throw new ServerUnreachableError(`unexpected response from ${this.address} (HTTP ${res.status})`);
      }
    }
    if (res.status >= 400 && !allowStatus.includes(res.status)) {
      throw new ApiRequestError(res.status, Array.isArray(parsed?.errors) ? (parsed.errors as string[]) : []);
    }
    return { status: res.status, body: parsed };
  }

  /** One request over http: or https: (TLS failures, refused connections and bad URLs reject). */
  private send(method: string, url: URL, headers: Record<string, string>, payload: string | undefined): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported address scheme ${url.protocol} (use http:// or https://)`);
      const options = { method, headers };
      const onResponse = (res: import('node:http').IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      };
      const req = url.protocol === 'https:' ? httpsRequest(url, { ...options, agent: this.agent }, onResponse) : httpRequest(url, options, onResponse);
      req.on('error', reject);
      req.end(payload);
    });
  }
}
