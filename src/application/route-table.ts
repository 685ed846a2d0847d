/**
 * Route lookup for the request pipeline: the mount by longest prefix (the mount table), then the
 * backend's declared route for the rest of the path. Exact routes first, then patterns in
 * declaration order; each backend's route array is compiled once.
 */
import type { MountEntry } from '../framework/backend';
import { compileRoute, type CompiledRoute, type RouteDefinition } from '../framework/route';
import type { MountTable } from '../kernel/router/mount-table';

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

export interface ResolvedRoute {
  mount?: MountEntry;
  route?: RouteDefinition;
  params: Record<string, string>;
}

export class RouteTable {
  /** Backends return constant route arrays; each is compiled once. */
  private readonly compiled = new WeakMap<RouteDefinition[], CompiledRoutes>();

  constructor(private readonly mounts: MountTable) {}

  /** The mount by longest prefix, then the backend's declared route for the rest of the path. */
  resolve(path: string): ResolvedRoute {
    const mount = this.mounts.match(path);
    if (!mount) return { params: {} };
    const routes = this.mounts.routesOf(mount);
    let compiled = this.compiled.get(routes);
    if (!compiled) this.compiled.set(routes, (compiled = compileRoutes(routes)));
    const found = findRoute(compiled, path.slice(Math.min(mount.path.length, path.length)));
    return { mount, route: found?.route, params: found?.params ?? {} };
  }
}
