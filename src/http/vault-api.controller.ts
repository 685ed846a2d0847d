/** The one HTTP entry for `/v1/*`: hands every request, with its connection's client certificate if any, to the request pipeline. */
import { All, Controller, Inject, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestPipeline } from '../application/request-pipeline';
import { peerCertificateOf } from './peer-certificate';

const sentAsIs = (body: string): string => body;

/** The body's bytes, taken from Fastify's request (which would hold them until the reply); the pipeline drops them once parsed. */
function takeBody(req: FastifyRequest): Buffer | undefined {
  const body = Buffer.isBuffer(req.body) ? req.body : undefined;
  req.body = undefined;
  return body;
}

@Controller()
export class VaultApiController {
  constructor(@Inject(RequestPipeline) private readonly pipeline: RequestPipeline) {}

  @All(['v1', 'v1/*'])
  async handle(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const url = req.raw.url ?? '/';
    const out = await this.pipeline.handle({
      method: req.method,
      url: url.replace(/^\/v1\/?/, ''),
      headers: req.headers,
      body: takeBody(req),
      remoteAddress: req.socket.remoteAddress ?? '',
      peerCertificate: peerCertificateOf(req.raw.socket),
    });
    reply.status(out.status).headers(out.headers);
    // The Content-Type stays as given: Fastify appends `; charset=utf-8` to a JSON-typed string
    // unless the reply has a serializer, which it applies instead. The string itself goes to the
    // socket (encoded natively), not through a Buffer copy: a 350 KiB batch answer would otherwise
    // leave a 350 KiB ArrayBuffer for the garbage collector on every request.
    if (typeof out.body === 'string') reply.serializer(sentAsIs);
    await reply.send(out.body);
  }
}
