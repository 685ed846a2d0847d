/** A small HTTP helper for e2e tests (fetch-based; LIST goes through as a real method). */
export interface HttpResult {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
  headers: Headers;
}

export async function call(
  address: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers['X-Vault-Token'] = options.token;
  let body: string | Buffer | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(`${address}/v1/${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** Initialises with one key share and unseals with it. */
export async function initAndUnseal(address: string): Promise<{ rootToken: string; key: string }> {
  const init = (await call(address, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })).body;
  expect((await call(address, 'PUT', 'sys/unseal', { body: { key: init.keys[0] } })).body.sealed).toBe(false);
  return { rootToken: init.root_token, key: init.keys[0] };
}

/**
 * Sends bytes exactly as given (no client-side normalisation) and returns the status line, the
 * whole answer as `text`, and its header fields (names lower-cased) and body.
 * By default the client then half-closes; `halfClose: false` keeps its side open until the server
 * closes (send `Connection: close`), as ordinary clients do.
 */
export function rawRequest(port: number, bytes: string | Buffer, options: { halfClose?: boolean } = {}): Promise<RawAnswer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const net = require('node:net') as typeof import('node:net');
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => (options.halfClose === false ? socket.write(bytes) : socket.end(bytes)));
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(parseAnswer(data)));
  });
}

export interface RawAnswer {
  /** 0 when nothing that looks like an HTTP/1.1 answer came back. */
  status: number;
  text: string;
  headers: Record<string, string>;
  body: string;
}

function parseAnswer(text: string): RawAnswer {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  const end = text.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of (end < 0 ? text : text.slice(0, end)).split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: m ? Number(m[1]) : 0, text, headers, body: end < 0 ? '' : text.slice(end + 4) };
}
