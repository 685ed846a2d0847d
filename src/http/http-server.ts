/**
 * NestJS on the Fastify adapter. Fastify enforces the body size limit before buffering (413);
 * every body is taken raw, and the request pipeline parses it with its own limits. `LIST` is
 * accepted below the HTTP parser (see list-method.ts).
 */
import { Catch, HttpException, Module, type ArgumentsHost, type DynamicModule, type ExceptionFilter } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createServer as createHttpServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { ListenerConfig, ListenerTlsConfig } from '../config/config';
import { loadTlsMaterial } from '../config/tls-material';
import type { Logger } from '../logger';
import { RequestPipeline } from '../kernel/router/request-pipeline';
import { acceptListMethod } from './list-method';
import { VaultApiController } from './vault-api.controller';

/** Errors raised by Nest itself (unknown routes outside /v1) in Vault's shape. */
@Catch()
class VaultErrorFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      void reply.status(status).header('content-type', 'application/json').send(errorBody(status === 404 ? [] : [exception.message]));
      return;
    }
    // Fastify's own request errors (body too large, bad content length) carry a 4xx statusCode.
    const status = (exception as { statusCode?: number })?.statusCode;
    if (status === 413) {
      void reply.status(413).header('content-type', 'application/json').send(errorBody(['http: request body too large']));
      return;
    }
    if (status && status >= 400 && status < 500) {
      void reply.status(status).header('content-type', 'application/json').send(errorBody([(exception as Error).message]));
      return;
    }
    this.log.error(`http: unhandled error: ${(exception as Error)?.message ?? String(exception)}`);
    void reply.status(500).header('content-type', 'application/json').send(errorBody(['internal error']));
  }
}

@Module({})
class VaultApiModule {
  static register(pipeline: RequestPipeline): DynamicModule {
    return { module: VaultApiModule, controllers: [VaultApiController], providers: [{ provide: RequestPipeline, useValue: pipeline }] };
  }
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

function errorBody(errors: string[]): string {
  return JSON.stringify({ errors });
}

/**
 * Errors Fastify's router raises before any handler (a request target whose percent-escapes do not
 * decode, an over-long path parameter): Vault's shape, never echoing the target, whose query string
 * may carry secrets (Fastify's own answer quotes the whole target).
 */
function frameworkError(error: { statusCode?: number }, _req: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  void reply.status(status).header('content-type', 'application/json').send(errorBody(['malformed request URL']));
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

export async function createApiServer(pipeline: RequestPipeline, listener: ListenerConfig, log: Logger): Promise<HttpServerHandle> {
  const tls = listener.tls;
  const adapter = new FastifyAdapter({
    bodyLimit: listener.maxRequestBytes,
    requestTimeout: listener.maxRequestDurationSeconds * 1000,
    return503OnClosing: true,
    frameworkErrors: frameworkError,
    serverFactory: (handler: RequestHandler) => {
      const server: Server = tls ? createHttpsServer(httpsServerOptions(tls), handler) : createHttpServer(handler);
      // Failed handshakes (no or a bad client certificate, plain HTTP to the TLS port) never reach a handler.
      if (tls) server.on('tlsClientError', (err: Error & { code?: string }, socket: { remoteAddress?: string }) => log.debug(`tls: handshake from ${socket.remoteAddress ?? '?'} failed: ${err.code ?? err.message}`));
      acceptListMethod(server, tls ? 'secureConnection' : 'connection');
      return server;
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(VaultApiModule.register(pipeline), adapter, { bodyParser: false, logger: false });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: listener.maxRequestBytes }, (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => done(null, body));
  app.useGlobalFilters(new VaultErrorFilter(log));
  await app.init();

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
