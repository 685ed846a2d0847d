/**
 * A `rabbitmq` role: the tags and permissions each credential gets. Vault takes `vhosts` and
 * `vhost_topics` as JSON strings; an already-parsed object is accepted too.
 *
 * Invariants: a stored role has only string permission patterns under known keys, and no vhost
 * name the management API could not address (empty, `.`, `..`); anything else is refused (400) at
 * write, so a creds read never sends a malformed permission. Error messages name vhosts and
 * exchanges but never echo the JSON text.
 */
import { badRequest } from '../../kernel/errors';
import type { TopicPermission, VhostPermission } from './rabbitmq-api';

export interface StoredRole {
  tags: string[];
  /** vhost → permissions. */
  vhosts: Record<string, VhostPermission>;
  /** vhost → exchange → topic permissions. */
  vhostTopics: Record<string, Record<string, TopicPermission>>;
}

type JsonObject = Record<string, unknown>;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The field as an object: a JSON string (Vault's form) or an object; absent or "" is empty. */
function jsonMap(field: string, raw: unknown): JsonObject {
  if (raw === undefined || raw === null || raw === '') return {};
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw badRequest(`failed to unmarshal ${field}: not valid JSON`);
    }
  }
  if (!isObject(value)) throw badRequest(`failed to unmarshal ${field}: expected a JSON object`);
  return value;
}

function checkName(field: string, what: string, name: string): void {
  if (name === '' || name === '.' || name === '..' || CONTROL.test(name) || name.length > 255) {
    throw badRequest(`${field}: invalid ${what} name (empty, ".", "..", a control character or longer than 255)`);
  }
}

/** Permission patterns: strings under exactly `keys` (a missing one is "", as in Vault). */
function permission<K extends string>(field: string, where: string, value: unknown, keys: readonly K[]): Record<K, string> {
  if (!isObject(value)) throw badRequest(`${field}: the permissions for ${where} must be an object`);
  const unknown = Object.keys(value).filter((k) => !(keys as readonly string[]).includes(k));
  if (unknown.length > 0) throw badRequest(`${field}: unknown key(s) for ${where}; use ${keys.join(', ')}`);
  const out = {} as Record<K, string>;
  for (const key of keys) {
    const pattern = value[key] ?? '';
    if (typeof pattern !== 'string') throw badRequest(`${field}: "${key}" for ${where} must be a string (a regular expression)`);
    out[key] = pattern;
  }
  return out;
}

export function parseVhosts(raw: unknown): Record<string, VhostPermission> {
  const out: Record<string, VhostPermission> = {};
  for (const [vhost, value] of Object.entries(jsonMap('vhosts', raw))) {
    checkName('vhosts', 'vhost', vhost);
    out[vhost] = permission('vhosts', `vhost ${JSON.stringify(vhost)}`, value, ['configure', 'write', 'read'] as const);
  }
  return out;
}

export function parseVhostTopics(raw: unknown): Record<string, Record<string, TopicPermission>> {
  const out: Record<string, Record<string, TopicPermission>> = {};
  for (const [vhost, exchanges] of Object.entries(jsonMap('vhost_topics', raw))) {
    checkName('vhost_topics', 'vhost', vhost);
    if (!isObject(exchanges)) throw badRequest(`vhost_topics: vhost ${JSON.stringify(vhost)} must map exchange names to permissions`);
    out[vhost] = {};
    for (const [exchange, value] of Object.entries(exchanges)) {
      checkName('vhost_topics', 'exchange', exchange);
      out[vhost][exchange] = permission('vhost_topics', `exchange ${JSON.stringify(exchange)} in vhost ${JSON.stringify(vhost)}`, value, [
        'write',
        'read',
      ] as const);
    }
  }
  return out;
}

export function parseTags(tags: string[] | undefined): string[] {
  const out = (tags ?? []).map((t) => t.trim()).filter((t) => t !== '');
  if (out.some((t) => CONTROL.test(t) || t.length > 255)) throw badRequest('tags: a tag contains a control character or is longer than 255');
  return out;
}

/** Vault's rule: a role needs tags or vhosts (topic permissions alone give nothing to log in with). */
export function parseRole(data: { tags?: string[]; vhosts?: unknown; vhost_topics?: unknown }): StoredRole {
  const role: StoredRole = { tags: parseTags(data.tags), vhosts: parseVhosts(data.vhosts), vhostTopics: parseVhostTopics(data.vhost_topics) };
  if (role.tags.length === 0 && Object.keys(role.vhosts).length === 0) throw badRequest('both tags and vhosts not specified');
  return role;
}
