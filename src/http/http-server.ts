/**
 * NestJS on the Fastify adapter. Fastify enforces the body size limit before buffering (413);
 * every body is taken raw, and the request pipeline parses it with its own limits. `LIST` is
 * accepted below the HTTP parser (see list-method.ts). Every JSON answer, down to those for
 * requests the HTTP parser refuses, is `{"errors":[...]}` when an error, with Content-Type exactly
 * `application/json`.
 */
import { Catch, HttpException, Module, type ArgumentsHost, type DynamicModule, type ExceptionFilter, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createServer as createHttpServer, STATUS_CODES, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { ListenerConfig, ListenerTlsConfig } from '../config/config';
import { loadTlsMaterial } from '../config/tls-material';
import type { Logger } from '../logger';
import { RequestPipeline } from '../application/request-pipeline';
import { acceptListMethod } from './list-method';
import { VaultApiController } from './vault-api.controller';

/** Errors raised by Nest or Fastify around the controller (unknown routes outside /v1, bodies over the limit) in Vault's shape. */
@Catch()
class VaultErrorFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    // Fastify's own request errors carry a 4xx statusCode; Nest maps some (413) to HttpExceptions.
    const status = exception instanceof HttpException ? exception.getStatus() : (exception as { statusCode?: number })?.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      sendErrors(reply, status, status === 404 ? [] : status === 413 ? ['http: request body too large'] : [(exception as Error).message]);
      return;
    }
    this.log.error(`http: unhandled error: ${(exception as Error)?.message ?? String(exception)}`);
    sendErrors(reply, 500, ['internal error']);
  }
}

@Module({})
class PipelineApiModule {}

/** The API over a pipeline built by hand, as the root module of createApiServer (tests of the HTTP layer). */
export function apiModuleFor(pipeline: RequestPipeline): DynamicModule {
  return { module: PipelineApiModule, controllers: [VaultApiController], providers: [{ provide: RequestPipeline, useValue: pipeline }] };
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

function errorBody(errors: string[]): Buffer {
  return Buffer.from(JSON.stringify({ errors }));
}

/** A Buffer keeps the Content-Type exactly `application/json`: Fastify appends `; charset=utf-8` to a string with a JSON type. */
function sendErrors(reply: FastifyReply, status: number, errors: string[]): void {
  void reply.status(status).header('content-type', 'application/json').send(errorBody(errors));
}

/** Node's HTTP parser's refusals (llhttp codes), in fixed words: the request's bytes are never quoted. */
const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'request header fields too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'request chunk extensions too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request timeout'],
  HPE_INVALID_METHOD: [400, 'malformed HTTP request: invalid method'],
  HPE_INVALID_URL: [400, 'malformed HTTP request: invalid request target'],
  HPE_INVALID_VERSION: [400, 'malformed HTTP version'],
  HPE_INVALID_HEADER_TOKEN: [400, 'malformed HTTP header'],
  HPE_INVALID_CONTENT_LENGTH: [400, 'malformed HTTP request: invalid Content-Length'],
  HPE_UNEXPECTED_CONTENT_LENGTH: [400, 'malformed HTTP request: invalid Content-Length'],
  HPE_INVALID_TRANSFER_ENCODING: [400, 'malformed HTTP request: invalid Transfer-Encoding'],
  HPE_INVALID_CHUNK_SIZE: [400, 'malformed chunked encoding'],
};

/**
 * Requests Node's HTTP parser refuses never reach Fastify: answered here in Vault's shape, then the
 * connection is closed (as Node's own handler does). Nothing is written once an answer on the
 * connection has begun, so no answer is corrupted.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex, log: Logger): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'malformed HTTP request'];
  log.debug(`http: refused a request below the router: ${err.code ?? 'unknown'} (${status})`);
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = errorBody([message]);
    socket.write(
      Buffer.concat([
        Buffer.from(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        ),
        body,
      ]),
    );
  }
  socket.destroy(err);
}

/**
 * Errors Fastify's router raises before any handler (a request target whose percent-escapes do not
 * decode, an over-long path parameter): Vault's shape, never echoing the target, whose query string
 * may carry secrets (Fastify's own answer quotes the whole target).
 */
function frameworkError(error: { statusCode?: number }, _req: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  sendErrors(reply, status, ['malformed request URL']);
}

export interface HttpServerHandle {
  app: NestFastifyApplication;
  /** Resolves to the bound address, e.g. http://127.0.0.1:8200. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Vault's client-certificate modes in Node's terms. `request` asks for a certificate and lets the
 * handshake finish whatever comes back (Node still verifies one that is sent and reports the result
 * on the socket); `require` aborts handshakes without a certificate that verifies against `ca`
 * (Node's bundled roots when tls_client_ca_file is unset).
 */
export function httpsServerOptions(tls: ListenerTlsConfig): HttpsServerOptions {
  const material = loadTlsMaterial(tls);
  return {
    cert: material.cert.join('\n'),
    key: material.key,
    ca: material.ca,
    requestCert: tls.clientCerts !== 'none',
    rejectUnauthorized: tls.clientCerts === 'require',
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
  };
}

/**
 * The Nest application of `root` (a module graph that serves VaultApiController) on Fastify with
 * the listener's limits and TLS; initialised (every module's init hooks have run), not yet listening.
 * Closing it closes the listener first, then runs the modules' shutdown hooks.
 */
export async function createApiServer(root: Type | DynamicModule, listener: ListenerConfig, log: Logger): Promise<HttpServerHandle> {
  const tls = listener.tls;
  const adapter = new FastifyAdapter({
    bodyLimit: listener.maxRequestBytes,
    requestTimeout: listener.maxRequestDurationSeconds * 1000,
    return503OnClosing: true,
    frameworkErrors: frameworkError,
    clientErrorHandler: (err, socket) => answerClientError(err, socket, log),
    serverFactory: (handler: RequestHandler) => {
      const server: Server = tls ? createHttpsServer(httpsServerOptions(tls), handler) : createHttpServer(handler);
      // Failed handshakes (no or a bad client certificate, plain HTTP to the TLS port) never reach a handler.
      if (tls)
        server.on('tlsClientError', (err: Error & { code?: string }, socket: { remoteAddress?: string }) =>
          log.debug(`tls: handshake from ${socket.remoteAddress ?? '?'} failed: ${err.code ?? err.message}`),
        );
      acceptListMethod(server, tls ? 'secureConnection' : 'connection');
      return server;
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(root, adapter, { bodyParser: false, logger: false, abortOnError: false });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: listener.maxRequestBytes },
    (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => done(null, body),
  );
  app.useGlobalFilters(new VaultErrorFilter(log));
  try {
    await app.init();
  } catch (err) {
    // Modules already started (the cluster bus) are stopped, the database closed.
    await app.close().catch((e: Error) => log.error(`start: could not stop what had started: ${e.message}`));
    throw err;
  }

  return {
    app,
    async listen() {
      await app.listen(listener.port, listener.host);
      const address = fastify.server.address();
      const port = typeof address === 'object' && address ? address.port : listener.port;
      const host = listener.host.includes(':') ? `[${listener.host}]` : listener.host;
      return `${tls ? 'https' : 'http'}://${host}:${port}`;
    },
    close: () => app.close(),
  };
}
