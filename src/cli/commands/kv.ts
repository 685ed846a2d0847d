/**
 * `secrethub kv ...`: Vault's `vault kv` commands. Like Vault's CLI, each command first asks
 * `sys/internal/ui/mounts/<path>` which mount serves the path and its KV version, then calls the
 * v1 path (`<mount>/<key>`) or the v2 one (`<mount>/data/<key>`, `metadata/`, `delete/`, ...).
 */
import type { Command } from 'commander';
import type { ApiClient } from '../client';
import { cliContext, parseKeyValues, printField } from '../context';
import { print, printJson, renderTable, type OutputFormat } from '../output';
import { MERGE_PATCH_CONTENT_TYPE } from '../../http/request-body';

interface KvTarget {
  /** The mount's path with its trailing slash, e.g. `secret/`. */
  mount: string;
  version: 1 | 2;
  /** The key inside the mount, without leading or trailing slashes. */
  key: string;
}

type Body = Record<string, unknown>;

const trimSlashes = (p: string) => p.replace(/^\/+|\/+$/g, '');
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Vault's preflight: which mount serves `path` (or `-mount` + `path`) and which KV version it runs. */
async function resolveKv(client: ApiClient, path: string, mountFlag: string | undefined): Promise<KvTarget> {
  const full = mountFlag ? `${trimSlashes(mountFlag)}/${trimSlashes(path)}` : trimSlashes(path);
  const res = await client.request('GET', `sys/internal/ui/mounts/${full}`, undefined, [404]);
  const data = res.body?.data as { path?: string; options?: { version?: string } | null } | undefined;
  // A server without the preflight endpoint: Vault's CLI assumes KV version 1 there.
  if (res.status === 404 || !data?.path) return { mount: '', version: 1, key: full };
  const mount = data.path.endsWith('/') ? data.path : `${data.path}/`;
  const key = mountFlag ? trimSlashes(path) : trimSlashes(full.slice(Math.min(full.length, mount.length)));
  return { mount, version: data.options?.version === '2' ? 2 : 1, key };
}

/** The API path of a KV operation: `<mount>/<prefix>/<key>` on version 2, `<mount>/<key>` on version 1. */
function kvPath(t: KvTarget, prefix: 'data' | 'metadata' | 'delete' | 'undelete' | 'destroy'): string {
  return t.version === 2 ? `${t.mount}${prefix}/${t.key}` : `${t.mount}${t.key}`;
}

function requireV2(t: KvTarget, what: string): void {
  if (t.version !== 2) throw new Error(`${what} not supported on KV Version 1`);
}

function parseVersions(value: string | undefined, verb: string): number[] {
  if (!value) throw new Error(`No versions provided, use the "-versions" flag to specify the version to ${verb}.`);
  return value.split(',').map((v) => {
    const n = Number(v.trim());
    if (!Number.isInteger(n) || n < 0) throw new Error(`invalid version "${v}"`);
    return n;
  });
}

function parseCas(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`invalid -cas value "${value}": a version number (0 for a new key)`);
  return n;
}

/** Vault pads a section title with `=` to the width of what follows: `==== Metadata ====`. */
function section(title: string, width: number): string {
  let signs = width - (title.length + 2);
  if (signs <= 0) return `== ${title} ==`;
  if (signs % 2) signs += 1;
  return `${'='.repeat(signs / 2)} ${title} ${'='.repeat(signs / 2)}`;
}

function tableSection(title: string, rows: [string, unknown][]): string {
  const table = renderTable(rows.sort(([a], [b]) => a.localeCompare(b)));
  const width = Math.max(...table.split('\n').map((l) => l.length));
  return `${section(title, width)}\n${table}`;
}

const pathSection = (title: string, path: string) => `${section(title, path.length)}\n${path}`;

function notFound(path: string, what = 'value'): void {
  process.stderr.write(`No ${what} found at ${path}\n`);
  process.exitCode = 2;
}

/** A version-2 secret as `vault kv get|put|patch` print it: its path, metadata and (when there) data. */
function printSecret(format: OutputFormat, t: KvTarget, body: Body | null, field: string | undefined, kind: 'read' | 'write'): void {
  const path = kvPath(t, 'data');
  if (!body) return success(format, `Success! Data written to: ${path}`);
  const data = (body.data ?? {}) as Body;
  if (t.version === 1) {
    if (field) return printField(data, field, format);
    if (format === 'json') return printJson(body);
    return print(tableSection('Data', Object.entries(data)));
  }
  // Reads carry {data, metadata}; writes answer with the new version's metadata only.
  const metadata = (kind === 'read' ? data.metadata : data) as Body | null;
  const values = kind === 'read' ? (data.data as Body | null) : null;
  if (field) {
    if (kind === 'write') return printField(data, field, format);
    if (!values) return notFound(path, 'data');
    return printField(values, field, format);
  }
  if (format === 'json') return printJson(body);
  const parts = [pathSection('Secret Path', path)];
  if (metadata) parts.push(tableSection('Metadata', Object.entries(metadata)));
  if (values) parts.push(tableSection('Data', Object.entries(values)));
  print(parts.join('\n\n'));
  const warnings = body.warnings as string[] | null;
  if (warnings?.length) process.stderr.write(warnings.map((w) => `WARNING! ${w}`).join('\n') + '\n');
}

function success(format: OutputFormat, message: string): void {
  if (format === 'json') printJson({});
  else print(message);
}

export function registerKvCommands(program: Command): void {
  const kv = program.command('kv').description('Read and write secrets in KV version 1 and 2 mounts (like `vault kv`)');
  const withMount = (cmd: Command) => cmd.option('--mount <path>', 'the KV mount; the path argument is then the key inside it');

  withMount(kv.command('put'))
    .description('Write a new version of a secret: key=value, key=@file, key=- (stdin), or @file.json / - for a JSON object')
    .argument('<path>')
    .argument('[data...]')
    .option('--cas <version>', 'check-and-set: the current version (0: only if the key does not exist)')
    .option('--field <name>', 'print only this field of the response')
    .action(async (path: string, args: string[], opts: { mount?: string; cas?: string; field?: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const data = parseKeyValues(args);
      if (Object.keys(data).length === 0) throw new Error('Must supply data');
      const cas = parseCas(opts.cas);
      const t = await resolveKv(client, path, opts.mount);
      const body = t.version === 2 ? { data, ...(cas === undefined ? {} : { options: { cas } }) } : data;
      const res = await client.request('PUT', kvPath(t, 'data'), body);
      printSecret(format, t, res.status === 204 ? null : res.body, opts.field, 'write');
    });

  withMount(kv.command('get'))
    .description('Read a secret (the latest version, or -version=N)')
    .argument('<path>')
    .option('--version <n>', 'the version to read (version 2 mounts)')
    .option('--field <name>', 'print only this field of the data')
    .action(async (path: string, opts: { mount?: string; version?: string; field?: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const t = await resolveKv(client, path, opts.mount);
      const query = t.version === 2 && opts.version !== undefined ? `?version=${encodeURIComponent(opts.version)}` : '';
      const res = await client.request('GET', kvPath(t, 'data') + query, undefined, [404]);
      // A deleted or destroyed version is a 404 that still carries its metadata: print that.
      if (res.status === 404 && !(res.body?.data as Body | undefined)) return notFound(kvPath(t, 'data'));
      printSecret(format, t, res.body, opts.field, 'read');
    });

  withMount(kv.command('patch'))
    .description('Change some keys of the latest version (a JSON merge patch; -method=rw reads, merges and writes with check-and-set)')
    .argument('<path>')
    .argument('[data...]')
    .option('--cas <version>', 'check-and-set: the current version')
    .option('--method <method>', 'patch (default) or rw')
    .option('--remove <key>', 'remove this key (repeatable)', collect)
    .option('--field <name>', 'print only this field of the response')
    .action(async (path: string, args: string[], opts: { mount?: string; cas?: string; method?: string; remove?: string[]; field?: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const changes: Body = { ...parseKeyValues(args), ...Object.fromEntries((opts.remove ?? []).map((k) => [k, null])) };
      if (Object.keys(changes).length === 0) throw new Error('Must supply data');
      const method = opts.method ?? 'patch';
      if (method !== 'patch' && method !== 'rw') throw new Error(`unsupported method "${method}": use patch or rw`);
      let cas = parseCas(opts.cas);
      const t = await resolveKv(client, path, opts.mount);
      if (t.version !== 2) throw new Error('K/V engine mount must be version 2 for patch support');
      let res;
      if (method === 'patch') {
        res = await client.request(
          'PATCH',
          kvPath(t, 'data'),
          { data: changes, ...(cas === undefined ? {} : { options: { cas } }) },
          [],
          MERGE_PATCH_CONTENT_TYPE,
        );
      } else {
        const current = await client.request('GET', kvPath(t, 'data'), undefined, [404]);
        const latest = current.body?.data as { data?: Body | null; metadata?: { version?: number } } | undefined;
        if (current.status === 404 || !latest?.data) return notFound(kvPath(t, 'data'));
        const merged: Body = { ...latest.data };
        for (const [k, v] of Object.entries(changes)) {
          if (v === null) delete merged[k];
          else merged[k] = v;
        }
        cas ??= latest.metadata?.version;
        res = await client.request('PUT', kvPath(t, 'data'), { data: merged, options: { cas } });
      }
      printSecret(format, t, res.body, opts.field, 'write');
    });

  withMount(kv.command('delete'))
    .description('Soft-delete the latest version, or -versions=1,2 (version 2); remove the key (version 1)')
    .argument('<path>')
    .option('--versions <list>', 'comma-separated versions to delete')
    .action(async (path: string, opts: { mount?: string; versions?: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const t = await resolveKv(client, path, opts.mount);
      if (t.version === 2 && opts.versions !== undefined) {
        await client.request('POST', kvPath(t, 'delete'), { versions: parseVersions(opts.versions, 'delete') });
        return success(format, `Success! Data deleted (if it existed) at: ${kvPath(t, 'delete')}`);
      }
      await client.request('DELETE', kvPath(t, 'data'));
      success(format, `Success! Data deleted (if it existed) at: ${kvPath(t, 'data')}`);
    });

  for (const [verb, prefix, help] of [
    ['undelete', 'undelete', 'Bring back soft-deleted versions (-versions=1,2)'],
    ['destroy', 'destroy', 'Remove the values of versions for good (-versions=1,2)'],
  ] as const) {
    withMount(kv.command(verb))
      .description(help)
      .argument('<path>')
      .option('--versions <list>', 'comma-separated versions')
      .action(async (path: string, opts: { mount?: string; versions?: string }, cmd: Command) => {
        const { client, format } = cliContext(cmd);
        const versions = parseVersions(opts.versions, verb);
        const t = await resolveKv(client, path, opts.mount);
        requireV2(t, verb === 'undelete' ? 'Undelete' : 'Destroy');
        await client.request('PUT', kvPath(t, prefix), { versions });
        success(format, `Success! Data written to: ${kvPath(t, prefix)}`);
      });
  }

  withMount(kv.command('list'))
    .description('List the keys under a path (folders end in /)')
    .argument('[path]', 'the path (with -mount: the folder inside it)', '')
    .action(async (path: string, opts: { mount?: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      if (!path && !opts.mount) throw new Error('Must supply a path (or -mount)');
      const t = await resolveKv(client, path, opts.mount);
      const listPath = kvPath(t, 'metadata');
      const res = await client.request('LIST', listPath, undefined, [404]);
      const keys = res.status === 404 ? [] : (((res.body?.data as Body | undefined)?.keys as string[]) ?? []);
      if (keys.length === 0) return notFound(listPath);
      if (format === 'json') return printJson(keys);
      print(['Keys', '----', ...keys].join('\n'));
    });

  withMount(kv.command('rollback'))
    .description('Write an older version again as the newest (-version=N), with check-and-set against the current one')
    .argument('<path>')
    .option('--version <n>', 'the version to restore')
    .option('--field <name>', 'print only this field of the response')
    .action(async (path: string, opts: { mount?: string; version?: string; field?: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const wanted = Number(opts.version);
      if (opts.version === undefined || !Number.isInteger(wanted) || wanted <= 0) throw new Error('Must specify a version to roll back to with -version=N');
      const t = await resolveKv(client, path, opts.mount);
      requireV2(t, 'Rollback');
      const dataPath = kvPath(t, 'data');
      const latest = await client.request('GET', dataPath, undefined, [404]);
      const currentVersion = ((latest.body?.data as Body | undefined)?.metadata as Body | undefined)?.version;
      if (currentVersion === undefined) return notFound(dataPath);
      const old = await client.request('GET', `${dataPath}?version=${wanted}`, undefined, [404]);
      const target = old.body?.data as { data?: Body | null; metadata?: { deletion_time?: string; destroyed?: boolean } } | undefined;
      if (!target?.metadata) return notFound(dataPath);
      if (target.metadata.destroyed) throw new Error('Cannot roll back to a version that has been destroyed');
      if (target.metadata.deletion_time) throw new Error('Cannot roll back to a version that has been deleted');
      if (!target.data) return notFound(dataPath, 'data');
      const res = await client.request('PUT', dataPath, { data: target.data, options: { cas: currentVersion } });
      printSecret(format, t, res.body, opts.field, 'write');
    });

  registerKvMetadataCommands(kv, withMount);
}

function registerKvMetadataCommands(kv: Command, withMount: (cmd: Command) => Command): void {
  const metadata = kv.command('metadata').description("Read and change a KV version 2 key's metadata");

  withMount(metadata.command('get'))
    .description("Show a key's metadata and the state of each version")
    .argument('<path>')
    .action(async (path: string, opts: { mount?: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const t = await resolveKv(client, path, opts.mount);
      requireV2(t, 'Metadata');
      const metaPath = kvPath(t, 'metadata');
      const res = await client.request('GET', metaPath, undefined, [404]);
      if (res.status === 404) return notFound(metaPath);
      if (format === 'json') return printJson(res.body);
      const { versions, ...rest } = (res.body?.data ?? {}) as Body & { versions?: Record<string, Body> };
      const parts = [pathSection('Metadata Path', metaPath), tableSection('Metadata', Object.entries(rest))];
      for (const [n, v] of Object.entries(versions ?? {}).sort(([a], [b]) => Number(a) - Number(b)))
        parts.push(tableSection(`Version ${n}`, Object.entries(v)));
      print(parts.join('\n\n'));
    });

  for (const [verb, method] of [
    ['put', 'POST'],
    ['patch', 'PATCH'],
  ] as const) {
    withMount(metadata.command(verb))
      .description(verb === 'put' ? "Set a key's metadata (creating the key if needed)" : "Change some of a key's metadata settings")
      .argument('<path>')
      .option('--max-versions <n>', 'versions to keep (0: the mount setting)')
      .option('--cas-required', 'require check-and-set on writes (-cas-required=false to stop requiring it)')
      .option('--no-cas-required', 'do not require check-and-set')
      .option('--delete-version-after <duration>', 'soft-delete each version this long after it is written (0s: never)')
      .option('--custom-metadata <key=value>', 'custom metadata (repeatable)', collect)
      .action(
        async (
          path: string,
          opts: { mount?: string; maxVersions?: string; casRequired?: boolean; deleteVersionAfter?: string; customMetadata?: string[] },
          cmd: Command,
        ) => {
          const { client, format } = cliContext(cmd);
          const body: Body = {};
          if (opts.maxVersions !== undefined) body.max_versions = Number(opts.maxVersions);
          if (opts.casRequired !== undefined) body.cas_required = opts.casRequired;
          if (opts.deleteVersionAfter !== undefined) body.delete_version_after = opts.deleteVersionAfter;
          if (opts.customMetadata) body.custom_metadata = parseKeyValues(opts.customMetadata);
          const t = await resolveKv(client, path, opts.mount);
          requireV2(t, 'Metadata');
          const metaPath = kvPath(t, 'metadata');
          await client.request(method, metaPath, body, [], method === 'PATCH' ? MERGE_PATCH_CONTENT_TYPE : undefined);
          success(format, `Success! Data written to: ${metaPath}`);
        },
      );
  }

  withMount(metadata.command('delete'))
    .description('Delete a key: its metadata and every version')
    .argument('<path>')
    .action(async (path: string, opts: { mount?: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const t = await resolveKv(client, path, opts.mount);
      requireV2(t, 'Metadata');
      await client.request('DELETE', kvPath(t, 'metadata'));
      success(format, `Success! Data deleted (if it existed) at: ${kvPath(t, 'metadata')}`);
    });
}
