import fc from 'fast-check';
import { ListMethodRewriter, listTarget } from './list-method';

function run(chunks: string[]): string {
  const r = new ListMethodRewriter();
  return chunks.map((c) => r.push(Buffer.from(c, 'latin1')).toString('latin1')).join('') + r.flush().toString('latin1');
}

describe('ListMethodRewriter', () => {
  it('rewrites a LIST request line to GET ?list=true', () => {
    expect(run(['LIST /v1/secret/metadata/ HTTP/1.1\r\nHost: x\r\n\r\n'])).toBe('GET /v1/secret/metadata/?list=true HTTP/1.1\r\nHost: x\r\n\r\n');
  });

  it('appends to an existing query string', () => {
    expect(listTarget('/v1/a?after=b')).toBe('/v1/a?after=b&list=true');
  });

  it('leaves other methods alone and does not touch bodies that look like requests', () => {
    const body = 'LIST /v1/evil HTTP/1.1\r\n\r\n';
    const req = `POST /v1/x HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    expect(run([req])).toBe(req);
  });

  it('hands a chunk it does not change on as the same buffer, not a copy', () => {
    const chunk = Buffer.from('POST /v1/x HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd', 'latin1');
    expect(new ListMethodRewriter().push(chunk)).toBe(chunk);
    const list = Buffer.from('LIST /v1/y HTTP/1.1\r\nContent-Length: 1\r\n\r\nz', 'latin1');
    expect(new ListMethodRewriter().push(list)).not.toBe(list);
  });

  it('follows keep-alive: a LIST after a POST with a body is rewritten', () => {
    const out = run(['POST /v1/x HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd', 'LIST /v1/y HTTP/1.1\r\n\r\n']);
    expect(out).toBe('POST /v1/x HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcdGET /v1/y?list=true HTTP/1.1\r\n\r\n');
  });

  it('follows chunked bodies including trailers', () => {
    const post = 'POST /v1/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nLIST\r\n0\r\nX-T: 1\r\n\r\n';
    expect(run([post, 'LIST /v1/y HTTP/1.1\r\n\r\n'])).toBe(post + 'GET /v1/y?list=true HTTP/1.1\r\n\r\n');
  });

  it('steps aside on conflicting framing', () => {
    const req = 'POST /v1/x HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\nLIST /v1/y HTTP/1.1\r\n\r\n';
    expect(run([req])).toBe(req);
  });

  it('gives the same bytes however the stream is split', () => {
    const stream =
      'LIST /v1/a HTTP/1.1\r\nHost: h\r\n\r\nPOST /v1/b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nLIST /v1/c?x=1 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /v1/d HTTP/1.1\r\n\r\n';
    const expected = run([stream]);
    expect(expected).toContain('GET /v1/a?list=true');
    expect(expected).toContain('GET /v1/c?x=1&list=true');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks: string[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(stream.slice(prev, p));
          prev = p;
        }
        chunks.push(stream.slice(prev));
        expect(run(chunks)).toBe(expected);
      }),
    );
  });
});
