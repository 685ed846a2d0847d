/**
 * Vault-style statement templates (`{{name}}`, `{{username}}`, `{{password}}`, `{{expiration}}`).
 *
 * Invariants: every value put into a statement is generated here or by the engine and must match a
 * restricted alphabet (checked again before use); it is then escaped by the driver's own functions
 * for its dialect (PostgreSQL: `"{{name}}"` and bare `{{name}}` as an identifier, `'{{password}}'` as
 * a literal; MySQL: `` `{{name}}` `` as an identifier, `'{{name}}'` as a literal), so a value can
 * never change a statement's structure. Templates come from sudo-less role writers but only run on
 * the target database as the connection's own user, as in Vault.
 */
import { escapeIdentifier, escapeLiteral } from 'pg';
import { randomBase62 } from '../../crypto/random';

/** How a dialect quotes: which quote character around a placeholder means identifier or literal. */
export interface Dialect {
  identifierQuote: string;
  identifier(value: string): string;
  literal(value: string): string;
}

export const POSTGRES_DIALECT: Dialect = { identifierQuote: '"', identifier: escapeIdentifier, literal: escapeLiteral };

export interface TemplateValues {
  name: string;
  password?: string;
  expiration?: string;
}

const ALPHABETS: Record<keyof TemplateValues, RegExp> = {
  name: /^[a-z0-9_-]{1,63}$/,
  // Printable ASCII without spaces: password policies choose the characters; the driver escapes them.
  password: /^[\x21-\x7e]{4,128}$/,
  expiration: /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+00:00$/,
};

const KEY_OF: Record<string, keyof TemplateValues> = { name: 'name', username: 'name', password: 'password', expiration: 'expiration' };
const IDENTIFIERS = new Set<keyof TemplateValues>(['name']);

function checked(values: TemplateValues, key: keyof TemplateValues): string {
  const v = values[key];
  if (v === undefined || !ALPHABETS[key].test(v)) throw new Error(`statement value {{${key}}} is missing or outside its alphabet`);
  return v;
}

/** Fills one template; an unknown placeholder is an error (a typo must not reach the database). */
export function renderStatement(template: string, values: TemplateValues, dialect: Dialect = POSTGRES_DIALECT): string {
  return template.replace(/(["'`]?)\{\{\s*([a-z_]+)\s*\}\}\1/g, (_whole, quote: string, placeholder: string) => {
    const key = KEY_OF[placeholder];
    if (!key) throw new Error(`unknown placeholder {{${placeholder}}} in a statement`);
    const v = checked(values, key);
    if (quote === dialect.identifierQuote) return dialect.identifier(v);
    if (quote === "'") return dialect.literal(v);
    if (quote !== '') throw new Error(`placeholder {{${placeholder}}} is quoted with ${quote}, which this database does not use for names`);
    return IDENTIFIERS.has(key) ? dialect.identifier(v) : dialect.literal(v);
  });
}

/** The four hex digits that mark a mount's generated users (from its uuid). */
export function mountTag(mountUuid: string): string {
  return mountUuid.replace(/-/g, '').slice(0, 4).toLowerCase();
}

const GENERATED = /^v-[a-z0-9]{1,16}-[a-z0-9]{12,}-([0-9a-f]{4})([0-9a-z]{6,7})$/;

/**
 * `v-<role>-<random>-<mount tag><creation time, base-36 seconds>`: recognisable, lower case, at most
 * `maxLength` characters (PostgreSQL 63, MySQL 32) with at least 13 random ones. The tag and time
 * let the orphan reconciler pick out only its own mount's users, and only once they are old.
 */
export function generateUsername(role: string, maxLength: number, tag: string, now = Date.now()): string {
  const suffix = `${tag}${Math.floor(now / 1000).toString(36)}`;
  const part =
    role
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(0, Math.min(16, maxLength - 28)) || 'role';
  const randomLength = maxLength - 2 - part.length - 1 - 1 - suffix.length;
  return `v-${part}-${randomBase62(randomLength).toLowerCase()}-${suffix}`;
}

/** When a user generated for the mount with this tag was created (ms); undefined for any other name. */
export function generatedAt(username: string, tag: string): number | undefined {
  const m = GENERATED.exec(username);
  return m && m[1] === tag ? parseInt(m[2], 36) * 1000 : undefined;
}

/** PostgreSQL's `VALID UNTIL` form, UTC. */
export function expirationOf(time: Date): string {
  return `${time.toISOString().slice(0, 19).replace('T', ' ')}+00:00`;
}
