/** `secrethub secrets enable|disable|list|tune` and `secrethub auth enable|disable|list|tune`, as Vault's CLI. */
import type { Command } from 'commander';
import { cliContext } from '../context';
import { print, printJson, renderColumns } from '../output';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function keyValues(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  return Object.fromEntries(
    pairs.map((kv) => {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new Error(`expected key=value, got "${kv}"`);
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    }),
  );
}

export function withSlash(path: string): string {
  const p = path.replace(/^\/+/, '');
  return p.endsWith('/') ? p : `${p}/`;
}

/** Tune fields shared by enable (inside `config`) and tune (top level). */
function tuneOptions(cmd: Command): Command {
  return cmd
    .option('--default-lease-ttl <duration>', 'default lease TTL')
    .option('--max-lease-ttl <duration>', 'maximum lease TTL')
    .option('--listing-visibility <mode>', 'unauth or hidden')
    .option('--audit-non-hmac-request-keys <key>', 'request key kept in clear in the audit log (repeatable)', collect)
    .option('--audit-non-hmac-response-keys <key>', 'response key kept in clear in the audit log (repeatable)', collect)
    .option('--passthrough-request-headers <header>', 'request header passed to the backend (repeatable)', collect)
    .option('--allowed-response-headers <header>', 'response header the backend may set (repeatable)', collect);
}

function configFrom(opts: Record<string, unknown>): Record<string, unknown> {
  const config: Record<string, unknown> = {
    default_lease_ttl: opts.defaultLeaseTtl,
    max_lease_ttl: opts.maxLeaseTtl,
    listing_visibility: opts.listingVisibility,
    audit_non_hmac_request_keys: opts.auditNonHmacRequestKeys,
    audit_non_hmac_response_keys: opts.auditNonHmacResponseKeys,
    passthrough_request_headers: opts.passthroughRequestHeaders,
    allowed_response_headers: opts.allowedResponseHeaders,
    token_type: opts.tokenType,
  };
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
}

function registerFor(program: Command, kind: 'secrets' | 'auth'): void {
  const base = kind === 'secrets' ? 'sys/mounts' : 'sys/auth';
  const noun = kind === 'secrets' ? 'secrets engine' : 'auth method';
  const group = program
    .command(kind)
    .description(kind === 'secrets' ? 'Enable, disable, list and tune secrets engines' : 'Enable, disable, list and tune auth methods');

  tuneOptions(
    group
      .command('enable')
      .description(`Enable a ${noun}`)
      .argument('<type>')
      .option('--path <path>', 'where to mount it (default: the type)')
      .option('--description <text>')
      .option('--options <key=value>', 'backend option (repeatable)', collect)
      .option('--local', 'accepted for compatibility')
      .option('--seal-wrap', 'accepted for compatibility'),
  )
    .option('--version <n>', 'KV version (1 or 2)')
    .option('--token-type <type>', 'auth methods: token type issued')
    .action(async (type: string, opts: Record<string, unknown>, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const path = withSlash((opts.path as string | undefined) ?? type);
      const options = keyValues(opts.options as string[] | undefined) ?? {};
      if (opts.version !== undefined) options.version = String(opts.version);
      const config = configFrom(opts);
      await client.request('POST', `${base}/${path}`, {
        type,
        description: opts.description,
        config: Object.keys(config).length ? config : undefined,
        options: Object.keys(options).length ? options : undefined,
        local: opts.local,
        seal_wrap: opts.sealWrap,
      });
      if (format === 'json') printJson({ path, type });
      else print(kind === 'secrets' ? `Success! Enabled the ${type} secrets engine at: ${path}` : `Success! Enabled ${type} auth method at: ${path}`);
    });

  group
    .command('disable')
    .description(`Disable a ${noun}; its data (or the tokens it issued) are removed`)
    .argument('<path>')
    .action(async (given: string, _opts: unknown, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const path = withSlash(given);
      await client.request('DELETE', `${base}/${path}`);
      if (format === 'json') printJson({ path });
      else print(`Success! Disabled the ${noun} (if it existed) at: ${path}`);
    });

  group
    .command('list')
    .description(`List the enabled ${noun}s`)
    .option('--detailed', 'show TTLs, options and UUIDs')
    .action(async (opts: { detailed?: boolean }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const res = await client.request('GET', base);
      const data = (res.body?.data ?? {}) as Record<string, Record<string, unknown>>;
      if (format === 'json') return printJson(data);
      const paths = Object.keys(data).sort();
      if (!opts.detailed) {
        print(
          renderColumns(
            ['Path', 'Type', 'Accessor', 'Description'],
            paths.map((p) => [p, data[p].type, data[p].accessor, data[p].description]),
          ),
        );
        return;
      }
      const ttl = (v: unknown) => (v === 0 ? 'system' : String(v));
      print(
        renderColumns(
          ['Path', 'Type', 'Accessor', 'Default TTL', 'Max TTL', 'Options', 'Description', 'UUID'],
          paths.map((p) => {
            const c = data[p].config as Record<string, unknown>;
            return [
              p,
              data[p].type,
              data[p].accessor,
              ttl(c.default_lease_ttl),
              ttl(c.max_lease_ttl),
              data[p].options ?? 'map[]',
              data[p].description,
              data[p].uuid,
            ];
          }),
        ),
      );
    });

  tuneOptions(
    group
      .command('tune')
      .description(`Change the configuration of a ${noun}`)
      .argument('<path>')
      .option('--description <text>')
      .option('--options <key=value>', 'backend option (repeatable)', collect),
  )
    .option('--token-type <type>', 'auth methods: token type issued')
    .action(async (given: string, opts: Record<string, unknown>, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const path = withSlash(given);
      await client.request('POST', `${base}/${path}tune`, {
        ...configFrom(opts),
        description: opts.description,
        options: keyValues(opts.options as string[] | undefined),
      });
      if (format === 'json') printJson({ path });
      else print(`Success! Tuned the ${noun} at: ${path}`);
    });
}

export function registerMountCommands(program: Command): void {
  registerFor(program, 'secrets');
  registerFor(program, 'auth');
}
