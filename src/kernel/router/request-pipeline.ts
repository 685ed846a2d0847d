/** The one request pipeline (see README.md). */
import { randomUUID } from 'node:crypto';
import type { ListenerConfig } from '../../config/config';
import { authFor, type HandlerResult, type Operation, type RequestContext, type RouteDefinition } from '../../framework/route';
import { FieldError } from '../../framework/field-types';
import { parseRequestBody } from '../../http/request-body';
import type { Logger } from '../../logger';
import { ApiError, badRequest, invalidToken, permissionDenied, sealedError, unsupportedOperation } from '../errors';
import type { SealService } from '../seal/seal.service';
import { MAX_TOKEN_LENGTH, type TokenInfo, type TokenStore } from '../token/token.store';
import { canonicalPath } from './canonical-path';

export interface PipelineRequest {
  method: string;
  /** The URL after `/v1/`, still percent-encoded, with its query string. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
  remoteAddress: string;
}

export interface PipelineResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

function header(headers: PipelineRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function clientToken(headers: PipelineRequest['headers']): string | undefined {
  const direct = header(headers, 'x-vault-token');
  if (direct) return direct.trim();
  const auth = header(headers, 'authorization');
  const m = auth ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  return m ? m[1].trim() : undefined;
}

function operationFor(method: string, query: URLSearchParams): Operation | 'head' | undefined {
  switch (method) {
    case 'GET':
      return query.get('list') === 'true' ? 'list' : 'read';
    case 'HEAD':
      return 'head';
    case 'POST':
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return undefined;
  }
}

export class RequestPipeline {
  private readonly routes = new Map<string, RouteDefinition>();

  constructor(
    routes: RouteDefinition[],
    private readonly seal: SealService,
    private readonly tokens: TokenStore,
    private readonly listener: ListenerConfig,
    private readonly log: Logger,
  ) {
    for (const route of routes) {
      if (this.routes.has(route.path)) throw new Error(`route ${route.path} declared twice`);
      this.routes.set(route.path, route);
    }
  }

  async handle(req: PipelineRequest): Promise<PipelineResponse> {
    const requestId = randomUUID();
    try {
      return await this.process(req, requestId);
    } catch (err) {
      return this.errorResponse(err, requestId, req);
    }
  }

  private async process(req: PipelineRequest, requestId: string): Promise<PipelineResponse> {
    const q = req.url.indexOf('?');
    const rawPath = q >= 0 ? req.url.slice(0, q) : req.url;
    const query = new URLSearchParams(q >= 0 ? req.url.slice(q + 1) : '');
    const path = canonicalPath(rawPath);
    const op = operationFor(req.method, query);
    if (!op) throw unsupportedOperation();
    const operation: Operation = op === 'head' ? 'read' : op;

    const route = this.routes.get(path.endsWith('/') ? path.slice(0, -1) : path);
    if (!route) {
      if (this.seal.isSealed) throw sealedError();
      await this.authenticate(req.headers);
      throw new ApiError(404, [`no handler for route "${path}". route entry not found.`]);
    }
    const handler = route.handlers[operation];
    if (!handler) throw unsupportedOperation();
    if (!route.allowedWhileSealed && this.seal.isSealed) throw sealedError();

    const body = parseRequestBody(req.body, header(req.headers, 'content-type'), this.listener.json);
    const ctx: RequestContext = { requestId, operation, head: op === 'head', path, query, body, remoteAddress: req.remoteAddress };
    const auth = authFor(route, operation);
    if (auth !== 'none') {
      ctx.clientToken = clientToken(req.headers);
      ctx.token = await this.authenticate(req.headers);
      this.authorize(ctx.token, auth);
    }
    const result = await handler(ctx);
    return this.render(result, route, ctx);
  }

  private async authenticate(headers: PipelineRequest['headers']): Promise<TokenInfo> {
    const token = clientToken(headers);
    if (!token) throw permissionDenied();
    // Refused before any storage lookup: no real token is this long.
    if (token.length > MAX_TOKEN_LENGTH) throw invalidToken();
    const info = await this.tokens.lookup(token);
    if (!info) throw invalidToken();
    return info;
  }

  /** Foundation rule until the ACL evaluator lands: token and sudo routes need the root policy. */
  private authorize(token: TokenInfo, _auth: 'token' | 'sudo'): void {
    if (!token.policies.includes('root')) throw permissionDenied();
  }

  private render(result: HandlerResult, route: RouteDefinition, ctx: RequestContext): PipelineResponse {
    const headers = { ...JSON_HEADERS, 'x-request-id': ctx.requestId };
    if (result === null) return { status: 204, headers: { 'x-request-id': ctx.requestId, 'cache-control': 'no-store' } };
    if (result.kind === 'raw') {
      if (result.body === undefined || result.status === 204) return { status: result.status, headers: { 'x-request-id': ctx.requestId, 'cache-control': 'no-store' } };
      return { status: result.status, headers, body: ctx.head ? undefined : JSON.stringify(result.body) };
    }
    const envelope: Record<string, unknown> = {
      request_id: ctx.requestId,
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: result.data,
      wrap_info: null,
      warnings: result.warnings && result.warnings.length > 0 ? result.warnings : null,
      auth: null,
      mount_type: route.mountType ?? '',
    };
    const body = route.injectDataAtTopLevel && result.data ? { ...result.data, ...envelope } : envelope;
    return { status: 200, headers, body: ctx.head ? undefined : JSON.stringify(body) };
  }

  private errorResponse(err: unknown, requestId: string, req: PipelineRequest): PipelineResponse {
    const headers = { ...JSON_HEADERS, 'x-request-id': requestId };
    let apiError: ApiError;
    if (err instanceof ApiError) apiError = err;
    else if (err instanceof FieldError) apiError = badRequest(err.message);
    else {
      const e = err as Error;
      this.log.error(`request ${requestId} ${req.method} /v1/${req.url.split('?')[0]} failed: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`);
      apiError = new ApiError(500, ['internal error']);
    }
    return { status: apiError.status, headers, body: req.method === 'HEAD' ? undefined : JSON.stringify({ errors: apiError.errors }) };
  }
}
