/**
 * The database plugins by `plugin_name`, declared as data: how each verifies a connection,
 * checks a role's statements, creates a user and revokes one.
 */
import { MYSQL_DEFAULT_REVOCATION, MYSQL_DIALECT, MYSQL_MAX_USERNAME, runMysql, verifyMysql } from './mysql-plugin';
import { DEFAULT_REVOCATION, runStatements, verifyConnection } from './postgresql-plugin';
import { aclRules, createRedisUser, deleteRedisUser, verifyRedis } from './redis-plugin';
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
}

export interface DatabasePlugin {
  maxUsername: number;
  verify(c: StoredConnection): Promise<void>;
  /** Throws when a role's statements could never run (unknown placeholder, wrong quoting, bad rule). */
  validate(statements: string[]): void;
  create(c: StoredConnection, statements: string[], values: Required<TemplateValues>): Promise<void>;
  revoke(c: StoredConnection, statements: string[], username: string): Promise<void>;
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
  revoke: (c, statements, username) => runStatements(c, statements.length ? statements : DEFAULT_REVOCATION, { name: username }),
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
  revoke: (c, statements, username) => runMysql(c, statements.length ? statements : MYSQL_DEFAULT_REVOCATION, { name: username }),
};

/** Redis has no statements to revoke with: a user is deleted (as Vault's plugin). */
const REDIS_PLUGIN: DatabasePlugin = {
  maxUsername: 63,
  verify: verifyRedis,
  validate: (statements) => void aclRules(statements),
  create: (c, statements, values) => createRedisUser(c, statements, values.name, values.password),
  revoke: (c, _statements, username) => deleteRedisUser(c, username),
};

export const PLUGINS: Record<string, DatabasePlugin> = {
  'postgresql-database-plugin': POSTGRES_PLUGIN,
  'mysql-database-plugin': MYSQL_PLUGIN,
  'mysql-aurora-database-plugin': MYSQL_PLUGIN,
  'mysql-rds-database-plugin': MYSQL_PLUGIN,
  'mysql-legacy-database-plugin': MYSQL_PLUGIN,
  'redis-database-plugin': REDIS_PLUGIN,
};
