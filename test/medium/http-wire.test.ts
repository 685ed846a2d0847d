/**
 * JSON answers on the wire (issue 23, items 1 and 8): every JSON answer, success or error, from the
 * pipeline, from Nest/Fastify or from below the HTTP parser, carries `Content-Type:
 * application/json` exactly (strict clients refuse `; charset=utf-8`), and every error is
 * `{"errors":[...]}` that does not echo the request bytes. Answers of other types keep their own.
 */
import { buildConfig } from '../../src/config/config';
import { apiModuleFor, createApiServer, type HttpServerHandle } from '../../src/http/http-server';
import { createLogger } from '../../src/logger';
import { kernelPipeline, openAuditedKernel, type Call } from '../support/audit';
import { newCanary } from '../support/canary';
import { call as httpCall, rawRequest, type RawAnswer } from '../support/http';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

const CANARY = newCanary();

describe('JSON answers on the wire (medium)', () => {
  let k: TestKernel;
  let call: Call;
  let rootToken: string;
  let key: string;
  let server: HttpServerHandle;
  let address: string;
  let port: number;

  beforeAll(async () => {
    ({ k, call, rootToken, key } = await openAuditedKernel());
    expect((await call('PUT', 'secret/data/app', { data: { password: 'pw' } })).status).toBe(200);
    const listener = buildConfig({ listener: { tcp: { max_request_size: 4096 } } }, {}, { listen: '127.0.0.1:0' }).listener;
    server = await createApiServer(apiModuleFor(kernelPipeline(k, createLogger('error'), listener)), listener, createLogger('error'));
    address = await server.listen();
    port = Number(new URL(address).port);
  });
  afterAll(async () => {
    await server?.close();
    await k?.close();
  });

  const head = (method: string, target: string, extra = '') =>
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: ${rootToken}\r\nConnection: close\r\n${extra}\r\n`;

  /** The answer's status, exact Content-Type and body as JSON. */
  function shape(res: RawAnswer): { status: number; contentType: string | undefined; json: unknown } {
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      json = res.body;
    }
    return { status: res.status, contentType: res.headers['content-type'], json };
  }

  it('successes, pipeline errors (400, 403, 404, 405), help and Nest 404s: exactly application/json', async () => {
    const answers = {
      success: await httpCall(address, 'GET', 'secret/data/app', { token: rootToken }),
      badRequest: await httpCall(address, 'GET', 'sys/key-status?list=yes', { token: rootToken }),
      malformedJson: await httpCall(address, 'PUT', 'secret/data/app', {
        token: rootToken,
        rawBody: '{not json',
        headers: { 'content-type': 'application/json' },
      }),
      forbidden: await httpCall(address, 'GET', 'secret/data/app'),
      notFound: await httpCall(address, 'GET', 'no/such/mount', { token: rootToken }),
      notAllowed: await httpCall(address, 'LIST', 'sys/key-status', { token: rootToken }),
      help: await httpCall(address, 'GET', 'secret/data/app?help=1', { token: rootToken }),
    };
    const seen = Object.fromEntries(Object.entries(answers).map(([name, res]) => [name, [res.status, res.headers.get('content-type')]]));
    expect(seen).toEqual({
      success: [200, 'application/json'],
      badRequest: [400, 'application/json'],
      malformedJson: [400, 'application/json'],
      forbidden: [403, 'application/json'],
      notFound: [404, 'application/json'],
      notAllowed: [405, 'application/json'],
      help: [200, 'application/json'],
    });
    expect(answers.help.body.help).toEqual(expect.any(String));
    expect(answers.forbidden.body).toEqual({ errors: ['permission denied'] });
    // Outside /v1 Nest answers, through the error filter.
    expect(shape(await rawRequest(port, head('GET', '/nowhere')))).toEqual({ status: 404, contentType: 'application/json', json: { errors: [] } });
    // A request target Fastify's router cannot decode (frameworkErrors).
    expect(shape(await rawRequest(port, head('GET', `/v1/secret/data/%E0%A4%A?version=${CANARY}`)))).toEqual({
      status: 400,
      contentType: 'application/json',
      json: { errors: ['malformed request URL'] },
    });
  });

  it('413 (Fastify, before buffering) and the sealed 503: exactly application/json', async () => {
    const big = await rawRequest(port, head('PUT', '/v1/secret/data/app', `Content-Type: application/json\r\nContent-Length: ${1024 * 1024}\r\n`));
    expect(shape(big)).toEqual({ status: 413, contentType: 'application/json', json: { errors: ['http: request body too large'] } });
    await k.seal.seal();
    try {
      const sealed = await httpCall(address, 'GET', 'secret/data/app', { token: rootToken });
      expect([sealed.status, sealed.headers.get('content-type'), sealed.body]).toEqual([503, 'application/json', { errors: ['Vault is sealed'] }]);
    } finally {
      await k.seal.submitUnsealKey(key, false);
    }
    expect((await httpCall(address, 'GET', 'secret/data/app', { token: rootToken })).status).toBe(200);
  });

  it('answers of other types keep their own Content-Type (Prometheus text, PKI PEM and DER)', async () => {
    expect((await call('PUT', 'sys/mounts/pki', { type: 'pki' })).status).toBe(204);
    expect((await call('PUT', 'pki/root/generate/internal', { common_name: 'Wire Root CA', ttl: '24h', key_type: 'ec', key_bits: 256 })).status).toBe(200);
    const types: Record<string, [number, string | null]> = {};
    for (const path of ['sys/metrics?format=prometheus', 'pki/ca/pem', 'pki/ca', 'pki/crl']) {
      const res = await httpCall(address, 'GET', path, { token: rootToken });
      types[path] = [res.status, res.headers.get('content-type')];
    }
    expect(types).toEqual({
      'sys/metrics?format=prometheus': [200, 'text/plain; version=0.0.4; charset=utf-8'],
      'pki/ca/pem': [200, 'application/pem-certificate-chain'],
      'pki/ca': [200, 'application/pkix-cert'],
      'pki/crl': [200, 'application/pkix-crl'],
    });
  });

  it('errors from below the pipeline (431, Node parser 400s) are {"errors":[...]} and never echo the request', async () => {
    const bad: [string, string | Buffer, number][] = [
      ['headers over 16 KB', head('GET', '/v1/sys/health', `X-Padding: ${CANARY.repeat(700)}\r\n`), 431],
      ['raw non-ASCII bytes in the target', Buffer.from(head('GET', `/v1/sys/health?x=\xff\xfe${CANARY}`), 'latin1'), 400],
      ['NUL in a header value', head('GET', '/v1/sys/health', `X-Note: a\0${CANARY}\r\n`), 400],
      ['a control byte in a header name', head('GET', '/v1/sys/health', `X-\x01${CANARY}: a\r\n`), 400],
      ['a lower-case method', head('get', `/v1/sys/health?x=${CANARY}`), 400],
      ['a bad HTTP version', `GET /v1/sys/health?x=${CANARY} HTTP/1.9x\r\nHost: x\r\n\r\n`, 400],
      [
        'a bad chunk size',
        head('PUT', '/v1/secret/data/app', 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n') + `${CANARY}\r\n{}\r\n0\r\n\r\n`,
        400,
      ],
      ['Content-Length with chunked', head('PUT', '/v1/secret/data/app', 'Transfer-Encoding: chunked\r\nContent-Length: 2\r\n') + '0\r\n\r\n', 400],
    ];
    for (const [label, bytes, status] of bad) {
      const res = await rawRequest(port, bytes);
      const answer = shape(res);
      expect({ label, status: answer.status, contentType: answer.contentType }).toEqual({ label, status, contentType: 'application/json' });
      expect({ label, json: answer.json }).toEqual({ label, json: { errors: [expect.stringMatching(/^[a-z][ -~]+$/)] } });
      expect({ label, echoed: res.text.includes(CANARY) }).toEqual({ label, echoed: false });
    }
    // The server stays up.
    expect((await httpCall(address, 'GET', 'sys/health')).status).toBe(200);
  });
});
