/**
 * The HTTPS listener (NestJS + Fastify as the server builds it) in front of a recording pipeline:
 * what each client-certificate mode lets through, and the `peerCertificate` the pipeline receives.
 * A stand-in pipeline records every PipelineRequest, so the assertion is on exactly what the
 * controller hands over, with no test route in the server.
 */
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { buildConfig } from '../../src/config/config';
import { apiModuleFor, createApiServer, type HttpServerHandle } from '../../src/http/http-server';
import type { PipelineRequest, RequestPipeline } from '../../src/application/request-pipeline';
import { createLogger } from '../../src/logger';
import { httpsCall, makeTestPki, type TestPki } from '../support/tls';

jest.setTimeout(60_000);

let pki: TestPki;
const servers: HttpServerHandle[] = [];
const seen: PipelineRequest[] = [];

const recordingPipeline = {
  async handle(req: PipelineRequest) {
    seen.push(req);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ initialized: false }) };
  },
} as unknown as RequestPipeline;

async function listen(settings: Record<string, unknown>): Promise<string> {
  const listener = buildConfig(
    { listener: { tcp: { tls_cert_file: pki.serverCert, tls_key_file: pki.serverKey, ...settings } } },
    {},
    { listen: '127.0.0.1:0' },
  ).listener;
  const server = await createApiServer(apiModuleFor(recordingPipeline), listener, createLogger('error'));
  servers.push(server);
  return server.listen();
}

/** The last request the pipeline saw, after one more request through `call`. */
async function seenBy(call: () => Promise<unknown>): Promise<PipelineRequest> {
  const before = seen.length;
  await call();
  expect(seen.length).toBe(before + 1);
  return seen[seen.length - 1];
}

const der = (file: string) => new X509Certificate(pki.read(file)).raw;

beforeAll(() => (pki = makeTestPki()));
afterAll(async () => {
  for (const s of servers) await s.close();
  pki?.cleanup();
});

describe('TLS listener: client certificates requested (the default)', () => {
  let address: string;
  let ca: string;
  beforeAll(async () => {
    address = await listen({ tls_client_ca_file: pki.clientCaCert });
    ca = pki.read(pki.caCert);
  });

  it('serves HTTPS with the chain in tls_cert_file: a client trusting only the root verifies it', async () => {
    expect(address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const req = await seenBy(async () => expect((await httpsCall(`${address}/v1/sys/seal-status`, { ca })).status).toBe(200));
    expect(req.url).toBe('sys/seal-status');
    expect(req.peerCertificate).toBeUndefined();
    await expect(httpsCall(`${address}/v1/sys/seal-status`, { ca, servername: 'localhost' })).resolves.toMatchObject({ status: 200 });
  });

  it('a client that does not trust the CA refuses the server', async () => {
    await expect(httpsCall(`${address}/v1/sys/seal-status`)).rejects.toMatchObject({ code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' });
  });

  it('a good client certificate reaches the pipeline as DER with its issuer, authorized', async () => {
    const req = await seenBy(() =>
      httpsCall(`${address}/v1/auth/cert/login`, { ca, cert: pki.read(pki.clientCert), key: pki.read(pki.clientKey), method: 'POST', body: {} }),
    );
    expect(req.peerCertificate).toEqual({ der: der(pki.clientCert), chainDer: [der(pki.clientCaCert)], authorized: true });
  });

  it("an unknown CA's client certificate is let through, marked unauthorized with OpenSSL's reason", async () => {
    const req = await seenBy(() => httpsCall(`${address}/v1/sys/seal-status`, { ca, cert: pki.read(pki.otherClientCert), key: pki.read(pki.otherClientKey) }));
    expect(req.peerCertificate).toMatchObject({ der: der(pki.otherClientCert), authorized: false });
    expect(req.peerCertificate?.authorizationError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});

describe('TLS listener: tls_require_and_verify_client_cert', () => {
  let address: string;
  let ca: string;
  beforeAll(async () => {
    address = await listen({ tls_client_ca_file: pki.clientCaCert, tls_require_and_verify_client_cert: true });
    ca = pki.read(pki.caCert);
  });

  it('refuses a handshake without a client certificate or with one of an unknown CA; the pipeline never sees them', async () => {
    const before = seen.length;
    await expect(httpsCall(`${address}/v1/sys/seal-status`, { ca })).rejects.toThrow();
    await expect(httpsCall(`${address}/v1/sys/seal-status`, { ca, cert: pki.read(pki.otherClientCert), key: pki.read(pki.otherClientKey) })).rejects.toThrow();
    // A server certificate is not a client certificate (serverAuth only): refused too.
    await expect(httpsCall(`${address}/v1/sys/seal-status`, { ca, cert: pki.read('server-leaf.crt'), key: pki.read(pki.serverKey) })).rejects.toThrow();
    expect(seen.length).toBe(before);
  });

  it('accepts the good client certificate and hands it over, authorized', async () => {
    const req = await seenBy(async () =>
      expect((await httpsCall(`${address}/v1/sys/seal-status`, { ca, cert: pki.read(pki.clientCert), key: pki.read(pki.clientKey) })).status).toBe(200),
    );
    expect(req.peerCertificate).toMatchObject({ der: der(pki.clientCert), authorized: true });
  });
});

describe('TLS listener: tls_disable_client_certs and tls_min_version', () => {
  it('with client certificates disabled none is asked for, so none reaches the pipeline', async () => {
    const address = await listen({ tls_client_ca_file: pki.clientCaCert, tls_disable_client_certs: true });
    const req = await seenBy(() =>
      httpsCall(`${address}/v1/sys/seal-status`, { ca: pki.read(pki.caCert), cert: pki.read(pki.clientCert), key: pki.read(pki.clientKey) }),
    );
    expect(req.peerCertificate).toBeUndefined();
  });

  it('tls13 refuses a TLS 1.2 client and serves a TLS 1.3 one', async () => {
    const address = await listen({ tls_min_version: 'tls13' });
    const ca = pki.read(pki.caCert);
    await expect(httpsCall(`${address}/v1/sys/seal-status`, { ca, maxVersion: 'TLSv1.2' })).rejects.toThrow();
    await expect(httpsCall(`${address}/v1/sys/seal-status`, { ca })).resolves.toMatchObject({ status: 200 });
  });
});
