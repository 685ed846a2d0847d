/** `secrethub operator ...` and `secrethub status`: init, unseal, seal, key-status, rotate, rekey. */
import type { Command } from 'commander';
import { cliContext } from '../context';
import { print, printJson, renderTable, type OutputFormat } from '../output';
import { promptHidden } from '../prompt';

const context = cliContext;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got "${value}"`);
  return n;
}

export function sealStatusRows(s: Record<string, unknown>): [string, unknown][] {
  const rows: [string, unknown][] = [
    ['Seal Type', s.type],
    ['Initialized', s.initialized],
    ['Sealed', s.sealed],
    ['Total Shares', s.n],
    ['Threshold', s.t],
  ];
  if (s.sealed) {
    rows.push(['Unseal Progress', `${s.progress}/${s.t}`], ['Unseal Nonce', s.nonce || 'n/a']);
  }
  rows.push(['Version', s.version], ['Build Date', s.build_date], ['Storage Type', s.storage_type]);
  if (s.cluster_name) rows.push(['Cluster Name', s.cluster_name], ['Cluster ID', s.cluster_id]);
  rows.push(['HA Enabled', false]);
  return rows;
}

function printStatus(format: OutputFormat, status: Record<string, unknown>): void {
  if (format === 'json') printJson(status);
  else print(renderTable(sealStatusRows(status)));
}

export function registerOperatorCommands(program: Command): void {
  const operator = program.command('operator').description('Operator commands: init, unseal, seal, key-status, rotate, rekey');

  operator
    .command('init')
    .description('Initialise the server: prints the unseal key shares and the initial root token')
    .option('--key-shares <n>', 'number of unseal key shares', positiveInt, 5)
    .option('--key-threshold <n>', 'shares required to unseal', positiveInt, 3)
    .action(async (opts: { keyShares: number; keyThreshold: number }, cmd: Command) => {
      const { client, format } = context(cmd);
      const res = await client.request('PUT', 'sys/init', { secret_shares: opts.keyShares, secret_threshold: opts.keyThreshold });
      const body = res.body as { keys: string[]; keys_base64: string[]; root_token: string };
      if (format === 'json') {
        printJson({
          unseal_keys_b64: body.keys_base64,
          unseal_keys_hex: body.keys,
          unseal_shares: opts.keyShares,
          unseal_threshold: opts.keyThreshold,
          recovery_keys_b64: [],
          recovery_keys_hex: [],
          recovery_keys_shares: 0,
          recovery_keys_threshold: 0,
          root_token: body.root_token,
        });
        return;
      }
      const lines = body.keys_base64.map((k, i) => `Unseal Key ${i + 1}: ${k}`);
      lines.push('', `Initial Root Token: ${body.root_token}`, '');
      lines.push(`Initialized with ${opts.keyShares} key shares and a key threshold of ${opts.keyThreshold}. Distribute the`);
      lines.push('unseal keys to different people. Every restart leaves the server sealed; it takes');
      lines.push(`${opts.keyThreshold} of these keys to unseal it. They cannot be recovered if lost.`);
      print(lines.join('\n'));
    });

  operator
    .command('unseal')
    .description('Submit one unseal key share (prompts without echo when none is given)')
    .argument('[key]', 'unseal key share, hex or base64')
    .option('--reset', 'discard the shares submitted so far')
    .action(async (key: string | undefined, opts: { reset?: boolean }, cmd: Command) => {
      const { client, format } = context(cmd);
      const body = opts.reset ? { reset: true } : { key: key ?? (await promptHidden('Unseal Key (will be hidden): ')) };
      const res = await client.request('PUT', 'sys/unseal', body);
      printStatus(format, res.body ?? {});
    });

  operator
    .command('seal')
    .description('Seal the server (needs a root or sudo token)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { client, format } = context(cmd);
      await client.request('PUT', 'sys/seal');
      if (format === 'json') printJson({ sealed: true });
      else print('Success! Vault is sealed.');
    });

  operator
    .command('key-status')
    .description('Show the active barrier key term')
    .action(async (_opts: unknown, cmd: Command) => {
      const { client, format } = context(cmd);
      const res = await client.request('GET', 'sys/key-status');
      const data = (res.body?.data ?? {}) as Record<string, unknown>;
      if (format === 'json') printJson(data);
      else
        print(
          renderTable([
            ['Key Term', data.term],
            ['Install Time', data.install_time],
            ['Encryption Count', data.encryptions],
          ]),
        );
    });

  operator
    .command('rotate')
    .description('Rotate the barrier encryption key (adds a key term)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { client, format } = context(cmd);
      await client.request('PUT', 'sys/rotate');
      const res = await client.request('GET', 'sys/key-status');
      const data = (res.body?.data ?? {}) as Record<string, unknown>;
      if (format === 'json') printJson(data);
      else
        print(
          `Success! Rotated key\n\n${renderTable([
            ['Key Term', data.term],
            ['Install Time', data.install_time],
          ])}`,
        );
    });

  operator
    .command('rekey')
    .description('Generate new unseal key shares: --init, then submit current shares; --verify to confirm new ones')
    .argument('[key]', 'a current unseal key share (or a new one with --verify)')
    .option('--init', 'start a rekey')
    .option('--cancel', 'cancel the rekey in progress')
    .option('--status', 'show the rekey progress')
    .option('--verify', 'with --init: require verification of the new shares; otherwise: submit a new share for verification')
    .option('--nonce <nonce>', 'the rekey (or verification) nonce; read from the server when omitted')
    .option('--key-shares <n>', 'number of new shares', positiveInt, 5)
    .option('--key-threshold <n>', 'new threshold', positiveInt, 3)
    .action(
      async (
        key: string | undefined,
        opts: { init?: boolean; cancel?: boolean; status?: boolean; verify?: boolean; nonce?: string; keyShares: number; keyThreshold: number },
        cmd: Command,
      ) => {
        const { client, format } = context(cmd);
        const show = (body: Record<string, unknown> | null) => {
          const b = body ?? {};
          if (format === 'json') return printJson(b);
          if (Array.isArray(b.keys_base64)) {
            const lines = (b.keys_base64 as string[]).map((k, i) => `Key ${i + 1}: ${k}`);
            lines.push('', `Operation nonce: ${b.nonce}`, '');
            lines.push(
              b.verification_required
                ? `Verification required: submit ${opts.keyThreshold} of the new keys with --verify (verification nonce ${b.verification_nonce}). Until then the old keys stay valid.`
                : 'The new keys replace the old ones now.',
            );
            return print(lines.join('\n'));
          }
          if (b.complete) return print('Success! Rekey verified: the new keys are now in effect.');
          print(renderTable(Object.entries(b).map(([k, v]): [string, unknown] => [k, v])));
        };
        if (opts.cancel) {
          await client.request('DELETE', 'sys/rekey/init', opts.nonce ? { nonce: opts.nonce } : undefined);
          return format === 'json' ? printJson({ cancelled: true }) : print('Success! Canceled rekeying (if it was started)');
        }
        if (opts.init) {
          const res = await client.request('PUT', 'sys/rekey/init', {
            secret_shares: opts.keyShares,
            secret_threshold: opts.keyThreshold,
            require_verification: opts.verify === true,
          });
          return show(res.body);
        }
        if (opts.status) return show((await client.request('GET', opts.verify ? 'sys/rekey/verify' : 'sys/rekey/init')).body);
        const path = opts.verify ? 'sys/rekey/verify' : 'sys/rekey/init';
        const nonce = opts.nonce ?? String((await client.request('GET', path)).body?.nonce ?? '');
        const share = key ?? (await promptHidden(opts.verify ? 'New Unseal Key (will be hidden): ' : 'Unseal Key (will be hidden): '));
        const res = await client.request('PUT', opts.verify ? 'sys/rekey/verify' : 'sys/rekey/update', { key: share, nonce });
        const b = res.body ?? {};
        if (format === 'table' && !b.complete)
          return print(`Rekey progress: ${b.progress}/${b.t ?? b.required ?? '?'} key shares submitted (nonce ${b.nonce})`);
        show(b);
      },
    );

  program
    .command('status')
    .description('Print the seal status; exit code 0 unsealed, 2 sealed, 1 error')
    .action(async (_opts: unknown, cmd: Command) => {
      const { client, format } = context(cmd);
      const res = await client.request('GET', 'sys/seal-status');
      printStatus(format, res.body ?? {});
      process.exitCode = res.body?.sealed === false ? 0 : 2;
    });
}
