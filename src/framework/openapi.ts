/**
 * The OpenAPI 3 document generated from route declarations (Vault serves the same at
 * sys/internal/specs/openapi). Paths are the mount path plus the route path, `:name` and `*name`
 * become `{name}`; a list is a GET on the path with a trailing slash and `list=true`.
 */
import type { MountEntry } from './backend';
import { intBounds, type FieldSpec, type Fields } from './fields';
import { authFor, type Operation, type RouteDefinition } from './route';

type Schema = Record<string, unknown>;

/** The range the pipeline enforces on an int field. */
function intRange(spec: FieldSpec): Schema {
  const { min, max } = intBounds(spec);
  return { minimum: min, maximum: max };
}

function fieldSchema(spec: FieldSpec): Schema {
  const base: Schema = { description: spec.description };
  switch (spec.type) {
    case 'string':
      return { ...base, type: 'string', ...(spec.allowed ? { enum: [...spec.allowed] } : {}) };
    case 'int':
      return { ...base, type: 'integer', ...intRange(spec) };
    case 'bool':
      return { ...base, type: 'boolean' };
    case 'duration':
      return { ...base, type: 'string', format: 'duration' };
    case 'string-list':
      return { ...base, type: 'array', items: { type: 'string' } };
    case 'int-list':
      return { ...base, type: 'array', items: { type: 'integer', ...intRange(spec) } };
    case 'map':
    case 'string-map':
      return { ...base, type: 'object' };
    case 'any':
      return base;
  }
}

function bodySchema(fields: Fields): Schema {
  const properties = Object.fromEntries(
    Object.entries(fields)
      .filter(([, f]) => !f.query)
      .map(([name, f]) => [name, fieldSchema(f)]),
  );
  const required = Object.entries(fields)
    .filter(([, f]) => f.required && !f.query)
    .map(([name]) => name);
  return { type: 'object', properties, ...(required.length ? { required } : {}) };
}

/** `{name}` path and its path parameters. */
function openApiPath(mount: MountEntry, route: RouteDefinition): { path: string; params: string[] } {
  const params: string[] = [];
  const rel = route.path
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':') || seg.startsWith('*')) {
        params.push(seg.slice(1));
        return `{${seg.slice(1)}}`;
      }
      return seg;
    })
    .join('/');
  return { path: `/${mount.path}${rel}`, params };
}

const METHOD: Record<Exclude<Operation, 'list'>, string> = { read: 'get', update: 'post', patch: 'patch', delete: 'delete' };

/** One route's path item(s): the path itself and, for lists, the trailing-slash form. */
export function pathItems(mount: MountEntry, route: RouteDefinition): Record<string, Schema> {
  const { path, params } = openApiPath(mount, route);
  const parameters = params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' }, description: `${name}` }));
  const common = (op: Operation): Schema => ({
    summary: route.help,
    tags: [mount.class === 'auth' ? 'auth' : mount.type === 'system' ? 'system' : 'secrets'],
    responses: { '200': { description: 'OK' }, '204': { description: 'empty body' } },
    ...(authFor(route, op) === 'none' ? { security: [] } : {}),
  });
  const queryParams = (fields: Fields | undefined) =>
    Object.entries(fields ?? {})
      .filter(([, f]) => f.query)
      .map(([name, f]) => ({ name, in: 'query', schema: fieldSchema(f), description: f.description }));
  const item: Schema = { description: route.help, parameters };
  const out: Record<string, Schema> = {};
  for (const op of Object.keys(route.handlers) as Operation[]) {
    if (op === 'list') {
      const listPath = path.endsWith('/') ? path : `${path}/`;
      out[listPath] = {
        description: route.help,
        parameters,
        get: { ...common('list'), parameters: [{ name: 'list', in: 'query', required: true, schema: { type: 'string', enum: ['true'] } }] },
      };
      continue;
    }
    const operation: Schema = common(op);
    if (op === 'update' || op === 'patch') {
      if (route.fields) operation.requestBody = { content: { 'application/json': { schema: bodySchema(route.fields) } } };
    } else {
      const q = queryParams(route.fields);
      if (q.length) operation.parameters = q;
    }
    item[METHOD[op]] = operation;
  }
  if (Object.keys(item).some((k) => Object.values(METHOD).includes(k))) out[path] = { ...(out[path] ?? {}), ...item };
  return out;
}

export function openApiDocument(version: string, mounts: { mount: MountEntry; routes: RouteDefinition[] }[]): Schema {
  const paths: Record<string, Schema> = {};
  for (const { mount, routes } of mounts) {
    for (const route of routes) {
      for (const [p, item] of Object.entries(pathItems(mount, route))) paths[p] = { ...(paths[p] ?? {}), ...item };
    }
  }
  return {
    openapi: '3.0.2',
    info: {
      title: 'SecretHub API',
      description: "HTTP API of SecretHub, compatible with HashiCorp Vault's (paths are relative to /v1).",
      version,
      license: { name: 'UNLICENSED' },
    },
    servers: [{ url: '/v1' }],
    components: { securitySchemes: { vaultToken: { type: 'apiKey', in: 'header', name: 'X-Vault-Token' } } },
    security: [{ vaultToken: [] }],
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
  };
}
