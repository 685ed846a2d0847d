/**
 * Vault clients send the HTTP method `LIST`, which Node's HTTP parser (llhttp) rejects before any
 * framework sees it. We rewrite it below the parser: each connection's bytes pass through
 * ListMethodRewriter, which follows HTTP/1.1 request framing (Content-Length and chunked bodies)
 * and turns a request line `LIST <target>` into `GET <target>?list=true` — exactly what Vault
 * treats as the same operation. llhttp still parses and validates everything; where the framing is
 * anything unusual (upgrade, conflicting lengths, oversized heads) the rewriter steps aside and
 * passes bytes through untouched, so it can never make a request acceptable that llhttp would refuse.
 */
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';

const EMPTY = Buffer.alloc(0);
const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_LINE_BYTES = 4096;

type State = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'passthrough';

/** Adds `list=true` to a request target. */
export function listTarget(target: string): string {
  const hash = target.indexOf('#');
  const base = hash >= 0 ? target.slice(0, hash) : target;
  return base + (base.includes('?') ? '&' : '?') + 'list=true';
}

/** Whether `pieces` are consecutive views of `chunk` covering all of it. */
function isWholeChunk(pieces: readonly Buffer[], chunk: Buffer): boolean {
  let offset = chunk.byteOffset;
  for (const piece of pieces) {
    if (piece.buffer !== chunk.buffer || piece.byteOffset !== offset) return false;
    offset += piece.length;
  }
  return offset === chunk.byteOffset + chunk.length;
}

export class ListMethodRewriter {
  private state: State = 'head';
  private pending: Buffer = EMPTY;
  private remaining = 0;
  private lineBytes = 0;
  private lineText = '';

  /** Transforms one chunk of client bytes; may hold back an incomplete request head. */
  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let data = chunk;
    while (data.length > 0) {
      switch (this.state) {
        case 'passthrough':
          out.push(data);
          data = EMPTY;
          break;
        case 'head':
          data = this.consumeHead(data, out);
          break;
        case 'body':
        case 'chunk-data':
        case 'chunk-crlf': {
          const n = Math.min(this.remaining, data.length);
          out.push(data.subarray(0, n));
          data = data.subarray(n);
          this.remaining -= n;
          if (this.remaining === 0) this.afterCounted();
          break;
        }
        case 'chunk-size':
        case 'trailers':
          data = this.consumeLine(data, out);
          break;
      }
    }
    if (out.length === 1) return out[0];
    // A head passed through untouched and the body after it are views of the chunk, in order:
    // the chunk itself, not a copy of it (a request's first 64 KiB read, for every body).
    return isWholeChunk(out, chunk) ? chunk : Buffer.concat(out);
  }

  /** Bytes still held back (an incomplete head) when the client ends the connection. */
  flush(): Buffer {
    const rest = this.pending;
    this.pending = EMPTY;
    this.state = 'passthrough';
    return rest;
  }

  private afterCounted(): void {
    if (this.state === 'body') this.state = 'head';
    else if (this.state === 'chunk-data') {
      this.state = 'chunk-crlf';
      this.remaining = 2;
    } else this.state = 'chunk-size';
  }

  private consumeHead(data: Buffer, out: Buffer[]): Buffer {
    const searchFrom = Math.max(0, this.pending.length - 3);
    const buf = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    const end = buf.indexOf(HEAD_END, searchFrom);
    if (end < 0) {
      if (buf.length > MAX_HEAD_BYTES) {
        this.state = 'passthrough';
        this.pending = EMPTY;
        out.push(buf);
      } else {
        this.pending = buf;
      }
      return EMPTY;
    }
    this.pending = EMPTY;
    out.push(this.rewriteHead(buf.subarray(0, end + HEAD_END.length)));
    return buf.subarray(end + HEAD_END.length);
  }

  /** Reads framing from one complete head, sets the next state, and rewrites a LIST request line. */
  private rewriteHead(head: Buffer): Buffer {
    const text = head.toString('latin1');
    const lines = text.split('\r\n');
    let first = 0;
    while (first < lines.length && lines[first] === '') first++;
    const requestLine = lines[first] ?? '';
    let contentLength: string | undefined;
    let chunked = false;
    let unusual = false;
    for (const line of lines.slice(first + 1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (contentLength !== undefined && contentLength !== value) unusual = true;
        contentLength = value;
      } else if (name === 'transfer-encoding') {
        if (
          value
            .toLowerCase()
            .split(',')
            .map((s) => s.trim())
            .includes('chunked')
        )
          chunked = true;
        else unusual = true;
      } else if (name === 'upgrade') {
        unusual = true;
      }
    }
    if (chunked && contentLength !== undefined) unusual = true;
    if (contentLength !== undefined && !/^\d{1,15}$/.test(contentLength)) unusual = true;

    if (unusual) this.state = 'passthrough';
    else if (chunked) this.state = 'chunk-size';
    else if (contentLength !== undefined && Number(contentLength) > 0) {
      this.state = 'body';
      this.remaining = Number(contentLength);
    } else this.state = 'head';

    const m = /^LIST ([^ ]+)( HTTP\/\d\.\d)$/.exec(requestLine);
    if (!m) return head;
    lines[first] = `GET ${listTarget(m[1])}${m[2]}`;
    return Buffer.from(lines.join('\r\n'), 'latin1');
  }

  /** chunk-size lines and trailer lines end with LF; pass them through while reading them. */
  private consumeLine(data: Buffer, out: Buffer[]): Buffer {
    const nl = data.indexOf(0x0a);
    const part = nl < 0 ? data : data.subarray(0, nl + 1);
    out.push(part);
    this.lineBytes += part.length;
    if (this.lineBytes > MAX_LINE_BYTES) {
      this.state = 'passthrough';
      return data.subarray(part.length);
    }
    this.lineText += part.toString('latin1');
    if (nl < 0) return EMPTY;
    const line = this.lineText.replace(/\r?\n$/, '');
    this.lineText = '';
    this.lineBytes = 0;
    if (this.state === 'chunk-size') {
      const size = Number.parseInt(line.split(';')[0].trim(), 16);
      if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+$/.test(line.split(';')[0].trim())) this.state = 'passthrough';
      else if (size === 0) this.state = 'trailers';
      else {
        this.state = 'chunk-data';
        this.remaining = size;
      }
    } else if (line === '') {
      this.state = 'head';
    }
    return data.subarray(part.length);
  }
}

/**
 * Routes each connection's incoming bytes through a ListMethodRewriter. Node's parser normally
 * reads the socket natively; marking the handle consumed makes it read 'data' events instead,
 * which we transform. Writes still go straight to the socket.
 */
export function acceptListMethod(server: HttpServer, connectionEvent: 'connection' | 'secureConnection' = 'connection'): void {
  server.prependListener(connectionEvent, (socket: Socket) => {
    const handle = (socket as unknown as { _handle?: { _consumed?: boolean } })._handle;
    if (handle) handle._consumed = true;
    const rewriter = new ListMethodRewriter();
    const emit = socket.emit as (this: Socket, event: string | symbol, ...args: unknown[]) => boolean;
    socket.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'data') {
        const out = rewriter.push(args[0] as Buffer);
        return out.length === 0 ? true : emit.call(this, 'data', out);
      }
      if (event === 'end') {
        const rest = rewriter.flush();
        if (rest.length > 0) emit.call(this, 'data', rest);
      }
      return emit.call(this, event, ...args);
    } as Socket['emit'];
  });
}
