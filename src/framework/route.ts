/**
 * Routes declared as data. The request pipeline is the only caller of handlers: it canonicalises
 * the path, checks the seal, authenticates, authorises and maps errors; handlers never do.
 */
import type { TokenInfo } from '../kernel/token/token.store';

/** Logical operations (Vault's): GET=read, LIST or ?list=true=list, PUT/POST=update, ... */
export type Operation = 'read' | 'list' | 'update' | 'patch' | 'delete';

export interface RequestContext {
  requestId: string;
  operation: Operation;
  /** HEAD requests run the read handler and send no body. */
  head: boolean;
  path: string;
  /** Values of the route's `:name` / `*name` placeholders. */
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  remoteAddress: string;
  clientToken?: string;
  token?: TokenInfo;
  /** The token holds `sudo` on this path (or is root); set by the pipeline, for handlers whose fields need it. */
  sudo: boolean;
}

/** A bare JSON response (Vault's special sys handlers) or an empty 204. */
export interface RawResponse {
  kind: 'raw';
  status: number;
  body?: unknown;
}

/** A logical response, sent in Vault's envelope. */
export interface LogicalResponse {
  kind: 'logical';
  data: Record<string, unknown> | null;
  warnings?: string[];
  /** Login and token-creation responses fill Vault's `auth` block. */
  auth?: Record<string, unknown>;
}

export type HandlerResult = RawResponse | LogicalResponse | null;

export type Handler = (ctx: RequestContext) => Promise<HandlerResult>;

/**
 * Who may call a route. 'none': unauthenticated. 'token': any valid token whose policies allow the
 * operation. 'sudo': additionally a sudo-protected path.
 */
export type Authentication = 'none' | 'token' | 'sudo';

export interface RouteDefinition {
  /** Exact path, or with placeholders: `:name` (one segment) and, last, `*name` (the rest, slashes included). */
  path: string;
  auth: Authentication | Partial<Record<Operation, Authentication>>;
  allowedWhileSealed: boolean;
  /** Legacy sys routes copy `data` keys to the top level of the envelope. */
  injectDataAtTopLevel?: boolean;
  mountType?: string;
  handlers: Partial<Record<Operation, Handler>>;
  /** Decides create vs update for PUT/POST (the ACL needs `create` when nothing exists yet). Without it, writes are updates. */
  existenceCheck?: (ctx: RequestContext) => Promise<boolean>;
  help: string;
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
        if (i !== all.length - 1) throw new Error(`route ${route.path}: *${segment} must be last`);
        paramNames.push(segment.slice(1));
        return '(.+)';
      }
      return segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { route, regex: new RegExp(`^${source}$`), paramNames };
}

export function authFor(route: RouteDefinition, operation: Operation): Authentication {
  return typeof route.auth === 'string' ? route.auth : (route.auth[operation] ?? 'token');
}

export const raw = (status: number, body?: unknown): RawResponse => ({ kind: 'raw', status, body });
export const logical = (data: Record<string, unknown> | null, warnings?: string[], auth?: Record<string, unknown>): LogicalResponse => ({ kind: 'logical', data, warnings, auth });
