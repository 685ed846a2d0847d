/** `secrethub policy list|read|write|delete|fmt`. */
import type { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { cliContext, readStdin } from '../context';
import { print, printJson } from '../output';

export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('Manage ACL policies');

  policy
    .command('list')
    .description('List policy names')
    .action(async (_opts: unknown, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const res = await client.request('LIST', 'sys/policies/acl');
      const keys = ((res.body?.data as Record<string, unknown>)?.keys as string[]) ?? [];
      if (format === 'json') printJson(keys);
      else print(keys.join('\n'));
    });

  policy
    .command('read')
    .description('Print a policy')
    .argument('<name>')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const res = await client.request('GET', `sys/policies/acl/${encodeURIComponent(name)}`);
      const data = (res.body?.data ?? {}) as Record<string, unknown>;
      if (format === 'json') printJson(data);
      else print(String(data.policy ?? ''));
    });

  policy
    .command('write')
    .description('Write a policy from a file (or - for stdin), HCL or JSON')
    .argument('<name>')
    .argument('<file>')
    .action(async (name: string, file: string, _opts: unknown, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const text = file === '-' ? readStdin() : readFileSync(file, 'utf8');
      await client.request('PUT', `sys/policies/acl/${encodeURIComponent(name)}`, { policy: text });
      if (format === 'json') printJson({ name });
      else print(`Success! Uploaded policy: ${name}`);
    });

  policy
    .command('delete')
    .description('Delete a policy')
    .argument('<name>')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      await client.request('DELETE', `sys/policies/acl/${encodeURIComponent(name)}`);
      if (format === 'json') printJson({ name });
      else print(`Success! Deleted policy: ${name}`);
    });

  policy
    .command('fmt')
    .description('Check a policy file and rewrite it in canonical HCL (comments are not kept)')
    .argument('<file>')
    .action(async (file: string) => {
      const text = readFileSync(file, 'utf8');
      // The HCL parser loads only for `policy fmt`, not with every command (it costs ~130 ms).
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { parsePolicy } = require('../../kernel/policy/policy-parser') as typeof import('../../kernel/policy/policy-parser');
      const { formatPolicy } = require('../../kernel/policy/policy-format') as typeof import('../../kernel/policy/policy-format');
      /* eslint-enable @typescript-eslint/no-require-imports */
      parsePolicy(text);
      writeFileSync(file, formatPolicy(text));
      print(`Success! Formatted policy: ${file}`);
    });
}
