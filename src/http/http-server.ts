/**
 * NestJS on the Fastify adapter. Fastify enforces the body size limit before buffering (413);
 * every body is taken raw, and the request pipeline parses it with its own limits. `LIST` is
 * accepted below the HTTP parser (see list-method.ts).
 */
import { Catch, HttpException, Module, type ArgumentsHost, type DynamicModule, type ExceptionFilter } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { ListenerConfig } from '../config/config';
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

export interface HttpServerHandle {
  app: NestFastifyApplication;
  /** Resolves to the bound address, e.g. http://127.0.0.1:8200. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function createApiServer(pipeline: RequestPipeline, listener: ListenerConfig, log: Logger): Promise<HttpServerHandle> {
  const tls = !listener.tlsDisable && listener.tlsCertFile && listener.tlsKeyFile;
  const adapter = new FastifyAdapter({
    bodyLimit: listener.maxRequestBytes,
    requestTimeout: listener.maxRequestDurationSeconds * 1000,
    return503OnClosing: true,
    serverFactory: (handler: RequestHandler) => {
      const server: Server = tls
        ? createHttpsServer({ cert: readFileSync(listener.tlsCertFile as string), key: readFileSync(listener.tlsKeyFile as string) }, handler)
        : createHttpServer(handler);
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
