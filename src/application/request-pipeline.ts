/** The one request pipeline (see README.md). */
import { randomUUID } from 'node:crypto';
import type { SystemAuditEvent } from '../kernel/system-audit';
import type { ListenerConfig } from '../config/config';
import type { MountEntry } from '../framework/backend';
import {
  requestAuth,
  type Authentication,
  type HandlerResult,
  type LogicalResponse,
  type Operation,
  type PeerCertificate,
  type RequestContext,
  type RouteDefinition,
} from '../framework/route';
import { FieldError } from '../framework/field-types';
import { ignoredParametersWarning, parseFields, withTrimmedFields, type Fields } from '../framework/fields';
import { pathItems } from '../framework/openapi';
import { checkPatchContentType, parseRequestBody } from '../http/request-body';
import { clientAddress } from '../http/forwarded-for';
import { goDuration, MAX_DURATION_SECONDS, parseDurationSeconds } from '../framework/field-types';
import type { ResponseWrapper, WrapInfo } from '../kernel/wrapping/response-wrapper';
import type { InFlightRequests } from '../kernel/router/in-flight';
import type { ExpirationManager } from '../kernel/leases/expiration-manager';
import type { Logger } from '../logger';
import { ApiError, badRequest, invalidToken, notFound, permissionDenied, sealedError, unsupportedOperation } from '../kernel/errors';
import type { AclDecision, AclOperation } from '../kernel/policy/acl';
import type { PolicyStore } from '../kernel/policy/policy-store.service';
import type { SealService } from '../kernel/seal/seal.service';
import { MAX_TOKEN_LENGTH, type TokenInfo, type TokenStore } from '../kernel/token/token-store.service';
import { ipInCidrs } from '../kernel/cidr';
import { AuditFailure, type AuditBroker } from '../audit/audit-broker';
import type { AuditAddressKeys } from '../audit/address-keys';
import type { AuditOutcome, AuditTrace } from '../audit/audit-entry';
import { canonicalPath } from '../kernel/router/canonical-path';
import type { MountTable } from '../kernel/router/mount-table';
import { RouteTable } from './route-table';

export interface PipelineRequest {
  method: string;
  /** The URL after `/v1/`, still percent-encoded, with its query string. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The request's bytes; the pipeline takes them (and clears this) once it has read them. */
  body: Buffer | undefined;
  remoteAddress: string;
  /** The TLS client certificate of the connection, when the client presented one (for a `cert` auth method; never audited). */
  peerCertificate?: PeerCertificate;
}

export interface PipelineResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON text, or the bytes of a raw answer with its own content type (DER certificates, CRLs, OCSP). */
  body?: string | Buffer;
}

/**
 * A handler's answer before it is sent: `json` is serialised into the body only after the response's
 * audit entry is committed, so the text (350 KiB for a 250-item batch) never waits on the database
 * and dies young instead of being promoted to the old generation.
 */
interface RenderedResponse extends PipelineResponse {
  json?: unknown;
}

function wireResponse({ json, ...response }: RenderedResponse): PipelineResponse {
  return json === undefined ? response : { ...response, body: JSON.stringify(json) };
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
  /** Absent: nothing is audited (tests of the pipeline alone). */
  audit?: { broker: AuditBroker; addressKeys: AuditAddressKeys };
  /** Absent: X-Vault-Wrap-TTL is refused (tests of the pipeline alone). */
  wrapper?: ResponseWrapper;
  /** Absent: a handler result asking for a lease is an internal error (tests of the pipeline alone). */
  leases?: ExpirationManager;
  /** Where requests being handled are listed (sys/in-flight-req); absent in tests of the pipeline alone. */
  inFlight?: InFlightRequests;
}

interface RenderedLease {
  leaseId: string;
  ttlSeconds: number;
  renewable: boolean;
}

/** What the ACL is asked about an authenticated request; `wrapTtl` is the TTL the response would be wrapped with. */
interface AclInput {
  path: string;
  operation: AclOperation;
  token: TokenInfo;
  remoteAddress: string;
  body: Record<string, unknown>;
  wrapTtl?: number;
}

/** What the pipeline knows about a request for its audit entries; `trace` is set once the request is audited. */
interface AuditState {
  trace?: AuditTrace;
  requestLogged: boolean;
}

/**
 * Vault does not audit the handlers that work without a token while sealed (init, seal-status,
 * unseal, health, leader, the share-authorised rekey steps).
 */
function audited(route: RouteDefinition, auth: Authentication): boolean {
  return !(route.allowedWhileSealed && auth === 'none');
}

function outcomeOf(result: HandlerResult, status: number): AuditOutcome {
  if (result === null) return { status };
  if (result.kind === 'raw') return { status, data: result.body && typeof result.body === 'object' ? (result.body as Record<string, unknown>) : undefined };
  return { status, data: result.data, warnings: result.warnings, auth: result.auth };
}

function warningsOf(handler: string[] | undefined, pipeline: string[]): string[] | null {
  const all = [...pipeline, ...(handler ?? [])];
  return all.length > 0 ? all : null;
}

export class RequestPipeline {
  private readonly routes: RouteTable;
  private readonly mounts: PipelineDeps['mounts'];
  private readonly seal: SealService;
  private readonly tokens: TokenStore;
  private readonly policies: PolicyStore;
  private readonly listener: ListenerConfig;
  private readonly log: Logger;
  private readonly audit: PipelineDeps['audit'];
  private readonly wrapper: PipelineDeps['wrapper'];
  private readonly leases: PipelineDeps['leases'];
  private readonly inFlight: PipelineDeps['inFlight'];

  constructor(deps: PipelineDeps) {
    this.routes = new RouteTable(deps.mounts);
    this.mounts = deps.mounts;
    ({
      seal: this.seal,
      tokens: this.tokens,
      policies: this.policies,
      listener: this.listener,
      log: this.log,
      audit: this.audit,
      wrapper: this.wrapper,
      leases: this.leases,
      inFlight: this.inFlight,
    } = deps);
  }

  async handle(req: PipelineRequest): Promise<PipelineResponse> {
    const requestId = randomUUID();
    const state: AuditState = { requestLogged: false };
    let done: (() => void) | undefined;
    try {
      // Every later step (bound CIDRs, ACL conditions, audit, lockout) sees the one client address.
      const remoteAddress = clientAddress(req.remoteAddress, req.headers['x-forwarded-for'], this.listener.forwardedFor);
      done = this.inFlight?.add(requestId, { startTime: new Date(), clientRemoteAddress: remoteAddress, url: req.url, requestMethod: req.method });
      return await this.process({ ...req, remoteAddress }, requestId, state);
    } catch (err) {
      const apiError = this.toApiError(err, requestId, req);
      // A refused or failed request is audited too (request entry if not yet, then the error).
      if (state.trace && !(err instanceof AuditFailure) && this.audit?.broker.enabled) {
        try {
          if (!state.requestLogged) await this.audit.broker.logRequest(state.trace);
          await this.audit.broker.logResponse(state.trace, { status: apiError.status, error: apiError.errors.join(', ') || `HTTP ${apiError.status}` });
        } catch (auditErr) {
          return this.errorResponse(this.toApiError(auditErr, requestId, req), requestId, req);
        }
      }
      return this.errorResponse(apiError, requestId, req);
    } finally {
      done?.();
    }
  }

  /** Starts the request's audit trace (source address and user agent with the month key that seals them in its entries). */
  private async startTrace(
    state: AuditState,
    req: PipelineRequest,
    requestId: string,
    operation: Operation | 'help',
    path: string,
    mount: MountEntry | undefined,
    data: Record<string, unknown>,
  ): Promise<void> {
    if (!this.audit?.broker.enabled) return;
    const time = new Date();
    const userAgent = header(req.headers, 'user-agent');
    state.trace = {
      requestId,
      time,
      operation,
      path,
      mount: auditMountView(mount),
      data,
      source: await this.audit.addressKeys.source(req.remoteAddress, userAgent, time),
    };
  }

  /**
   * Audits work the server did by itself (SystemAudit) as one request-and-response pair: the
   * mount's path plus the event's path, no token, source address `system`. After the work
   * committed; a failure is the caller's to log.
   */
  async auditSystemOperation(event: SystemAuditEvent): Promise<void> {
    if (!this.audit) return;
    const mount = this.mounts.byUuid(event.mountUuid);
    const time = new Date();
    const trace: AuditTrace = {
      requestId: randomUUID(),
      time,
      operation: event.operation,
      path: `${mount?.path ?? `${event.mountUuid}/`}${event.path}`,
      mount: auditMountView(mount),
      data: event.data,
      source: await this.audit.addressKeys.source('system', undefined, time),
    };
    await this.audit.broker.logRequestAndResponse(trace, { status: 200, data: event.response ?? null });
  }

  private traceToken(state: AuditState, clientTokenValue: string | undefined, info: TokenInfo | undefined): void {
    if (!state.trace || !info) return;
    state.trace.clientToken = clientTokenValue;
    state.trace.token = {
      accessor: this.tokens.accessorOf(info),
      displayName: info.displayName,
      policies: info.policies,
      tokenType: info.tokenType,
      ttlSeconds: info.ttlSeconds,
      issueTime: info.createdAt,
      meta: info.meta,
    };
  }

  private async process(req: PipelineRequest, requestId: string, state: AuditState): Promise<PipelineResponse> {
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

    let { mount, route, params } = this.routes.resolve(path);
    // A mount enabled by another process moments ago may not have reached this table yet (the bus
    // window): the table is read again once before a path counts as unknown.
    if (!mount && !this.seal.isSealed && (await this.mounts.refresh())) ({ mount, route, params } = this.routes.resolve(path));
    if (!mount || !route) {
      if (this.seal.isSealed) throw sealedError();
      await this.startTrace(state, req, requestId, operation, path, mount, {});
      const { token: presented, info: token } = await this.authenticate(req.headers, req.remoteAddress);
      this.traceToken(state, presented, token);
      // Vault judges the ACL before routing: a token learns a path is unknown only if it may use it.
      await this.authorize({ path, operation, token, remoteAddress: req.remoteAddress, body: {}, wrapTtl: this.requestedWrapTtl(req.headers) }, 'token', state);
      throw mount ? new ApiError(404, ['unsupported path']) : new ApiError(404, [`no handler for route "${path}". route entry not found.`]);
    }
    if (op === 'read' && ['1', 'true'].includes(query.get('help') ?? '')) return this.help(req, requestId, path, mount, route, state);
    // An operation the route lacks is a 405 after the token, the ACL and the request's audit entry,
    // as Vault's backends answer it (a token learns the 405 only where it may act); before them only
    // on the paths Vault serves in its HTTP layer, and while sealed (no token store to ask).
    const handler = route.handlers[operation];
    if (!handler && route.methodsBeforeToken) throw unsupportedOperation();
    if (!route.allowedWhileSealed && this.seal.isSealed) throw sealedError();
    if (!handler && this.seal.isSealed) throw unsupportedOperation();
    const auth = requestAuth(route, operation);

    // Traced before the body is parsed: a body that does not parse, or a bad wrap TTL, is audited
    // as the error it is (and is a 500 when no device can record it).
    if (audited(route, auth)) await this.startTrace(state, req, requestId, operation, path, mount, {});
    const { body, rawBody } = this.takeBody(req, route);
    const wrapTtl = this.wrapTtl(req.headers, route);
    if (state.trace)
      state.trace.data =
        operation === 'update' || operation === 'patch'
          ? body
          : withTrimmedFields(route.fields, Object.fromEntries([...query.entries()].filter(([k]) => k !== 'list')));
    const ctx: RequestContext = {
      requestId,
      operation,
      head: op === 'head',
      path,
      mount,
      params,
      query,
      body,
      rawBody,
      data: {},
      warnings: [],
      remoteAddress: req.remoteAddress,
      peerCertificate: req.peerCertificate,
      sudo: false,
    };
    if (route.fields && handler) this.parseDeclaredFields(route, ctx);
    if (auth === 'optional') {
      if (clientToken(req.headers) !== undefined) ({ token: ctx.clientToken, info: ctx.token } = await this.authenticate(req.headers, req.remoteAddress));
      this.traceToken(state, ctx.clientToken, ctx.token);
    } else if (auth !== 'none') {
      ({ token: ctx.clientToken, info: ctx.token } = await this.authenticate(req.headers, req.remoteAddress));
      this.traceToken(state, ctx.clientToken, ctx.token);
      const aclRequest = { path, token: ctx.token, remoteAddress: req.remoteAddress, body, wrapTtl };
      let decision: AclDecision & { operation: AclOperation };
      if (operation === 'update' && route.existenceCheck && handler) {
        // A write is a create or an update by whether the target exists; the existence check (a
        // database read) runs only when the ACL answers the two differently.
        const [asUpdate, asCreate] = [
          await this.decide({ ...aclRequest, operation: 'update' }, auth),
          await this.decide({ ...aclRequest, operation: 'create' }, auth),
        ];
        const same = asUpdate.allowed === asCreate.allowed && asUpdate.sudo === asCreate.sudo;
        decision = same || (await route.existenceCheck(ctx)) ? asUpdate : asCreate;
      } else {
        decision = await this.decide({ ...aclRequest, operation }, auth);
      }
      ctx.sudo = this.enforce(decision, path, state);
      if (!(await this.tokens.use(ctx.token))) throw invalidToken();
    }
    // A pure read by an unlimited token, not wrapped, leaves no trace but its entries: both go in one commit after it.
    const deferRequestEntry =
      handler !== undefined &&
      route.pureOperations?.includes(operation) === true &&
      wrapTtl === undefined &&
      (ctx.token === undefined || ctx.token.usesRemaining === null);
    if (state.trace && !deferRequestEntry) {
      await this.audit?.broker.logRequest(state.trace);
      state.requestLogged = true;
    }
    try {
      if (!handler) throw unsupportedOperation('unsupported operation');
      const result = await handler(ctx);
      if (state.trace && !state.requestLogged && result?.kind === 'logical' && result.lease) {
        // Not pure after all: the request entry is committed before the lease exists.
        await this.audit?.broker.logRequest(state.trace);
        state.requestLogged = true;
      }
      const lease = result?.kind === 'logical' && result.lease ? await this.registerLease(result.lease, ctx) : undefined;
      let response = this.render(result, route, ctx, lease);
      let wrapInfo: WrapInfo | undefined;
      // Vault wraps logical responses only (not errors, raw sys answers or empty 204s).
      if (wrapTtl !== undefined && result?.kind === 'logical' && response.json !== undefined && this.wrapper) {
        const text = JSON.stringify(response.json);
        wrapInfo = await this.wrapper.wrap(text, path, wrapTtl, typeof result.auth?.accessor === 'string' ? result.auth.accessor : '');
        response = this.renderWrapped(wrapInfo, ctx);
      }
      if (state.trace) {
        const outcome = { ...outcomeOf(route.auditOmitsResponseData ? null : result, response.status), wrapInfo };
        if (state.requestLogged) await this.audit?.broker.logResponse(state.trace, outcome);
        else {
          await this.audit?.broker.logRequestAndResponse(state.trace, outcome);
          state.requestLogged = true;
        }
      }
      return wireResponse(response);
    } finally {
      if (ctx.token) await this.tokens.revokeIfSpent(ctx.token);
    }
  }

  /**
   * `?help=1`: the route's help text and OpenAPI fragment, as a bare body (Vault's shape). Needs a
   * valid token with some capability on the path, so help does not reveal paths a token cannot use.
   * Audited as Vault does, with operation `help` (the help text itself is not copied into the log).
   */
  private async help(
    req: PipelineRequest,
    requestId: string,
    path: string,
    mount: MountEntry,
    route: RouteDefinition,
    state: AuditState,
  ): Promise<PipelineResponse> {
    if (this.seal.isSealed) throw sealedError();
    await this.startTrace(state, req, requestId, 'help', path, mount, {});
    const { token: presented, info } = await this.authenticate(req.headers, req.remoteAddress);
    this.traceToken(state, presented, info);
    const caps = (await this.policies.aclFor(info.policies)).capabilities(path, { remoteAddress: req.remoteAddress });
    if (caps.length === 1 && caps[0] === 'deny') throw permissionDenied();
    const body = { help: route.help, openapi: { openapi: '3.0.2', paths: pathItems(mount, route) }, see_also: null };
    if (state.trace) {
      await this.audit?.broker.logRequestAndResponse(state.trace, { status: 200 });
      state.requestLogged = true;
    }
    return { status: 200, headers: { ...JSON_HEADERS, 'x-request-id': requestId }, body: req.method === 'HEAD' ? undefined : JSON.stringify(body) };
  }

  /**
   * The request's body, parsed (or raw for the routes that take bytes). The bytes leave `req`: a
   * request waits on the database for its audit entries, and bytes held that long outlive two
   * young-generation collections and then wait for a full one (a 338 KiB batch body each time).
   */
  private takeBody(req: PipelineRequest, route: RouteDefinition): { body: Record<string, unknown>; rawBody?: Buffer } {
    const bytes = req.body;
    req.body = undefined;
    if (route.rawRequestBody) return { body: {}, rawBody: bytes ?? Buffer.alloc(0) };
    return { body: withTrimmedFields(route.fields, parseRequestBody(bytes, header(req.headers, 'content-type'), this.listener.json)) };
  }

  /** Writes take declared fields from the body; reads, lists and deletes from the query string. */
  private parseDeclaredFields(route: RouteDefinition, ctx: RequestContext): void {
    const fromQuery = ctx.operation === 'read' || ctx.operation === 'list' || ctx.operation === 'delete';
    const input = fromQuery
      ? withTrimmedFields(route.fields, Object.fromEntries([...ctx.query.entries()].filter(([k]) => k !== 'list' && k !== 'help')))
      : ctx.body;
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
  private async decide(req: AclInput, auth: 'token' | 'sudo'): Promise<AclDecision & { operation: AclOperation }> {
    const acl = await this.policies.aclFor(req.token.policies);
    const decision = acl.allowOperation({
      path: req.path,
      operation: req.operation,
      data: req.body,
      wrapTtl: req.wrapTtl,
      remoteAddress: req.remoteAddress,
      now: new Date(),
      sudoRequired: auth === 'sudo',
    });
    return { ...decision, operation: req.operation };
  }

  /** Throws `permission denied` for a refusal; gives whether the deciding rule grants sudo. */
  private enforce(decision: AclDecision & { operation: AclOperation }, path: string, state: AuditState): boolean {
    if (state.trace) state.trace.policy = { allowed: decision.allowed, matched: decision.matched, reason: decision.reason };
    if (!decision.allowed) {
      this.log.debug(`acl: denied ${decision.operation} ${path}: ${decision.reason}${decision.matched ? ` (rule "${decision.matched}")` : ''}`);
      throw permissionDenied();
    }
    return decision.sudo === true;
  }

  private async authorize(req: AclInput, auth: 'token' | 'sudo', state: AuditState): Promise<boolean> {
    return this.enforce(await this.decide(req, auth), req.path, state);
  }

  /**
   * The wrap TTL the response will be wrapped with (X-Vault-Wrap-TTL, or the route's own default),
   * in seconds; undefined for no wrapping. The ACL judges this value (min/max_wrapping_ttl).
   */
  private wrapTtl(headers: PipelineRequest['headers'], route: RouteDefinition): number | undefined {
    return this.requestedWrapTtl(headers) ?? route.defaultWrapTtlSeconds;
  }

  /** X-Vault-Wrap-TTL in seconds; absent, blank or 0 is undefined (no wrapping, as in Vault). */
  private requestedWrapTtl(headers: PipelineRequest['headers']): number | undefined {
    const raw = header(headers, 'x-vault-wrap-ttl');
    if (raw === undefined || raw.trim() === '') return undefined;
    let seconds: number;
    try {
      seconds = parseDurationSeconds(raw.trim());
    } catch {
      throw badRequest('error parsing wrap TTL: not a duration');
    }
    if (seconds > MAX_DURATION_SECONDS) throw badRequest(`error parsing wrap TTL: must be at most ${goDuration(MAX_DURATION_SECONDS)}`);
    if (seconds === 0) return undefined;
    if (!this.wrapper) throw badRequest('response wrapping is not available');
    return seconds;
  }

  /** The answer in place of a wrapped response: only `wrap_info`. */
  private renderWrapped(wrapInfo: WrapInfo, ctx: RequestContext): RenderedResponse {
    const envelope = {
      request_id: ctx.requestId,
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: null,
      wrap_info: wrapInfo,
      warnings: null,
      auth: null,
      mount_type: '',
    };
    return { status: 200, headers: { ...JSON_HEADERS, 'x-request-id': ctx.requestId }, json: ctx.head ? undefined : envelope };
  }

  /** Every leased secret is registered here, in the one pipeline, before the client sees it. */
  private async registerLease(request: NonNullable<LogicalResponse['lease']>, ctx: RequestContext): Promise<RenderedLease> {
    if (!this.leases) throw new Error('a handler asked for a lease but no expiration manager is running');
    const { leaseId, ttlSeconds } = await this.leases.register(ctx.mount, ctx.path.slice(ctx.mount.path.length), request, {
      token: ctx.token,
      requestId: ctx.requestId,
      remoteAddress: ctx.remoteAddress,
    });
    return { leaseId, ttlSeconds, renewable: request.renewable };
  }

  private render(result: HandlerResult, route: RouteDefinition, ctx: RequestContext, lease?: RenderedLease): RenderedResponse {
    const headers = { ...JSON_HEADERS, 'x-request-id': ctx.requestId };
    // A write that returns nothing but earned warnings (ignored parameters) answers 200 with them, as Vault does.
    if (result === null && ctx.warnings.length > 0) result = { kind: 'logical', data: null };
    if (result === null) return { status: 204, headers: { 'x-request-id': ctx.requestId, 'cache-control': 'no-store' } };
    if (result.kind === 'raw') {
      if (result.body === undefined || result.status === 204)
        return { status: result.status, headers: { 'x-request-id': ctx.requestId, 'cache-control': 'no-store' } };
      if (result.contentType && (typeof result.body === 'string' || Buffer.isBuffer(result.body))) {
        return {
          status: result.status,
          headers: { 'content-type': result.contentType, 'cache-control': 'no-store', 'x-request-id': ctx.requestId },
          body: ctx.head ? undefined : result.body,
        };
      }
      return { status: result.status, headers, json: ctx.head ? undefined : result.body };
    }
    // Vault: a LIST with nothing to list is a 404 with no errors.
    if (ctx.operation === 'list' && (!result.data || !Array.isArray(result.data.keys) || result.data.keys.length === 0)) throw notFound();
    const envelope: Record<string, unknown> = {
      request_id: ctx.requestId,
      lease_id: lease?.leaseId ?? '',
      renewable: lease?.renewable ?? false,
      lease_duration: lease?.ttlSeconds ?? result.leaseDuration ?? 0,
      data: result.data,
      wrap_info: null,
      warnings: warningsOf(result.warnings, ctx.warnings),
      auth: result.auth ?? null,
      mount_type: ctx.mount.type,
      ...(result.errors ? { errors: result.errors } : {}),
    };
    const body = route.injectDataAtTopLevel && result.data ? { ...result.data, ...envelope } : envelope;
    return { status: result.status ?? 200, headers, json: ctx.head ? undefined : body };
  }

  /** The client-facing error; anything unexpected (an audit failure included) is a 500 with the detail only in the server log. */
  private toApiError(err: unknown, requestId: string, req: PipelineRequest): ApiError {
    if (err instanceof ApiError) return err;
    if (err instanceof FieldError) return badRequest(err.message);
    const e = err as Error;
    this.log.error(`request ${requestId} ${req.method} /v1/${req.url.split('?')[0]} failed: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`);
    return new ApiError(500, ['internal error']);
  }

  private errorResponse(apiError: ApiError, requestId: string, req: PipelineRequest): PipelineResponse {
    const headers = { ...JSON_HEADERS, 'x-request-id': requestId };
    return { status: apiError.status, headers, body: req.method === 'HEAD' ? undefined : JSON.stringify({ errors: apiError.errors }) };
  }
}

/** A mount as audit entries show it (its audit_non_hmac_* keys decide what stays clear). */
function auditMountView(mount: MountEntry | undefined): AuditTrace['mount'] {
  if (!mount) return undefined;
  return {
    path: mount.path,
    type: mount.type,
    accessor: mount.accessor,
    class: mount.class,
    clearRequestKeys: mount.config.auditNonHmacRequestKeys,
    clearResponseKeys: mount.config.auditNonHmacResponseKeys,
  };
}
