/** The `secrethub` command line: GNU-style options, Vault's single-dash forms accepted too. */
import { Command, CommanderError } from 'commander';
import { SECRETHUB_VERSION } from '../version';
import { normaliseArgs } from './args';
import { ApiRequestError } from './client';
import { registerGenericCommands } from './commands/generic';
import { registerMountCommands } from './commands/mounts';
import { registerOperatorCommands } from './commands/operator';
import { registerPolicyCommands } from './commands/policy';
import { registerTokenCommands } from './commands/token';
import { registerServerCommands } from './commands/server';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('secrethub')
    .description('SecretHub: a secrets server that speaks the Vault HTTP API')
    .version(SECRETHUB_VERSION)
    .option('--address <url>', 'server address (env SECRETHUB_ADDR or VAULT_ADDR; default http://127.0.0.1:8200)')
    .option('--format <format>', 'output format: table or json', undefined)
    .showHelpAfterError()
    .exitOverride();
  registerServerCommands(program);
  registerOperatorCommands(program);
  registerGenericCommands(program);
  registerTokenCommands(program);
  registerPolicyCommands(program);
  registerMountCommands(program);
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(normaliseArgs(argv), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof ApiRequestError) {
      process.stderr.write(`Error: HTTP ${err.status}${err.errors.length ? `\n${err.errors.map((e) => `  * ${e}`).join('\n')}` : ''}\n`);
    } else {
      process.stderr.write(`Error: ${(err as Error).message}\n`);
    }
    process.exitCode = 1;
  }
}
