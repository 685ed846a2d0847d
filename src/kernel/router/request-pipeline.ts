/** The one request pipeline (see README.md). */
import { randomUUID } from 'node:crypto';
import type { ListenerConfig } from '../../config/config';
import type { MountEntry } from '../../framework/backend';
import { authFor, compileRoute, type CompiledRoute, type HandlerResult, type Operation, type RequestContext, type RouteDefinition } from '../../framework/route';
import { FieldError } from '../../framework/field-types';
import { ignoredParametersWarning, parseFields, type Fields } from '../../framework/fields';
import { pathItems } from '../../framework/openapi';
import { checkPatchContentType, parseRequestBody } from '../../http/request-body';
import type { Logger } from '../../logger';
import { ApiError, badRequest, invalidToken, notFound, permissionDenied, sealedError, unsupportedOperation } from '../errors';
import type { AclDecision, AclOperation } from '../policy/acl';
import type { PolicyStore } from '../policy/policy.store';
import type { SealService } from '../seal/seal.service';
import { MAX_TOKEN_LENGTH, type TokenInfo, type TokenStore } from '../token/token.store';
import { ipInCidrs } from '../cidr';
import { canonicalPath } from './canonical-path';
import type { MountTable } from './mount-table';

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

const GO_TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const GO_FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/** `?list=` is parsed as Go's strconv.ParseBool, as Vault does (`?list=1` from node-vault); anything else is a 400. */
function listFlag(value: string | null): boolean {
  if (value === null || value === '') return false;
  if (GO_TRUE.includes(value)) return true;
  if (GO_FALSE.includes(value)) return false;
  throw new ApiError(400, []);
}

function operationFor(method: string, query: URLSearchParams): Operation | 'head' | undefined {
  switch (method) {
    case 'GET':
      return listFlag(query.get('list')) ? 'list' : 'read';
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
  mounts: MountTable;
  seal: SealService;
  tokens: TokenStore;
  policies: PolicyStore;
  listener: ListenerConfig;
  log: Logger;
}

interface CompiledRoutes {
  exact: Map<string, CompiledRoute>;
  patterns: CompiledRoute[];
}

function compileRoutes(routes: RouteDefinition[]): CompiledRoutes {
  const compiled: CompiledRoutes = { exact: new Map(), patterns: [] };
  for (const route of routes) {
    const c = compileRoute(route);
    if (!c.regex) {
      if (compiled.exact.has(route.path)) throw new Error(`route ${route.path} declared twice`);
      compiled.exact.set(route.path, c);
    } else compiled.patterns.push(c);
  }
  return compiled;
}

/** Exact routes first, then patterns in declaration order. `path` is relative to the mount. */
function findRoute(routes: CompiledRoutes, path: string): { route: RouteDefinition; params: Record<string, string> } | undefined {
  const bare = path.endsWith('/') ? path.slice(0, -1) : path;
  const exact = routes.exact.get(bare);
  if (exact) return { route: exact.route, params: {} };
  for (const compiled of routes.patterns) {
    const m = compiled.regex?.exec(bare);
    if (!m) continue;
    const params: Record<string, string> = {};
    compiled.paramNames.forEach((name, i) => (params[name] = m[i + 1]));
    return { route: compiled.route, params };
  }
  return undefined;
}

function warningsOf(handler: string[] | undefined, pipeline: string[]): string[] | null {
  const all = [...pipeline, ...(handler ?? [])];
  return all.length > 0 ? all : null;
}

export class RequestPipeline {
  /** Backends return constant route arrays; each is compiled once. */
  private readonly compiled = new WeakMap<RouteDefinition[], CompiledRoutes>();
  private readonly mounts: MountTable;
  private readonly seal: SealService;
  private readonly tokens: TokenStore;
  private readonly policies: PolicyStore;
  private readonly listener: ListenerConfig;
  private readonly log: Logger;

  constructor(deps: PipelineDeps) {
    ({ mounts: this.mounts, seal: this.seal, tokens: this.tokens, policies: this.policies, listener: this.listener, log: this.log } = deps);
  }

  /** The mount by longest prefix, then the backend's declared route for the rest of the path. */
  private resolve(path: string): { mount?: MountEntry; route?: RouteDefinition; params: Record<string, string> } {
    const mount = this.mounts.match(path);
    if (!mount) return { params: {} };
    const routes = this.mounts.routesOf(mount);
    let compiled = this.compiled.get(routes);
    if (!compiled) this.compiled.set(routes, (compiled = compileRoutes(routes)));
    const found = findRoute(compiled, path.slice(Math.min(mount.path.length, path.length)));
    return { mount, route: found?.route, params: found?.params ?? {} };
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
    if (op === 'patch') checkPatchContentType(header(req.headers, 'content-type'));
    const operation: Operation = op === 'head' ? 'read' : op;
    // As in Vault, a list always names a directory: `kv/metadata` is listed as `kv/metadata/`.
    const canonical = canonicalPath(rawPath);
    const path = operation === 'list' && canonical !== '' && !canonical.endsWith('/') ? `${canonical}/` : canonical;

    const { mount, route, params } = this.resolve(path);
    if (!mount || !route) {
      if (this.seal.isSealed) throw sealedError();
      const { info: token } = await this.authenticate(req.headers, req.remoteAddress);
      // Vault judges the ACL before routing: a token learns a path is unknown only if it may use it.
      await this.authorize({ path, operation, token, remoteAddress: req.remoteAddress, body: {} }, 'token');
      throw mount ? new ApiError(404, ['unsupported path']) : new ApiError(404, [`no handler for route "${path}". route entry not found.`]);
    }
    if (op === 'read' && ['1', 'true'].includes(query.get('help') ?? '')) return this.help(req, requestId, path, mount, route);
    const handler = route.handlers[operation];
    if (!handler) throw unsupportedOperation();
    if (!route.allowedWhileSealed && this.seal.isSealed) throw sealedError();

    const body = parseRequestBody(req.body, header(req.headers, 'content-type'), this.listener.json);
    const ctx: RequestContext = { requestId, operation, head: op === 'head', path, mount, params, query, body, data: {}, warnings: [], remoteAddress: req.remoteAddress, sudo: false };
    if (route.fields) this.parseDeclaredFields(route, ctx);
    const auth = authFor(route, operation);
    if (auth === 'optional') {
      if (clientToken(req.headers) !== undefined) ({ token: ctx.clientToken, info: ctx.token } = await this.authenticate(req.headers, req.remoteAddress));
    } else if (auth !== 'none') {
      ({ token: ctx.clientToken, info: ctx.token } = await this.authenticate(req.headers, req.remoteAddress));
      const aclRequest = { path, token: ctx.token, remoteAddress: req.remoteAddress, body };
      let decision: AclDecision & { operation: AclOperation };
      if (operation === 'update' && route.existenceCheck) {
        // A write is a create or an update by whether the target exists; the existence check (a
        // database read) runs only when the ACL answers the two differently.
        const [asUpdate, asCreate] = [await this.decide({ ...aclRequest, operation: 'update' }, auth), await this.decide({ ...aclRequest, operation: 'create' }, auth)];
        const same = asUpdate.allowed === asCreate.allowed && asUpdate.sudo === asCreate.sudo;
        decision = same || (await route.existenceCheck(ctx)) ? asUpdate : asCreate;
      } else {
        decision = await this.decide({ ...aclRequest, operation }, auth);
      }
      ctx.sudo = this.enforce(decision, path);
      if (!(await this.tokens.use(ctx.token))) throw invalidToken();
    }
    try {
      const result = await handler(ctx);
      return this.render(result, route, ctx);
    } finally {
      if (ctx.token) await this.tokens.revokeIfSpent(ctx.token);
    }
  }

  /**
   * `?help=1`: the route's help text and OpenAPI fragment, as a bare body (Vault's shape). Needs a
   * valid token with some capability on the path, so help does not reveal paths a token cannot use.
   */
  private async help(req: PipelineRequest, requestId: string, path: string, mount: MountEntry, route: RouteDefinition): Promise<PipelineResponse> {
    if (this.seal.isSealed) throw sealedError();
    const { info } = await this.authenticate(req.headers, req.remoteAddress);
    const caps = (await this.policies.aclFor(info.policies)).capabilities(path, { remoteAddress: req.remoteAddress });
    if (caps.length === 1 && caps[0] === 'deny') throw permissionDenied();
    const body = { help: route.help, openapi: { openapi: '3.0.2', paths: pathItems(mount, route) }, see_also: null };
    return { status: 200, headers: { ...JSON_HEADERS, 'x-request-id': requestId }, body: req.method === 'HEAD' ? undefined : JSON.stringify(body) };
  }

  /** Writes take declared fields from the body; reads, lists and deletes from the query string. */
  private parseDeclaredFields(route: RouteDefinition, ctx: RequestContext): void {
    const fromQuery = ctx.operation === 'read' || ctx.operation === 'list' || ctx.operation === 'delete';
    const input = fromQuery ? Object.fromEntries([...ctx.query.entries()].filter(([k]) => k !== 'list' && k !== 'help')) : ctx.body;
    const { data, unknown } = parseFields(route.fields as Fields, input, fromQuery);
    ctx.data = data;
    if (unknown.length > 0 && !fromQuery) ctx.warnings.push(ignoredParametersWarning(unknown));
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
   * The ACL decision that admits every authenticated request (handlers that report capabilities,
   * such as sys/capabilities, only read the ACL). Returns whether the token holds sudo on the path (handlers with sudo-only fields need it).
   */
  private async decide(req: { path: string; operation: AclOperation; token: TokenInfo; remoteAddress: string; body: Record<string, unknown> }, auth: 'token' | 'sudo'): Promise<AclDecision & { operation: AclOperation }> {
    const acl = await this.policies.aclFor(req.token.policies);
    const decision = acl.allowOperation({ path: req.path, operation: req.operation, data: req.body, remoteAddress: req.remoteAddress, now: new Date(), sudoRequired: auth === 'sudo' });
    return { ...decision, operation: req.operation };
  }

  /** Throws `permission denied` for a refusal; gives whether the deciding rule grants sudo. */
  private enforce(decision: AclDecision & { operation: AclOperation }, path: string): boolean {
    if (!decision.allowed) {
      this.log.debug(`acl: denied ${decision.operation} ${path}: ${decision.reason}${decision.matched ? ` (rule "${decision.matched}")` : ''}`);
      throw permissionDenied();
    }
    return decision.sudo === true;
  }

  private async authorize(req: { path: string; operation: AclOperation; token: TokenInfo; remoteAddress: string; body: Record<string, unknown> }, auth: 'token' | 'sudo'): Promise<boolean> {
    return this.enforce(await this.decide(req, auth), req.path);
  }

  private render(result: HandlerResult, route: RouteDefinition, ctx: RequestContext): PipelineResponse {
    const headers = { ...JSON_HEADERS, 'x-request-id': ctx.requestId };
    // A write that returns nothing but earned warnings (ignored parameters) answers 200 with them, as Vault does.
    if (result === null && ctx.warnings.length > 0) result = { kind: 'logical', data: null };
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
      lease_duration: result.leaseDuration ?? 0,
      data: result.data,
      wrap_info: null,
      warnings: warningsOf(result.warnings, ctx.warnings),
      auth: result.auth ?? null,
      mount_type: ctx.mount.type,
    };
    const body = route.injectDataAtTopLevel && result.data ? { ...result.data, ...envelope } : envelope;
    return { status: result.status ?? 200, headers, body: ctx.head ? undefined : JSON.stringify(body) };
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
