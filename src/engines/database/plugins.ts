/**
 * The database plugins by `plugin_name`, declared as data: how each verifies a connection,
 * checks a role's statements, creates a user and revokes one.
 */
import {
  closeMysqlPools,
  listMysqlUsers,
  MYSQL_DEFAULT_REVOCATION,
  MYSQL_DEFAULT_ROTATION,
  MYSQL_DIALECT,
  MYSQL_MAX_USERNAME,
  revokeMysqlUser,
  runMysql,
  verifyMysql,
} from './mysql-plugin';
import {
  closePostgresPools,
  DEFAULT_REVOCATION,
  DEFAULT_ROTATION,
  listPostgresUsers,
  revokePostgresUser,
  runStatements,
  verifyConnection,
} from './postgresql-plugin';
import { aclRules, createRedisUser, deleteRedisUser, listRedisUsers, setRedisPassword, verifyRedis } from './redis-plugin';
import { expirationOf, POSTGRES_DIALECT, renderStatement, type Dialect, type TemplateValues } from './statement-template';

/** Everything a connection holds (root credentials included); stored as barrier ciphertext. */
export interface StoredConnection {
  pluginName: string;
  connectionUrl: string;
  host?: string;
  port?: number;
  username: string;
  password: string;
  allowedRoles: string[];
  /** The `sys/policies/password` policy generated passwords follow (default: 30 base-62 characters and -A1a). */
  passwordPolicy?: string;
  /** Connections the engine keeps open to the target at most (Vault's max_open_connections; default 4). */
  maxOpenConnections?: number;
  /** Statements that set the root user's password (`{{name}}`/`{{username}}`, `{{password}}`); empty: the plugin's default. */
  rootRotationStatements?: string[];
  /** Write-ahead record of a root rotation under way: the new password, set before the target changes. */
  pendingPassword?: string;
  /** When the pending rotation began (ms since the epoch). */
  pendingSince?: number;
}

export interface DatabasePlugin {
  maxUsername: number;
  verify(c: StoredConnection): Promise<void>;
  /** Throws when a role's statements could never run (unknown placeholder, wrong quoting, bad rule). */
  validate(statements: string[]): void;
  create(c: StoredConnection, statements: string[], values: Required<TemplateValues>): Promise<void>;
  /** Drops a user; a user that no longer exists counts as revoked. */
  revoke(c: StoredConnection, statements: string[], username: string): Promise<void>;
  /** Runs a role's renew statements with the lease's new expiry. */
  renew(c: StoredConnection, statements: string[], username: string, expiration: string): Promise<void>;
  /** Sets an existing user's password (root and static-role rotation); empty statements: the default. */
  setPassword(c: StoredConnection, statements: string[], username: string, password: string): Promise<void>;
  /** The users whose names start with `prefix`. */
  listUsers(c: StoredConnection, prefix: string): Promise<string[]>;
}

/** A target's error without quoted fragments (a statement echoed back could hold a password). */
export function safeTargetMessage(err: unknown): string {
  const code = (err as { code?: string }).code;
  return `${(err as Error).message.replace(/"[^"]*"|'[^']*'|`[^`]*`/g, '…')}${code ? ` (${code})` : ''}`;
}

const MASK = '*****';
const PASSWORD_PLACEHOLDER = /^\{\{\s*password\s*\}\}$/;

/** `text` with `[from, to)` replaced by the mask, unless that is empty or the {{password}} placeholder. */
function maskRange(text: string, from: number, to: number): string {
  const value = text.slice(from, to);
  return value === '' || PASSWORD_PLACEHOLDER.test(value) ? text : `${text.slice(0, from)}${MASK}${text.slice(to)}`;
}

function decodedKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

/**
 * connection_url as a read answers it: a password written into the URL itself, instead of the
 * {{password}} placeholder, is masked (`*****`), as Vault's connection read does. Where a driver
 * takes one: the userinfo of `scheme://user:password@host/...` (up to the authority's last "@"),
 * MySQL's `user:password@tcp(host)/` (up to the last "@tcp("), and a `password` query parameter
 * (the PostgreSQL driver's).
 */
export function maskConnectionUrl(connectionUrl: string): string {
  let out = connectionUrl;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(out)?.[0];
  if (scheme) {
    const rest = out.slice(scheme.length);
    const end = rest.search(/[/?#]/);
    const authority = end < 0 ? rest : rest.slice(0, end);
    const at = authority.lastIndexOf('@');
    const colon = authority.indexOf(':');
    if (at > 0 && colon >= 0 && colon < at) out = maskRange(out, scheme.length + colon + 1, scheme.length + at);
  } else {
    const dsn = /^([^:]*):(.*)@tcp\(/.exec(out);
    if (dsn) out = maskRange(out, dsn[1].length + 1, dsn[1].length + 1 + dsn[2].length);
  }
  const q = out.indexOf('?');
  if (q < 0) return out;
  const hash = out.indexOf('#', q);
  const queryEnd = hash < 0 ? out.length : hash;
  const query = out
    .slice(q + 1, queryEnd)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 || decodedKey(pair.slice(0, eq)) !== 'password' ? pair : maskRange(pair, eq + 1, pair.length);
    })
    .join('&');
  return `${out.slice(0, q + 1)}${query}${out.slice(queryEnd)}`;
}

function checkTemplates(statements: string[], dialect: Dialect): void {
  const sample = { name: 'v-check', password: 'Sample-password-0123', expiration: expirationOf(new Date()) };
  for (const t of statements) renderStatement(t, sample, dialect);
}

const POSTGRES_PLUGIN: DatabasePlugin = {
  maxUsername: 63,
  verify: verifyConnection,
  validate: (statements) => checkTemplates(statements, POSTGRES_DIALECT),
  create: (c, statements, values) => runStatements(c, statements, values),
  revoke: (c, statements, username) => revokePostgresUser(c, statements.length ? statements : DEFAULT_REVOCATION, username),
  renew: (c, statements, username, expiration) => runStatements(c, statements, { name: username, expiration }),
  setPassword: (c, statements, username, password) => runStatements(c, statements.length ? statements : DEFAULT_ROTATION, { name: username, password }),
  listUsers: listPostgresUsers,
};

const MYSQL_PLUGIN: DatabasePlugin = {
  maxUsername: MYSQL_MAX_USERNAME,
  verify: verifyMysql,
  validate: (statements) => checkTemplates(statements, MYSQL_DIALECT),
  // DDL commits on its own in MySQL: a creation that fails part-way is undone by dropping the user.
  create: async (c, statements, values) => {
    try {
      await runMysql(c, statements, values);
    } catch (err) {
      await runMysql(c, MYSQL_DEFAULT_REVOCATION, { name: values.name }).catch(() => undefined);
      throw err;
    }
  },
  revoke: (c, statements, username) => revokeMysqlUser(c, statements.length ? statements : MYSQL_DEFAULT_REVOCATION, username),
  renew: (c, statements, username, expiration) => runMysql(c, statements, { name: username, expiration }),
  setPassword: (c, statements, username, password) => runMysql(c, statements.length ? statements : MYSQL_DEFAULT_ROTATION, { name: username, password }),
  listUsers: listMysqlUsers,
};

/** Redis has no statements to revoke with: a user is deleted (as Vault's plugin). */
const REDIS_PLUGIN: DatabasePlugin = {
  maxUsername: 63,
  verify: verifyRedis,
  validate: (statements) => void aclRules(statements),
  create: (c, statements, values) => createRedisUser(c, statements, values.name, values.password),
  revoke: (c, _statements, username) => deleteRedisUser(c, username),
  // A Redis user has no expiry to move.
  renew: async () => undefined,
  setPassword: (c, _statements, username, password) => setRedisPassword(c, username, password),
  listUsers: listRedisUsers,
};

export const PLUGINS: Record<string, DatabasePlugin> = {
  'postgresql-database-plugin': POSTGRES_PLUGIN,
  'mysql-database-plugin': MYSQL_PLUGIN,
  'mysql-aurora-database-plugin': MYSQL_PLUGIN,
  'mysql-rds-database-plugin': MYSQL_PLUGIN,
  'mysql-legacy-database-plugin': MYSQL_PLUGIN,
  'redis-database-plugin': REDIS_PLUGIN,
};

/** Closes every pool of target connections (at seal: they hold root credentials in memory). */
export async function closeTargetPools(): Promise<void> {
  await Promise.all([closePostgresPools(), closeMysqlPools()]);
}
