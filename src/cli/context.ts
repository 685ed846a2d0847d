/** What every CLI command needs: the client (address, token, TLS settings) and the output format. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ApiClient, resolveAddress, resolveToken } from './client';
import { resolveClientTls, type TlsFlags } from './tls';
import { humanDuration, looksLikeDuration, parseFormat, print, printJson, renderTable, type OutputFormat } from './output';

export interface CliContext {
  client: ApiClient;
  format: OutputFormat;
}

export function cliContext(cmd: Command): CliContext {
  const opts = cmd.optsWithGlobals() as { address?: string; format?: string; wrapTtl?: string } & TlsFlags;
  const wrapTtl = opts.wrapTtl ?? process.env.SECRETHUB_WRAP_TTL ?? process.env.VAULT_WRAP_TTL;
  return { client: new ApiClient(resolveAddress(opts.address), resolveToken(), wrapTtl, resolveClientTls(opts)), format: parseFormat(opts.format) };
}

export function readStdin(): string {
  return readFileSync(0, 'utf8');
}

/** `key=value`, `key=@file`, `key=-` (stdin), or a lone `@file.json` / `-` for a whole JSON body. */
export function parseKeyValues(args: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const arg of args) {
    if (arg === '-' || arg.startsWith('@')) {
      Object.assign(body, JSON.parse(arg === '-' ? readStdin() : readFileSync(arg.slice(1), 'utf8')));
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new Error(`expected key=value, got "${arg}"`);
    const key = arg.slice(0, eq);
    const raw = arg.slice(eq + 1);
    const value = raw === '-' ? readStdin().replace(/\n$/, '') : raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw;
    if (body[key] === undefined) body[key] = value;
    else body[key] = Array.isArray(body[key]) ? [...(body[key] as unknown[]), value] : [body[key], value];
  }
  return body;
}

/**
 * `-field`: the bare value (strings as they are, anything else as JSON; all as JSON with
 * `--format json`). As Vault's CLI, a newline follows only on a terminal, so that
 * `-field=cert > cert.pem` writes exactly the stored bytes.
 */
export function printField(source: Record<string, unknown>, field: string, format: OutputFormat = 'table'): void {
  const v = source[field];
  if (v === undefined || v === null) throw new Error(`Field "${field}" not present in secret`);
  const text = format === 'json' ? JSON.stringify(v, null, 2) : typeof v === 'string' ? v : JSON.stringify(v);
  process.stdout.write(process.stdout.isTTY ? `${text}\n` : text);
}

/** The response envelope's keys in the order of Vault's `api.Secret`, which the CLI prints as JSON. */
const SECRET_KEYS = ['request_id', 'lease_id', 'lease_duration', 'renewable', 'data', 'warnings', 'auth', 'wrap_info', 'mount_type'];

/**
 * A response envelope as Vault's CLI prints it with -format=json: `api.Secret`'s key order, and
 * `auth` / `wrap_info` left out when null and `mount_type` when empty (its omitempty fields).
 * Any other key the server sent follows, unchanged; a body that is not an envelope is printed as is.
 */
export function asVaultSecret(body: Record<string, unknown>): Record<string, unknown> {
  if (!('request_id' in body)) return body;
  const out: Record<string, unknown> = {};
  for (const key of SECRET_KEYS) {
    if (!(key in body)) continue;
    const v = body[key];
    if ((key === 'auth' || key === 'wrap_info') && (v === null || v === undefined)) continue;
    if (key === 'mount_type' && !v) continue;
    out[key] = v;
  }
  for (const [key, v] of Object.entries(body)) if (!SECRET_KEYS.includes(key)) out[key] = v;
  return out;
}

/**
 * The rows Vault's table prints before a secret's data when it has a lease duration: lease_id,
 * lease_duration and lease_renewable for a lease; refresh_interval when there is no lease id (KV v1).
 */
function leaseRows(body: Record<string, unknown>): [string, unknown][] {
  const duration = body.lease_duration;
  if (typeof duration !== 'number' || duration <= 0) return [];
  if (typeof body.lease_id === 'string' && body.lease_id !== '') {
    return [
      ['lease_id', body.lease_id],
      ['lease_duration', humanDuration(duration)],
      ['lease_renewable', body.renewable === true],
    ];
  }
  return [['refresh_interval', humanDuration(duration)]];
}

/** Prints a logical response like Vault's CLI: its auth block, else its lease and data. */
export function printResponse(format: OutputFormat, body: Record<string, unknown> | null, field?: string): void {
  if (!body) return;
  const auth = body.auth as Record<string, unknown> | null;
  const data = (body.data ?? null) as Record<string, unknown> | null;
  const wrap = body.wrap_info as Record<string, unknown> | null | undefined;
  if (wrap) {
    // A wrapped answer, printed as Vault's CLI does (the field names are Vault's).
    const fields = {
      wrapping_token: wrap.token,
      wrapping_accessor: wrap.accessor,
      wrapping_token_ttl: wrap.ttl,
      wrapping_token_creation_time: wrap.creation_time,
      wrapping_token_creation_path: wrap.creation_path,
      wrapped_accessor: wrap.wrapped_accessor || undefined,
    };
    if (field) return printField(fields, field, format);
    if (format === 'json') return printJson(asVaultSecret(body));
    print(renderTable(Object.entries(fields).filter(([, v]) => v !== undefined)));
    return;
  }
  if (field) return printField(auth ? { token: auth.client_token, token_accessor: auth.accessor, ...auth } : (data ?? {}), field, format);
  if (format === 'json') return printJson(asVaultSecret(body));
  if (auth) {
    print(
      renderTable([
        ['token', auth.client_token],
        ['token_accessor', auth.accessor],
        ['token_duration', typeof auth.lease_duration === 'number' && auth.lease_duration > 0 ? humanDuration(auth.lease_duration) : '∞'],
        ['token_renewable', auth.renewable],
        ['token_policies', auth.token_policies],
        ['identity_policies', auth.identity_policies ?? []],
        ['policies', auth.policies],
        ...Object.entries((auth.metadata as Record<string, string>) ?? {}).map(([k, v]): [string, unknown] => [`token_meta_${k}`, v]),
      ]),
    );
    return;
  }
  const rows = [
    ...leaseRows(body),
    ...Object.entries(data ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]): [string, unknown] => [k, looksLikeDuration(k) && Number.isInteger(v) ? humanDuration(v as number) : v]),
  ];
  if (data || rows.length) print(renderTable(rows));
  const warnings = body.warnings as string[] | null;
  if (warnings?.length) process.stderr.write(warnings.map((w) => `WARNING! ${w}`).join('\n') + '\n');
}
