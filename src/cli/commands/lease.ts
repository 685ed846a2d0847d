/** `secrethub lease lookup|renew|revoke`, as `vault lease ...`. */
import type { Command } from 'commander';
import { cliContext, printResponse } from '../context';
import { print, printJson } from '../output';

export function registerLeaseCommands(program: Command): void {
  const lease = program.command('lease').description('Look up, renew and revoke leases');

  lease
    .command('lookup')
    .description("Show a lease's issue and expiry times and TTL")
    .argument('<lease_id>')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      printResponse(format, (await client.request('PUT', 'sys/leases/lookup', { lease_id: id })).body);
    });

  lease
    .command('renew')
    .description('Renew a lease (never past its max TTL)')
    .argument('<lease_id>')
    .option('--increment <duration>', 'requested TTL from now')
    .action(async (id: string, opts: { increment?: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const res = await client.request('PUT', 'sys/leases/renew', { lease_id: id, ...(opts.increment ? { increment: opts.increment } : {}) });
      // As Vault's: the renewed secret's lease rows (lease_id, lease_duration, lease_renewable).
      printResponse(format, res.body);
    });

  lease
    .command('revoke')
    .description('Revoke a lease, or with -prefix every lease under a prefix (-force: drop the records without the engine)')
    .argument('<lease_id_or_prefix>')
    .option('--prefix', 'treat the argument as a prefix')
    .option('--force', 'with -prefix: delete the records without revoking the secrets (irrevocable leases)')
    .option('--sync', 'wait for the revocation (the server always does; changes only the message, as Vault)')
    .action(async (id: string, opts: { prefix?: boolean; force?: boolean; sync?: boolean }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      if (opts.force && !opts.prefix) throw new Error('-force needs -prefix');
      const path = opts.prefix ? `sys/leases/${opts.force ? 'revoke-force' : 'revoke-prefix'}/${id.replace(/^\/+/, '')}` : 'sys/leases/revoke';
      if (opts.force) process.stderr.write('Warning! Force-removing leases can cause Vault to become out of sync with\nsecret engines!\n');
      await client.request('PUT', path, opts.prefix ? {} : { lease_id: id });
      if (format === 'json') return printJson({});
      // Vault's messages, by flag.
      if (opts.force) print(`Success! Force revoked any leases with prefix: ${id}`);
      else if (opts.sync) print(opts.prefix ? `Success! Revoked any leases with prefix: ${id}` : `Success! Revoked lease: ${id}`);
      else print('All revocation operations queued successfully!');
    });
}
