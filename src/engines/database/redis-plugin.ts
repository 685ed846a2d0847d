/**
 * The Redis plugin (`redis-database-plugin`, Redis 6+ ACL users, with `ioredis`): the connection is
 * `host`/`port` (+ the root `username`/`password`), a role's creation statements are ACL rules (a
 * JSON list per statement, as Vault's: `["~*", "+@read"]`), and revocation is `ACL DELUSER`.
 *
 * Invariants: the user name and password are our generated values; rules are passed as separate
 * command arguments (never spliced into a command string), and rules that would set, keep or drop
 * passwords or disable the user are refused, so the password handed out is the only one.
 */
import Redis from 'ioredis';

export interface RedisConnection {
  host?: string;
  port?: number;
  username: string;
  password: string;
}

const FORBIDDEN_RULE = /^(?:[><#!]|nopass$|resetpass$|reset$|off$|on$)/i;

/** The ACL rules of a role's creation statements; throws on a statement that is not a list of allowed rules. */
export function aclRules(statements: string[]): string[] {
  const rules: string[] = [];
  for (const s of statements) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      parsed = s.split(/\s+/).filter((r) => r !== '');
    }
    if (!Array.isArray(parsed) || !parsed.every((r) => typeof r === 'string')) throw new Error('a Redis creation statement must be a JSON list of ACL rules');
    for (const rule of parsed as string[]) {
      if (FORBIDDEN_RULE.test(rule.trim())) throw new Error(`ACL rule "${rule.trim().slice(0, 1)}…" would change the user's password or state; not allowed`);
      rules.push(rule.trim());
    }
  }
  return rules;
}

async function withRedis<T>(c: RedisConnection, work: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({
    host: c.host ?? '127.0.0.1',
    port: c.port ?? 6379,
    username: c.username || undefined,
    password: c.password || undefined,
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  await r.connect();
  try {
    return await work(r);
  } finally {
    r.disconnect();
  }
}

export async function verifyRedis(c: RedisConnection): Promise<void> {
  await withRedis(c, (r) => r.ping());
}

export async function createRedisUser(c: RedisConnection, statements: string[], name: string, password: string): Promise<void> {
  const rules = aclRules(statements);
  await withRedis(c, (r) => r.call('ACL', 'SETUSER', name, 'on', `>${password}`, ...rules));
}

export async function deleteRedisUser(c: RedisConnection, name: string): Promise<void> {
  await withRedis(c, (r) => r.call('ACL', 'DELUSER', name));
}

export async function listRedisUsers(c: RedisConnection, prefix: string): Promise<string[]> {
  return withRedis(c, async (r) => ((await r.call('ACL', 'USERS')) as string[]).filter((u) => u.startsWith(prefix)));
}

/** Replaces every password of an existing user by `password` (root and static-role rotation). */
export async function setRedisPassword(c: RedisConnection, name: string, password: string): Promise<void> {
  await withRedis(c, (r) => r.call('ACL', 'SETUSER', name, 'resetpass', `>${password}`));
}
