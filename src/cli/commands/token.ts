/** `secrethub token create|lookup|renew|revoke|capabilities`. */
import type { Command } from 'commander';
import { cliContext, printResponse } from '../context';
import { print, printJson } from '../output';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('Create, look up, renew and revoke tokens');

  token
    .command('create')
    .description('Create a child token of the current token')
    .option('--policy <name>', 'policy to attach (repeatable)', collect)
    .option('--ttl <duration>', 'initial TTL, e.g. 1h')
    .option('--explicit-max-ttl <duration>', 'hard maximum lifetime')
    .option('--period <duration>', 'periodic token: renewals reset the TTL to this (sudo)')
    .option('--num-uses <n>', 'number of uses (0: unlimited)')
    .option('--display-name <name>')
    .option('--metadata <key=value>', 'metadata (repeatable)', collect)
    .option('--orphan', 'create an orphan token (sudo)')
    .option('--no-default-policy', 'do not attach the default policy')
    .option('--renewable <bool>', 'whether the token can be renewed', 'true')
    .option('--id <token>', 'a chosen token id (sudo)')
    .option('--field <name>', 'print only this field')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const meta = Object.fromEntries(((opts.metadata as string[]) ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      const body: Record<string, unknown> = {
        policies: opts.policy,
        ttl: opts.ttl,
        explicit_max_ttl: opts.explicitMaxTtl,
        period: opts.period,
        num_uses: opts.numUses,
        display_name: opts.displayName,
        meta: Object.keys(meta).length ? meta : undefined,
        no_default_policy: opts.defaultPolicy === false ? true : undefined,
        renewable: opts.renewable,
        id: opts.id,
      };
      const res = await client.request('POST', opts.orphan ? 'auth/token/create-orphan' : 'auth/token/create', JSON.parse(JSON.stringify(body)));
      printResponse(format, res.body, opts.field as string | undefined);
    });

  token
    .command('lookup')
    .description('Look up the current token, a given token, or one by --accessor')
    .argument('[token]')
    .option('--accessor', 'the argument is an accessor')
    .action(async (value: string | undefined, opts: { accessor?: boolean }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const res = opts.accessor
        ? await client.request('POST', 'auth/token/lookup-accessor', { accessor: value })
        : value
          ? await client.request('POST', 'auth/token/lookup', { token: value })
          : await client.request('GET', 'auth/token/lookup-self');
      printResponse(format, res.body);
    });

  token
    .command('renew')
    .description('Renew the current token or a given one')
    .argument('[token]')
    .option('--increment <duration>', 'requested TTL from now')
    .option('--accessor', 'the argument is an accessor')
    .action(async (value: string | undefined, opts: { increment?: string; accessor?: boolean }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const increment = opts.increment;
      const res = opts.accessor
        ? await client.request('POST', 'auth/token/renew-accessor', { accessor: value, increment })
        : value
          ? await client.request('POST', 'auth/token/renew', { token: value, increment })
          : await client.request('POST', 'auth/token/renew-self', { increment });
      printResponse(format, res.body);
    });

  token
    .command('revoke')
    .description('Revoke a token and its children (--mode orphan keeps the children)')
    .argument('[token]')
    .option('--self', 'revoke the current token')
    .option('--accessor', 'the argument is an accessor')
    .option('--mode <mode>', '"orphan": children become orphans (sudo)')
    .action(async (value: string | undefined, opts: { self?: boolean; accessor?: boolean; mode?: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      if (opts.self) await client.request('POST', 'auth/token/revoke-self');
      else if (!value) throw new Error('a token (or --accessor with an accessor, or --self) is required');
      else if (opts.accessor) await client.request('POST', 'auth/token/revoke-accessor', { accessor: value });
      else if (opts.mode === 'orphan') await client.request('POST', 'auth/token/revoke-orphan', { token: value });
      else await client.request('POST', 'auth/token/revoke', { token: value });
      if (format === 'json') printJson({ revoked: true });
      else print('Success! Revoked token (if it existed)');
    });

  token
    .command('capabilities')
    .description('Capabilities of the current token (or a given one) on a path')
    .argument('<tokenOrPath>')
    .argument('[path]')
    .action(async (first: string, second: string | undefined, _opts: unknown, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const res =
        second === undefined
          ? await client.request('POST', 'sys/capabilities-self', { paths: [first] })
          : await client.request('POST', 'sys/capabilities', { token: first, paths: [second] });
      const caps = ((res.body?.data as Record<string, unknown>)?.capabilities as string[]) ?? [];
      if (format === 'json') printJson(caps);
      else print(caps.join(', '));
    });
}
