/** The one request pipeline (see README.md). */
import { randomUUID } from 'node:crypto';
import type { ListenerConfig } from '../../config/config';
import { authFor, compileRoute, type CompiledRoute, type HandlerResult, type Operation, type RequestContext, type RouteDefinition } from '../../framework/route';
import { FieldError } from '../../framework/field-types';
import { parseRequestBody } from '../../http/request-body';
import type { Logger } from '../../logger';
import { ApiError, badRequest, invalidToken, notFound, permissionDenied, sealedError, unsupportedOperation } from '../errors';
import type { AclOperation } from '../policy/acl';
import type { PolicyStore } from '../policy/policy.store';
import type { SealService } from '../seal/seal.service';
import { MAX_TOKEN_LENGTH, type TokenInfo, type TokenStore } from '../token/token.store';
import { ipInCidrs } from '../cidr';
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

export interface PipelineDeps {
  seal: SealService;
  tokens: TokenStore;
  policies: PolicyStore;
  listener: ListenerConfig;
  log: Logger;
}

export class RequestPipeline {
  private readonly exactRoutes = new Map<string, CompiledRoute>();
  private readonly patternRoutes: CompiledRoute[] = [];
  private readonly seal: SealService;
  private readonly tokens: TokenStore;
  private readonly policies: PolicyStore;
  private readonly listener: ListenerConfig;
  private readonly log: Logger;

  constructor(routes: RouteDefinition[], deps: PipelineDeps) {
    ({ seal: this.seal, tokens: this.tokens, policies: this.policies, listener: this.listener, log: this.log } = deps);
    for (const route of routes) {
      const compiled = compileRoute(route);
      if (!compiled.regex) {
        if (this.exactRoutes.has(route.path)) throw new Error(`route ${route.path} declared twice`);
        this.exactRoutes.set(route.path, compiled);
      } else this.patternRoutes.push(compiled);
    }
  }

  /** Exact routes first, then patterns in declaration order. */
  private findRoute(path: string): { route: RouteDefinition; params: Record<string, string> } | undefined {
    const bare = path.endsWith('/') ? path.slice(0, -1) : path;
    const exact = this.exactRoutes.get(bare);
    if (exact) return { route: exact.route, params: {} };
    for (const compiled of this.patternRoutes) {
      const m = compiled.regex?.exec(bare);
      if (!m) continue;
      const params: Record<string, string> = {};
      compiled.paramNames.forEach((name, i) => (params[name] = m[i + 1]));
      return { route: compiled.route, params };
    }
    return undefined;
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
    const op = operationFor(req.method, query);
    if (!op) throw unsupportedOperation();
    const operation: Operation = op === 'head' ? 'read' : op;
    // As in Vault, a list always names a directory: `kv/metadata` is listed as `kv/metadata/`.
    const canonical = canonicalPath(rawPath);
    const path = operation === 'list' && canonical !== '' && !canonical.endsWith('/') ? `${canonical}/` : canonical;

    const found = this.findRoute(path);
    if (!found) {
      if (this.seal.isSealed) throw sealedError();
      const { info: token } = await this.authenticate(req.headers, req.remoteAddress);
      // Vault judges the ACL before routing: a token learns a path is unknown only if it may use it.
      await this.authorize({ path, operation, token, remoteAddress: req.remoteAddress, body: {} }, 'token');
      throw new ApiError(404, [`no handler for route "${path}". route entry not found.`]);
    }
    const { route, params } = found;
    const handler = route.handlers[operation];
    if (!handler) throw unsupportedOperation();
    if (!route.allowedWhileSealed && this.seal.isSealed) throw sealedError();

    const body = parseRequestBody(req.body, header(req.headers, 'content-type'), this.listener.json);
    const ctx: RequestContext = { requestId, operation, head: op === 'head', path, params, query, body, remoteAddress: req.remoteAddress, sudo: false };
    const auth = authFor(route, operation);
    if (auth !== 'none') {
      ({ token: ctx.clientToken, info: ctx.token } = await this.authenticate(req.headers, req.remoteAddress));
      const aclOperation: AclOperation = operation === 'update' && route.existenceCheck && !(await route.existenceCheck(ctx)) ? 'create' : operation;
      ctx.sudo = await this.authorize({ path, operation: aclOperation, token: ctx.token, remoteAddress: req.remoteAddress, body }, auth);
      if (!(await this.tokens.use(ctx.token))) throw invalidToken();
    }
    try {
      const result = await handler(ctx);
      return this.render(result, route, ctx);
    } finally {
      if (ctx.token) await this.tokens.revokeIfSpent(ctx.token);
    }
  }

  private async authenticate(headers: PipelineRequest['headers'], remoteAddress: string): Promise<{ token: string; info: TokenInfo }> {
    const token = clientToken(headers);
    if (!token) throw permissionDenied();
    // Refused before any storage lookup: no real token is this long.
    if (token.length > MAX_TOKEN_LENGTH) throw invalidToken();
    const info = await this.tokens.lookup(token);
    if (!info) throw invalidToken();
    if (info.boundCidrs.length > 0 && !ipInCidrs(remoteAddress, info.boundCidrs)) throw permissionDenied();
    return { token, info };
  }

  /**
   * The ACL decision for every authenticated request; the only caller of the evaluator.
   * Returns whether the token holds sudo on the path (handlers with sudo-only fields need it).
   */
  private async authorize(req: { path: string; operation: AclOperation; token: TokenInfo; remoteAddress: string; body: Record<string, unknown> }, auth: 'token' | 'sudo'): Promise<boolean> {
    const acl = await this.policies.aclFor(req.token.policies);
    const decision = acl.allowOperation({ path: req.path, operation: req.operation, data: req.body, remoteAddress: req.remoteAddress, now: new Date(), sudoRequired: auth === 'sudo' });
    if (!decision.allowed) {
      this.log.debug(`acl: denied ${req.operation} ${req.path}: ${decision.reason}${decision.matched ? ` (rule "${decision.matched}")` : ''}`);
      throw permissionDenied();
    }
    return decision.sudo === true;
  }

  private render(result: HandlerResult, route: RouteDefinition, ctx: RequestContext): PipelineResponse {
    const headers = { ...JSON_HEADERS, 'x-request-id': ctx.requestId };
    if (result === null) return { status: 204, headers: { 'x-request-id': ctx.requestId, 'cache-control': 'no-store' } };
    if (result.kind === 'raw') {
      if (result.body === undefined || result.status === 204) return { status: result.status, headers: { 'x-request-id': ctx.requestId, 'cache-control': 'no-store' } };
      return { status: result.status, headers, body: ctx.head ? undefined : JSON.stringify(result.body) };
    }
    // Vault: a LIST with nothing to list is a 404 with no errors.
    if (ctx.operation === 'list' && (!result.data || !Array.isArray(result.data.keys) || result.data.keys.length === 0)) throw notFound();
    const envelope: Record<string, unknown> = {
      request_id: ctx.requestId,
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: result.data,
      wrap_info: null,
      warnings: result.warnings && result.warnings.length > 0 ? result.warnings : null,
      auth: result.auth ?? null,
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
