/**
 * A small client for the RabbitMQ management HTTP API (Node's fetch): just what the `rabbitmq`
 * engine needs — check the administrator login, create a user with its permissions, delete it.
 *
 * Invariants:
 * - every path segment (user, vhost) is percent-encoded and `.`/`..` segments are refused, so a
 *   name can never address another resource (fetch would resolve a dot segment);
 * - error messages name the method, the path template and RabbitMQ's reason, never a password:
 *   the passwords this client knows are scrubbed from any text it puts in an error;
 * - the base URI carries no credentials (checked by `parseManagementUri`), so it may be shown.
 */

/** A failed management call; `status` is 0 when no HTTP answer came. */
export class RabbitMqApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RabbitMqApiError';
  }
}

export interface VhostPermission {
  configure: string;
  write: string;
  read: string;
}

export interface TopicPermission {
  write: string;
  read: string;
}

const TIMEOUT_MS = 10_000;
const MAX_REASON = 200;

/** The management API's base URL from `connection_uri`: http(s), no credentials, no query or fragment. */
export function parseManagementUri(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new Error('connection_uri is not a valid URL (expected e.g. http://localhost:15672)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('connection_uri must be an http or https URL');
  if (url.username || url.password) throw new Error('connection_uri must not contain credentials; use username and password');
  if (url.search || url.hash) throw new Error('connection_uri must not have a query or fragment');
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** One path segment, percent-encoded; `.` and `..` are refused (URL resolution would remove them). */
export function pathSegment(value: string): string {
  if (value === '' || value === '.' || value === '..') throw new RabbitMqApiError(0, 'a user or vhost name cannot be empty, "." or ".."');
  return encodeURIComponent(value);
}

export class RabbitMqManagementClient {
  private readonly base: URL;
  private readonly authorization: string;
  private readonly secrets: string[];

  constructor(uri: string, username: string, password: string) {
    this.base = parseManagementUri(uri);
    this.authorization = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    this.secrets = [password];
  }

  /** The administrator login works and may manage users (the `administrator` tag). */
  async verify(): Promise<void> {
    const me = (await this.call('GET', 'api/whoami', 'api/whoami')) as { tags?: string | string[] } | undefined;
    const tags = Array.isArray(me?.tags) ? me.tags : String(me?.tags ?? '').split(',');
    if (!tags.map((t) => t.trim()).includes('administrator'))
      throw new RabbitMqApiError(403, 'the management user lacks the "administrator" tag needed to manage users');
  }

  async putUser(username: string, password: string, tags: string[]): Promise<void> {
    await this.call('PUT', `api/users/${pathSegment(username)}`, 'PUT api/users/<user>', { password, tags: tags.join(',') }, [password]);
  }

  async putPermissions(vhost: string, username: string, permission: VhostPermission): Promise<void> {
    const body = { configure: permission.configure, write: permission.write, read: permission.read };
    await this.call(
      'PUT',
      `api/permissions/${pathSegment(vhost)}/${pathSegment(username)}`,
      `PUT api/permissions/<vhost>/<user> (vhost ${JSON.stringify(vhost)})`,
      body,
    );
  }

  async putTopicPermissions(vhost: string, username: string, exchange: string, permission: TopicPermission): Promise<void> {
    const body = { exchange, write: permission.write, read: permission.read };
    await this.call(
      'PUT',
      `api/topic-permissions/${pathSegment(vhost)}/${pathSegment(username)}`,
      `PUT api/topic-permissions/<vhost>/<user> (vhost ${JSON.stringify(vhost)})`,
      body,
    );
  }

  /** Whether a user of this name exists (a templated name must not take over someone else's user). */
  async userExists(username: string): Promise<boolean> {
    try {
      await this.call('GET', `api/users/${pathSegment(username)}`, 'GET api/users/<user>');
      return true;
    } catch (err) {
      if (err instanceof RabbitMqApiError && err.status === 404) return false;
      throw err;
    }
  }

  /** Deletes a user; gives false when it was already gone (404), which callers treat as done. */
  async deleteUser(username: string): Promise<boolean> {
    try {
      await this.call('DELETE', `api/users/${pathSegment(username)}`, 'DELETE api/users/<user>');
      return true;
    } catch (err) {
      if (err instanceof RabbitMqApiError && err.status === 404) return false;
      throw err;
    }
  }

  /** One request; throws RabbitMqApiError with `label` (never the concrete path's secrets) on failure. */
  private async call(method: string, path: string, label: string, body?: unknown, extraSecrets: string[] = []): Promise<unknown> {
    const url = new URL(path, this.base);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: this.authorization, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new RabbitMqApiError(0, `cannot reach the RabbitMQ management API at ${this.base.origin} (${cause})`);
    }
    const text = await res.text().catch(() => '');
    if (res.ok) {
      try {
        return text ? (JSON.parse(text) as unknown) : undefined;
      } catch {
        throw new RabbitMqApiError(res.status, `${label} answered ${res.status} with a body that is not JSON (is connection_uri the management API?)`);
      }
    }
    throw new RabbitMqApiError(res.status, this.scrub(`${label} answered ${res.status}${reasonOf(text)}`, extraSecrets));
  }

  private scrub(message: string, extraSecrets: string[]): string {
    let out = message;
    for (const secret of [...this.secrets, ...extraSecrets]) if (secret.length > 0) out = out.split(secret).join('…');
    return out;
  }
}

/** RabbitMQ answers errors as `{"error": ..., "reason": ...}`; keep the reason, short. */
function reasonOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown; reason?: unknown };
    const reason = typeof parsed.reason === 'string' ? parsed.reason : typeof parsed.error === 'string' ? parsed.error : '';
    return reason ? `: ${reason.slice(0, MAX_REASON)}` : '';
  } catch {
    return '';
  }
}
