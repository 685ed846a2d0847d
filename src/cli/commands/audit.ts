/**
 * `secrethub audit list|enable|disable` (Vault's CLI) and the tamper-evidence commands:
 * `audit public-key`, `audit checkpoint`, `audit export` (through the API, with progress on stderr)
 * and `audit verify` (offline: an export file, the pinned public key, optionally trusted checkpoints).
 */
import type { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { buildExport, type ExportPage } from '../../audit/export-format';
import { verifyAuditExport, type VerifyReport } from '../../audit/verify';
import { cliContext } from '../context';
import { parseFormat, print, printJson, renderColumns } from '../output';
import { keyValues, withSlash } from './mounts';

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('Manage audit devices; export and verify the tamper-evident audit log');

  audit
    .command('list')
    .description('List the enabled audit devices')
    .option('--detailed', 'show options too')
    .action(async (opts: { detailed?: boolean }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const data = ((await client.request('GET', 'sys/audit')).body?.data ?? {}) as Record<
        string,
        { type: string; description: string; options: Record<string, string> }
      >;
      if (format === 'json') return printJson(data);
      if (Object.keys(data).length === 0) return print('No audit devices are enabled.');
      const rows = Object.entries(data).map(([path, d]) =>
        opts.detailed ? [path, d.type, d.description, JSON.stringify(d.options ?? {})] : [path, d.type, d.description],
      );
      print(renderColumns(opts.detailed ? ['Path', 'Type', 'Description', 'Options'] : ['Path', 'Type', 'Description'], rows));
    });

  audit
    .command('enable')
    .description('Enable an audit device: file (file_path=... inside the audit directory, or stdout) or database')
    .argument('<type>')
    .argument('[options...]', 'device options as key=value')
    .option('--path <path>', 'where to enable it (default: the type)')
    .option('--description <text>', 'human-friendly description')
    .option('--local', 'accepted for compatibility')
    .action(async (type: string, pairs: string[], opts: { path?: string; description?: string; local?: boolean }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const path = withSlash(opts.path ?? type);
      await client.request('PUT', `sys/audit/${path}`, {
        type,
        description: opts.description ?? '',
        options: keyValues(pairs) ?? {},
        local: opts.local ?? false,
      });
      if (format === 'json') printJson({ path, type });
      else print(`Success! Enabled the ${type} audit device at: ${path}`);
    });

  audit
    .command('disable')
    .description('Disable an audit device')
    .argument('<path>')
    .action(async (rawPath: string, _opts: unknown, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const path = withSlash(rawPath);
      await client.request('DELETE', `sys/audit/${path}`);
      if (format === 'json') printJson({ path });
      else print(`Success! Disabled audit device (if it was enabled) at: ${path}`);
    });

  audit
    .command('public-key')
    .description("Print the audit chain's Ed25519 public key (PEM): pin it for `audit verify`")
    .action(async (_opts: unknown, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const data = (await client.request('GET', 'sys/audit-log/public-key')).body?.data as { public_key: string; log_id: string };
      if (format === 'json') printJson(data);
      else print(data.public_key);
    });

  audit
    .command('checkpoint')
    .description('Sign a checkpoint of the audit log now (also appended to the checkpoint file)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const data = (await client.request('PUT', 'sys/audit-log/checkpoints')).body?.data as { tree_size: number };
      if (format === 'json') printJson(data);
      else print(`Success! Checkpoint at tree size ${data.tree_size}`);
    });

  audit
    .command('export')
    .description('Export the audit log (entries and signed checkpoints, JSON lines) for offline verification')
    .requiredOption('--output <file>', 'where to write the export')
    .action(async (opts: { output: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const text = await buildExport(
        async (after) => (await client.request('GET', `sys/audit-log/export?after=${after}`)).body?.data as unknown as ExportPage,
        async (after) =>
          (
            (await client.request('GET', `sys/audit-log/checkpoints?after=${after}`)).body?.data as {
              checkpoints: ({ tree_size: number } & Record<string, unknown>)[];
            }
          ).checkpoints,
        (done, total) => process.stderr.write(`\rexported ${done}/${total} entries`),
      );
      process.stderr.write('\n');
      writeFileSync(opts.output, text, { mode: 0o600 });
      const entries = text.split('\n').filter((l) => l.startsWith('{"kind":"entry"')).length;
      if (format === 'json') printJson({ output: opts.output, entries });
      else print(`Success! Exported ${entries} entries to ${opts.output}`);
    });

  audit
    .command('verify')
    .description('Verify an export offline against the pinned public key (and optionally trusted checkpoints)')
    .argument('<export-file>')
    .requiredOption('--public-key <file>', 'the PEM file `audit public-key` printed')
    .option('--checkpoint <file>', 'checkpoints kept off the machine (the checkpoint file, or some of its lines)')
    .option('--require-coverage', "fail if a trusted checkpoint lies beyond the export's last entry (default: verify up to the end and warn)")
    .action(async (file: string, opts: { publicKey: string; checkpoint?: string; requireCoverage?: boolean }, cmd: Command) => {
      const format = parseFormat((cmd.optsWithGlobals() as { format?: string }).format);
      const report = verifyAuditExport({
        exportText: readFileSync(file, 'utf8'),
        publicKeyPem: readFileSync(opts.publicKey, 'utf8'),
        trustedCheckpointsText: opts.checkpoint ? readFileSync(opts.checkpoint, 'utf8') : undefined,
        requireCoverage: opts.requireCoverage ?? false,
      });
      if (format === 'json') printJson(report);
      else print(verifyVerdict(report));
      if (!report.ok) process.exitCode = 1;
    });
}

/**
 * The text verdict. A bare "Verified:" is printed only when no trusted checkpoint lies beyond the
 * export's end; otherwise the verdict is limited to the export's end and the uncovered range is named.
 */
function verifyVerdict(report: VerifyReport): string {
  if (!report.ok) return `Verification FAILED at sequence ${report.problem?.sequence}: ${report.problem?.reason}`;
  const pruned = report.prunedThrough ? `; entries 1..${report.prunedThrough} pruned by retention (signed prune record)` : '';
  const counts = `${report.entries} entries (sequences ${report.firstSequence ?? '-'}..${report.lastSequence ?? '-'}), ${report.checkpointsVerified} signed checkpoints`;
  const beyond = report.beyondEnd;
  if (!beyond) return `Verified: ${counts}${pruned}`;
  const end = report.lastSequence ?? report.prunedThrough;
  const newest = report.checkpointedThrough ? `, the newest at tree size ${report.checkpointedThrough}` : '';
  const which =
    beyond.checkpoints === 1
      ? `1 signed checkpoint lies beyond the export's end, at tree size ${beyond.lastTreeSize} (signed ${beyond.firstTime})`
      : `${beyond.checkpoints} signed checkpoints lie beyond the export's end, from tree size ${beyond.firstTreeSize} (signed ${beyond.firstTime}) to ${beyond.lastTreeSize}`;
  return [
    `Verified up to the export's end (sequence ${end}) only: ${counts}${newest}${pruned}`,
    `WARNING! ${which}: entries ${end + 1}..${beyond.lastTreeSize} are not in this export and were not checked. ` +
      `If the export was started after ${beyond.firstTime}, it was cut short; --require-coverage makes this a failure.`,
  ].join('\n');
}
