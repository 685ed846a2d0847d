/** `secrethub operator ...` and `secrethub status`: init, unseal, seal, key-status, rotate, rekey, generate-root. */
import type { Command } from 'commander';
import { decodeRootToken, generateRootTokenOtp, ROOT_TOKEN_OTP_LENGTH } from '../../crypto/root-token-otp';
import type { ApiClient } from '../client';
import { cliContext, readStdin } from '../context';
import { print, printJson, renderTable, type OutputFormat } from '../output';
import { promptHidden } from '../prompt';

const context = cliContext;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got "${value}"`);
  return n;
}

function rekeyTarget(value: string): 'barrier' | 'recovery' {
  if (value !== 'barrier' && value !== 'recovery') throw new Error(`unknown target "${value}": expected barrier or recovery`);
  return value;
}

export function sealStatusRows(s: Record<string, unknown>): [string, unknown][] {
  const rows: [string, unknown][] = [
    ['Seal Type', s.type],
    ...(s.recovery_seal ? ([['Recovery Seal Type', s.recovery_seal_type]] as [string, unknown][]) : []),
    ['Initialized', s.initialized],
    ['Sealed', s.sealed],
    ['Total Shares', s.n],
    ['Threshold', s.t],
  ];
  if (s.sealed) {
    rows.push(['Unseal Progress', `${s.progress}/${s.t}`], ['Unseal Nonce', s.nonce || 'n/a']);
  }
  if (s.migration) rows.push(['Seal Migration in Progress', true]);
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
  const operator = program.command('operator').description('Operator commands: init, unseal, seal, key-status, rotate, rekey, generate-root');

  operator
    .command('init')
    .description('Initialise the server: prints the unseal (or, with an HSM seal, recovery) key shares and the initial root token')
    .option('--key-shares <n>', 'number of unseal key shares (Shamir seal)', positiveInt, 5)
    .option('--key-threshold <n>', 'shares required to unseal (Shamir seal)', positiveInt, 3)
    .option('--recovery-shares <n>', 'number of recovery key shares (HSM seal)', positiveInt, 5)
    .option('--recovery-threshold <n>', 'recovery shares required (HSM seal)', positiveInt, 3)
    .action(async (opts: { keyShares: number; keyThreshold: number; recoveryShares: number; recoveryThreshold: number }, cmd: Command) => {
      const { client, format } = context(cmd);
      // As Vault's CLI: the seal status says which layout to send.
      const recoverySeal = ((await client.request('GET', 'sys/seal-status')).body as { recovery_seal?: boolean }).recovery_seal === true;
      const request = recoverySeal
        ? { recovery_shares: opts.recoveryShares, recovery_threshold: opts.recoveryThreshold }
        : { secret_shares: opts.keyShares, secret_threshold: opts.keyThreshold };
      const res = await client.request('PUT', 'sys/init', request);
      const body = res.body as { keys: string[]; keys_base64: string[]; recovery_keys?: string[]; recovery_keys_base64?: string[]; root_token: string };
      const recoveryB64 = body.recovery_keys_base64 ?? [];
      if (format === 'json') {
        printJson({
          unseal_keys_b64: body.keys_base64,
          unseal_keys_hex: body.keys,
          unseal_shares: recoverySeal ? 1 : opts.keyShares,
          unseal_threshold: recoverySeal ? 1 : opts.keyThreshold,
          recovery_keys_b64: recoveryB64,
          recovery_keys_hex: body.recovery_keys ?? [],
          recovery_keys_shares: recoverySeal ? opts.recoveryShares : 0,
          recovery_keys_threshold: recoverySeal ? opts.recoveryThreshold : 0,
          root_token: body.root_token,
        });
        return;
      }
      const lines = recoverySeal ? recoveryB64.map((k, i) => `Recovery Key ${i + 1}: ${k}`) : body.keys_base64.map((k, i) => `Unseal Key ${i + 1}: ${k}`);
      lines.push('', `Initial Root Token: ${body.root_token}`, '');
      if (recoverySeal) {
        lines.push('Success! Vault is initialized', '');
        lines.push(`Recovery key initialized with ${opts.recoveryShares} key shares and a key threshold of ${opts.recoveryThreshold}. Please`);
        lines.push('securely distribute the key shares printed above. The HSM unseals the server at every start;');
        lines.push('the recovery keys authorise generate-root, rekey and seal migration, and unseal after a seal.');
      } else {
        lines.push(`Initialized with ${opts.keyShares} key shares and a key threshold of ${opts.keyThreshold}. Distribute the`);
        lines.push('unseal keys to different people. Every restart leaves the server sealed; it takes');
        lines.push(`${opts.keyThreshold} of these keys to unseal it. They cannot be recovered if lost.`);
      }
      print(lines.join('\n'));
    });

  operator
    .command('unseal')
    .description('Submit one unseal (or recovery) key share (prompts without echo when none is given)')
    .argument('[key]', 'unseal key share, hex or base64')
    .option('--reset', 'discard the shares submitted so far')
    .option('--migrate', "seal migration: the share is the old seal's key (unseal key, or recovery key when leaving an HSM seal)")
    .action(async (key: string | undefined, opts: { reset?: boolean; migrate?: boolean }, cmd: Command) => {
      const { client, format } = context(cmd);
      const body = opts.reset
        ? { reset: true }
        : { key: key ?? (await promptHidden('Unseal Key (will be hidden): ')), ...(opts.migrate ? { migrate: true } : {}) };
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
    .description('Generate new unseal (or, --target recovery, recovery) key shares: --init, then submit current shares; --verify to confirm new ones')
    .argument('[key]', 'a current unseal key share (or a new one with --verify)')
    .option('--init', 'start a rekey')
    .option('--cancel', 'cancel the rekey in progress')
    .option('--status', 'show the rekey progress')
    .option('--verify', 'with --init: require verification of the new shares; otherwise: submit a new share for verification')
    .option('--nonce <nonce>', 'the rekey (or verification) nonce; read from the server when omitted')
    .option('--key-shares <n>', 'number of new shares', positiveInt, 5)
    .option('--key-threshold <n>', 'new threshold', positiveInt, 3)
    .option('--target <target>', 'barrier (unseal keys; the root key under an auto seal) or recovery (recovery keys of an auto seal)', rekeyTarget, 'barrier')
    .action(
      async (
        key: string | undefined,
        opts: {
          init?: boolean;
          cancel?: boolean;
          status?: boolean;
          verify?: boolean;
          nonce?: string;
          keyShares: number;
          keyThreshold: number;
          target: 'barrier' | 'recovery';
        },
        cmd: Command,
      ) => {
        const { client, format } = context(cmd);
        const base = opts.target === 'recovery' ? 'sys/rekey-recovery-key' : 'sys/rekey';
        const keyName = opts.target === 'recovery' ? 'Recovery Key' : 'Unseal Key';
        const show = (body: Record<string, unknown> | null) => {
          const b = body ?? {};
          if (format === 'json') return printJson(b);
          if (b.complete && Array.isArray(b.keys_base64) && b.keys_base64.length === 0)
            return print('Success! The root key was replaced (auto seal); the recovery keys are unchanged.');
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
          await client.request('DELETE', `${base}/init`, opts.nonce ? { nonce: opts.nonce } : undefined);
          return format === 'json' ? printJson({ cancelled: true }) : print('Success! Canceled rekeying (if it was started)');
        }
        if (opts.init) {
          const res = await client.request('PUT', `${base}/init`, {
            secret_shares: opts.keyShares,
            secret_threshold: opts.keyThreshold,
            require_verification: opts.verify === true,
          });
          return show(res.body);
        }
        if (opts.status) return show((await client.request('GET', opts.verify ? `${base}/verify` : `${base}/init`)).body);
        const path = opts.verify ? `${base}/verify` : `${base}/init`;
        const nonce = opts.nonce ?? String((await client.request('GET', path)).body?.nonce ?? '');
        const share = key ?? (await promptHidden(opts.verify ? `New ${keyName} (will be hidden): ` : `${keyName} (will be hidden): `));
        const res = await client.request('PUT', opts.verify ? `${base}/verify` : `${base}/update`, { key: share, nonce });
        const b = res.body ?? {};
        if (format === 'table' && !b.complete)
          return print(`Rekey progress: ${b.progress}/${b.t ?? b.required ?? '?'} key shares submitted (nonce ${b.nonce})`);
        show(b);
      },
    );

  registerGenerateRoot(operator);

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

/** Vault's `operator generate-root` table: Nonce, Started, Progress, Complete, the encoded token, OTP. */
function printGenerateRootStatus(format: OutputFormat, s: Record<string, unknown>): void {
  if (format === 'json') return printJson(s);
  const rows: [string, unknown][] = [
    ['Nonce', s.nonce],
    ['Started', s.started],
    ['Progress', `${s.progress}/${s.required}`],
    ['Complete', s.complete],
  ];
  if (s.encoded_token) rows.push(['Encoded Token', s.encoded_token]);
  else if (s.encoded_root_token) rows.push(['Encoded Root Token', s.encoded_root_token]);
  if (s.otp) {
    process.stderr.write(
      'A One-Time-Password has been generated for you and is shown in the OTP field. You will need this value to decode the resulting root token, so keep it safe.\n',
    );
    rows.push(['OTP', s.otp]);
  }
  if (s.otp_length) rows.push(['OTP Length', s.otp_length]);
  print(renderTable(rows));
}

async function generateRootStatus(client: ApiClient): Promise<Record<string, unknown>> {
  return (await client.request('GET', 'sys/generate-root/attempt')).body ?? {};
}

interface GenerateRootOptions {
  init?: boolean;
  cancel?: boolean;
  status?: boolean;
  generateOtp?: boolean;
  decode?: string;
  otp?: string;
  pgpKey?: string;
  nonce?: string;
}

function registerGenerateRoot(operator: Command): void {
  operator
    .command('generate-root')
    .description('Generate a new root token from a quorum of unseal (or recovery) key shares: -init, then submit shares; -decode the result')
    .argument('[key]', 'an unseal key share ("-" reads stdin; prompts without echo when omitted)')
    .option('--init', 'start a root token generation (with -otp, or the server generates an OTP)')
    .option('--cancel', 'cancel the root token generation in progress')
    .option('--status', 'show the progress')
    .option('--generate-otp', 'print a new OTP of the length the server expects')
    .option('--decode <encoded>', 'decode an encoded root token locally with -otp ("-" reads stdin)')
    .option('--otp <otp>', 'the one-time password (for -init and -decode)')
    .option('--pgp-key <key>', 'not supported by this server (refused)')
    .option('--nonce <nonce>', 'the nonce of the generation (needed with a key argument or stdin)')
    .action(async (key: string | undefined, opts: GenerateRootOptions, cmd: Command) => {
      const { client, format } = context(cmd);
      if (opts.generateOtp) {
        const length = Number((await generateRootStatus(client)).otp_length) || ROOT_TOKEN_OTP_LENGTH;
        const otp = generateRootTokenOtp(length);
        return format === 'json' ? printJson({ otp, otp_length: otp.length }) : print(otp);
      }
      if (opts.decode !== undefined) {
        let encoded = opts.decode;
        if (!encoded) throw new Error('Missing encoded value: use -decode=<string> to supply it');
        if (!opts.otp) throw new Error('Missing otp: use -otp to supply it');
        if (encoded === '-') {
          encoded = readStdin().trim();
          if (!encoded) throw new Error('Missing encoded value. When using -decode="-" value must be passed via stdin.');
        }
        const otpLength = Number((await generateRootStatus(client)).otp_length) || 0;
        let token: string;
        try {
          token = decodeRootToken(encoded, opts.otp, otpLength);
        } catch (err) {
          throw new Error(`Error decoding root token: ${(err as Error).message}`, { cause: err });
        }
        return format === 'json' ? printJson({ token }) : print(token);
      }
      if (opts.cancel) {
        await client.request('DELETE', 'sys/generate-root/attempt');
        return format === 'json' ? printJson({ canceled: true }) : print('Success! Root token generation canceled (if it was started)');
      }
      if (opts.init) {
        if (opts.otp && opts.pgpKey) throw new Error('Error initializing: cannot specify both -otp and -pgp-key');
        const body = { otp: opts.otp ?? '', pgp_key: opts.pgpKey ?? '' };
        return printGenerateRootStatus(format, (await client.request('PUT', 'sys/generate-root/attempt', body)).body ?? {});
      }
      const status = await generateRootStatus(client);
      if (opts.status) return printGenerateRootStatus(format, status);

      if (!status.started) {
        throw new Error(
          `No root generation is in progress. Start a root generation by running "secrethub operator generate-root -init". ` +
            `An OTP of your own must be ${String(status.otp_length)} characters long.`,
        );
      }
      let nonce = opts.nonce;
      let share: string;
      if (key === '-') share = readStdin();
      else if (key !== undefined) share = key;
      else {
        // Prompting: the nonce is the one just read, shown so the operator can check it.
        nonce = String(status.nonce);
        process.stderr.write(`Operation nonce: ${nonce}\n`);
        share = await promptHidden('Unseal Key (will be hidden): ');
      }
      if (!nonce) throw new Error('Missing nonce value: specify it via the -nonce flag');
      const res = await client.request('PUT', 'sys/generate-root/update', { key: share.trim(), nonce });
      printGenerateRootStatus(format, res.body ?? {});
    });
}
