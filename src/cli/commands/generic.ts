/** Vault's generic commands: read, write, list, delete, unwrap. */
import type { Command } from 'commander';
import { cliContext, parseKeyValues, printResponse } from '../context';
import { print, printJson } from '../output';

const clean = (path: string) => path.replace(/^\/+/, '').replace(/^v1\//, '');

export function registerGenericCommands(program: Command): void {
  program
    .command('read')
    .description('Read data at a path')
    .argument('<path>')
    .option('--field <name>', 'print only this field')
    .action(async (path: string, opts: { field?: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const res = await client.request('GET', clean(path));
      printResponse(format, res.body, opts.field);
    });

  program
    .command('write')
    .description('Write data to a path: key=value, key=@file, key=- (stdin), or @file.json / - for a JSON body')
    .argument('<path>')
    .argument('[data...]')
    .option('--field <name>', 'print only this field of the response')
    .option('-f, --force', "write with no data (as Vault's -force)")
    .action(async (path: string, data: string[], opts: { field?: string; force?: boolean }, cmd: Command) => {
      // As Vault's CLI: an empty write must be meant (`-f`), it is too easy to forget the data.
      if (data.length === 0 && !opts.force) throw new Error('Must supply data or use -force');
      const { client, format } = cliContext(cmd);
      const res = await client.request('PUT', clean(path), parseKeyValues(data));
      if (res.status === 204 || !res.body) return format === 'json' ? printJson({}) : print(`Success! Data written to: ${clean(path)}`);
      printResponse(format, res.body, opts.field);
    });

  program
    .command('list')
    .description('List keys under a path')
    .argument('<path>')
    .action(async (path: string, _opts: unknown, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const res = await client.request('LIST', clean(path), undefined, [404]);
      const keys = res.status === 404 ? [] : (((res.body?.data as Record<string, unknown>)?.keys as string[]) ?? []);
      if (format === 'json') return printJson(keys);
      if (keys.length === 0) return print(`No value found at ${clean(path)}`);
      print(['Keys', '----', ...keys].join('\n'));
    });

  program
    .command('delete')
    .description('Delete data at a path')
    .argument('<path>')
    .argument('[data...]')
    .action(async (path: string, data: string[], _opts: unknown, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      await client.request('DELETE', clean(path), data.length ? parseKeyValues(data) : undefined);
      if (format === 'json') printJson({});
      else print(`Success! Data deleted (if it existed) at: ${clean(path)}`);
    });

  program
    .command('unwrap')
    .description('Unwrap a response-wrapping token (default: the current token) and print the wrapped response')
    .argument('[token]')
    .option('--field <name>', 'print only this field')
    .action(async (token: string | undefined, opts: { field?: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const res = await client.request('PUT', 'sys/wrapping/unwrap', token ? { token } : undefined);
      printResponse(format, res.body, opts.field);
    });
}
