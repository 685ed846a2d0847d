/**
 * Routes declared as data. The request pipeline is the only caller of handlers: it canonicalises
 * the path, checks the seal, authenticates, authorises and maps errors; handlers never do.
 */
import type { TokenInfo } from './token-info';
import type { MountEntry } from './backend';
import type { FieldData, Fields } from './fields';

/** What a handler returns to have its secret leased (LogicalResponse.lease). */
export interface LeaseRequest {
  ttlSeconds: number;
  /** Hard cap from issue time (default: the mount's max lease TTL). */
  maxTtlSeconds?: number;
  renewable: boolean;
  /** What the engine needs to revoke it (kept as barrier ciphertext). */
  internal: Record<string, unknown>;
  /** Non-secret facts for operators (engine_metadata). */
  metadata?: Record<string, unknown>;
}

/** Logical operations (Vault's): GET=read, LIST or ?list=true=list, PUT/POST=update, ... */
export type Operation = 'read' | 'list' | 'update' | 'patch' | 'delete';

/** `Data` is the type of `ctx.data`: open for routes declared as bare RouteDefinitions, FieldData for those made by route(). */
export interface RequestContext<Data = Record<string, unknown>> {
  requestId: string;
  operation: Operation;
  /** HEAD requests run the read handler and send no body. */
  head: boolean;
  /** The full canonical path (what the ACL judged). */
  path: string;
  /** The mount serving the request; its uuid keys the engine's storage. */
  mount: MountEntry;
  /** Values of the route's `:name` / `*name` placeholders. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON (or form) body, as sent; empty on routes that take their body as bytes. */
  body: Record<string, unknown>;
  /** The body's bytes, on routes with `rawRequestBody` only (OCSP requests). */
  rawBody?: Buffer;
  /** The route's declared fields, coerced (body on writes, query string otherwise); empty without declarations. */
  data: Data;
  /** Warnings the pipeline adds to the response (ignored parameters). */
  warnings: string[];
  remoteAddress: string;
  /** The connection's TLS client certificate, unverified (the `cert` auth method checks it itself). */
  peerCertificate?: PeerCertificate;
  clientToken?: string;
  token?: TokenInfo;
  /** The token holds `sudo` on this path (or is root); set by the pipeline, for handlers whose fields need it. */
  sudo: boolean;
}

/**
 * A client certificate as the listener saw it. `authorized` is the listener's own verification
 * against tls_client_ca_file (or the system CAs); with client certificates merely requested it may
 * be false, so an auth method must do its own checks and may use this only as a hint.
 */
export interface PeerCertificate {
  /** The client's certificate, DER. */
  der: Buffer;
  /**
   * Its issuers, DER, nearest first, as Node reports them: those the client sent, completed from
   * the listener's trust store (so the issuing CA may appear even if the client did not send it).
   * On a resumed TLS session it may be shorter.
   */
  chainDer: Buffer[];
  authorized: boolean;
  /** OpenSSL's reason when `authorized` is false, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE (unknown issuer). */
  authorizationError?: string;
}

/** A bare JSON response (Vault's special sys handlers) or an empty 204. */
export interface RawResponse {
  kind: 'raw';
  status: number;
  body?: unknown;
  /** With a string body: sent as is under this content type instead of as JSON (sys/metrics in Prometheus form). */
  contentType?: string;
}

/** A logical response, sent in Vault's envelope. */
export interface LogicalResponse {
  kind: 'logical';
  data: Record<string, unknown> | null;
  warnings?: string[];
  /** Login and token-creation responses fill Vault's `auth` block. */
  auth?: Record<string, unknown>;
  /** Seconds a client may cache the value (KV v1 `ttl`); leases set their own later. */
  leaseDuration?: number;
  /** An HTTP status other than 200 for a body-carrying answer (KV v2: a deleted version is a 404 with its metadata). */
  status?: number;
  /** With a 4xx `status`: the envelope also carries `errors` (a transit batch with failed items answers 400 with its results). */
  errors?: string[];
  /** A leased secret: the pipeline registers it with the expiration manager and answers lease_id, lease_duration, renewable. */
  lease?: LeaseRequest;
}

export type HandlerResult = RawResponse | LogicalResponse | null;

export type Handler = (ctx: RequestContext) => Promise<HandlerResult>;

/**
 * Who may call a route. 'none': unauthenticated. 'token': any valid token whose policies allow the
 * operation. 'sudo': additionally a sudo-protected path. 'optional': the path itself is not judged
 * by the ACL; a token, when sent, must be valid and reaches the handler, which shows only what the
 * token's policies reach (Vault's token-aware unauthenticated paths: sys/internal/ui/mounts, openapi).
 */
export type Authentication = 'none' | 'token' | 'sudo' | 'optional';

export interface RouteDefinition {
  /** Relative to the mount. Exact path, or with placeholders: `:name` (one segment) and `*name` (one or more segments). */
  path: string;
  /** Default 'token'; per operation, an operation not named is 'token'. */
  auth?: Authentication | Partial<Record<Operation, Authentication>>;
  /** Default false: the route answers 503 while sealed. */
  allowedWhileSealed?: boolean;
  /** Legacy sys routes copy `data` keys to the top level of the envelope. */
  injectDataAtTopLevel?: boolean;
  handlers: Partial<Record<Operation, Handler>>;
  /** Typed fields; without them the body reaches the handler unchecked (KV data, raw sys handlers). */
  fields?: Fields;
  /** Decides create vs update for PUT/POST (the ACL needs `create` when nothing exists yet). Without it, writes are updates. */
  existenceCheck?: (ctx: RequestContext) => Promise<boolean>;
  help: string;
  /** The response's data is left out of audit entries (the audit export: it would copy the log into itself). */
  auditOmitsResponseData?: boolean;
  /**
   * Operations whose handler changes nothing (no storage write, no lease, no outside effect): their
   * request entry is committed together with the response entry instead of before the handler
   * runs, one group commit instead of two. Declare only what is read-only by construction.
   */
  pureOperations?: readonly Operation[];
  /** The response is always wrapped: with this TTL when the request sets no X-Vault-Wrap-TTL (sys/wrapping/wrap). */
  defaultWrapTtlSeconds?: number;
  /** The body is not parsed: the handler gets its bytes as `ctx.rawBody` (binary protocols such as OCSP). */
  rawRequestBody?: boolean;
  /**
   * Vault serves this path in its HTTP layer (sys/init, seal, unseal, rekey, ...), which answers a
   * method the path does not support 405 before the seal, the token or the audit log are looked at.
   * Elsewhere an unsupported operation is judged after the token and the ACL, as Vault's backends do.
   */
  methodsBeforeToken?: boolean;
}

export interface CompiledRoute {
  route: RouteDefinition;
  regex?: RegExp;
  paramNames: string[];
}

/** Compiles a route path into a matcher. Placeholders never match an empty string. */
export function compileRoute(route: RouteDefinition): CompiledRoute {
  const paramNames: string[] = [];
  if (!/[:*]/.test(route.path)) return { route, paramNames };
  const source = route.path
    .split('/')
    .map((segment, i, all) => {
      if (segment.startsWith(':')) {
        paramNames.push(segment.slice(1));
        return '([^/]+)';
      }
      if (segment.startsWith('*')) {
        paramNames.push(segment.slice(1));
        return i === all.length - 1 ? '(.+)' : '(.+?)';
      }
      return segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { route, regex: new RegExp(`^${source}$`), paramNames };
}

export function authFor(route: RouteDefinition, operation: Operation): Authentication {
  if (route.auth === undefined) return 'token';
  return typeof route.auth === 'string' ? route.auth : (route.auth[operation] ?? 'token');
}

/**
 * The authentication a request needs on its way to the handler, or to the 405 of an operation the
 * route lacks: that operation is judged like the route's own (by the ACL, as in Vault) unless no
 * operation of the route needs a token, when there is nothing to judge.
 */
export function requestAuth(route: RouteDefinition, operation: Operation): Authentication {
  if (route.handlers[operation]) return authFor(route, operation);
  const declared = Object.keys(route.handlers) as Operation[];
  const tokenless = declared.length > 0 && declared.every((op) => ['none', 'optional'].includes(authFor(route, op)));
  return tokenless ? 'none' : authFor(route, operation);
}

/** Reads, lists and deletes take their fields from the query string (the pipeline's parseDeclaredFields). */
type ReadsQuery<O extends Operation> = O extends 'update' | 'patch' ? false : true;

/** The request a handler of operation `O` on a route declaring `F` receives. */
export type RouteContext<F extends Fields, O extends Operation = 'update'> = RequestContext<FieldData<F, ReadsQuery<O>>>;

/** A route whose handlers see `ctx.data` typed from its fields; route() erases it to a RouteDefinition. */
export interface TypedRouteDefinition<F extends Fields> extends Omit<RouteDefinition, 'fields' | 'handlers'> {
  fields?: F;
  /** F is inferred from `fields` only: a handler typed for other fields is checked against these. */
  handlers: { [O in Operation]?: (ctx: RouteContext<NoInfer<F>, O>) => Promise<HandlerResult> };
}

/**
 * Declares a route whose handlers' `ctx.data` is typed from its `fields` (see FieldData); returns
 * the definition unchanged. The erasure holds because the pipeline gives handlers only the
 * parseFields output of these fields, for the operation's input (body or query string).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a route without fields has empty data
export function route<const F extends Fields = {}>(definition: TypedRouteDefinition<F>): RouteDefinition {
  return definition as RouteDefinition;
}

export const raw = (status: number, body?: unknown, contentType?: string): RawResponse => ({ kind: 'raw', status, body, contentType });
export const logical = (data: Record<string, unknown> | null, warnings?: string[], auth?: Record<string, unknown>): LogicalResponse => ({
  kind: 'logical',
  data,
  warnings,
  auth,
});
