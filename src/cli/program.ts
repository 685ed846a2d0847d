/** The `secrethub` command line: GNU-style options, Vault's single-dash forms accepted too. */
import { Command, CommanderError } from 'commander';
import { SECRETHUB_VERSION } from '../version';
import { normaliseArgs } from './args';
import { ApiRequestError, ServerUnreachableError } from './client';
import { registerGenericCommands } from './commands/generic';
import { registerLoginCommand } from './commands/login';
import { registerKvCommands } from './commands/kv';
import { registerMountCommands } from './commands/mounts';
import { registerOperatorCommands } from './commands/operator';
import { registerPolicyCommands } from './commands/policy';
import { registerTokenCommands } from './commands/token';
import { registerServerCommands } from './commands/server';
import { registerAuditCommands } from './commands/audit';
import { registerLeaseCommands } from './commands/lease';
import { registerPkiCommands } from './commands/pki';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('secrethub')
    .description('SecretHub: a secrets server that speaks the Vault HTTP API')
    .version(SECRETHUB_VERSION)
    .option('--address <url>', 'server address (env SECRETHUB_ADDR or VAULT_ADDR; default http://127.0.0.1:8200)')
    .option('--format <format>', 'output format: table or json', undefined)
    .option('--wrap-ttl <duration>', 'wrap the response in a single-use token with this TTL (env VAULT_WRAP_TTL)')
    .option('--ca-cert <file>', 'PEM CA certificate(s) to verify the server with, instead of the system CAs (env VAULT_CACERT)')
    .option('--ca-path <dir>', 'directory of PEM CA certificates, used when no --ca-cert is given (env VAULT_CAPATH)')
    .option('--client-cert <file>', 'PEM client certificate for TLS client authentication (env VAULT_CLIENT_CERT)')
    .option('--client-key <file>', 'PEM private key of --client-cert (env VAULT_CLIENT_KEY)')
    .option('--tls-skip-verify', 'do not verify the server certificate; insecure (env VAULT_SKIP_VERIFY)')
    .option('--no-tls-skip-verify', 'verify the server certificate even if VAULT_SKIP_VERIFY is set')
    .option('--tls-server-name <name>', 'name to send as SNI and verify the server certificate for (env VAULT_TLS_SERVER_NAME)')
    .showHelpAfterError()
    .exitOverride();
  registerServerCommands(program);
  registerOperatorCommands(program);
  registerGenericCommands(program);
  registerLoginCommand(program);
  registerTokenCommands(program);
  registerPolicyCommands(program);
  registerMountCommands(program);
  registerKvCommands(program);
  registerAuditCommands(program);
  registerLeaseCommands(program);
  registerPkiCommands(program);
  return program;
}

/** Long names of every option without a value, in every command. */
function booleanFlags(cmd: Command, into = new Set<string>()): Set<string> {
  for (const o of cmd.options) if (!o.required && !o.optional && o.long) into.add(o.long);
  for (const sub of cmd.commands) booleanFlags(sub, into);
  return into;
}

/** Exit codes as Vault's CLI: 0 success, 1 a local error (usage, input), 2 a remote error (API, unreachable server). */
export async function runCli(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(normaliseArgs(argv, booleanFlags(program)), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 1;
      return;
    }
    if (err instanceof ApiRequestError) {
      process.stderr.write(`Error: HTTP ${err.status}${err.errors.length ? `\n${err.errors.map((e) => `  * ${e}`).join('\n')}` : ''}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`Error: ${(err as Error).message}\n`);
      process.exitCode = err instanceof ServerUnreachableError ? 2 : 1;
    }
  }
}
