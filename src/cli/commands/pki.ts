/**
 * `secrethub pki issue|sign|revoke|list`: conveniences over a pki mount's `issue/:role`,
 * `sign/:role`, `revoke` and `certs` (`--mount`, default `pki`).
 *
 * Invariants: with `--out-dir` the private key goes only to `key.pem` (mode 0600), never to the
 * terminal; without it the server's answer is printed as `read` would print it.
 */
import type { Command } from 'commander';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApiRequestError } from '../client';
import { cliContext, parseKeyValues, printResponse, readStdin } from '../context';
import { print, printJson, renderColumns, renderTable } from '../output';

const mountOf = (opts: { mount: string }) => opts.mount.replace(/^\/+|\/+$/g, '');

/** Writes cert.pem, ca.pem, chain.pem and (issue) key.pem; returns the paths written. */
function writeOut(dir: string, data: Record<string, unknown>): Record<string, string> {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const files: Record<string, string> = {};
  const put = (name: string, text: string, mode = 0o644) => {
    const path = join(out, name);
    writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`, { mode });
    chmodSync(path, mode);
    files[name] = path;
  };
  put('cert.pem', String(data.certificate));
  put('ca.pem', String(data.issuing_ca));
  if (Array.isArray(data.ca_chain)) put('chain.pem', data.ca_chain.map((c) => (String(c).endsWith('\n') ? String(c) : `${String(c)}\n`)).join(''));
  if (typeof data.private_key === 'string') put('key.pem', data.private_key, 0o600);
  return files;
}

async function issueOrSign(cmd: Command, path: string, body: Record<string, unknown>, outDir: string | undefined): Promise<void> {
  const { client, format } = cliContext(cmd);
  const res = await client.request('PUT', path, body);
  if (!outDir) return printResponse(format, res.body);
  if (body.format !== undefined && body.format !== 'pem') throw new Error('--out-dir writes PEM files: leave format unset or pem');
  const data = (res.body?.data ?? {}) as Record<string, unknown>;
  const files = writeOut(outDir, data);
  const summary = { serial_number: data.serial_number, expiration: data.expiration, lease_id: res.body?.lease_id || undefined, files };
  if (format === 'json') return printJson(summary);
  print(
    renderTable([
      ['serial_number', data.serial_number],
      ['expiration', new Date(Number(data.expiration) * 1000).toISOString()],
      ...Object.entries(files).map(([name, p]): [string, unknown] => [name, p]),
    ]),
  );
}

export function registerPkiCommands(program: Command): void {
  const pki = program.command('pki').description('Certificates from a pki mount: issue, sign, revoke, list');
  const outDirHelp = 'write cert.pem, ca.pem, chain.pem (and key.pem, mode 0600) there instead of printing';

  pki
    .command('issue')
    .description('A new key and certificate under a role: common_name=... [alt_names=... ip_sans=... ttl=...]')
    .argument('<role>')
    .argument('[data...]', 'key=value request fields')
    .option('--mount <path>', 'the pki mount', 'pki')
    .option('--out-dir <dir>', outDirHelp)
    .action(async (role: string, data: string[], opts: { mount: string; outDir?: string }, cmd: Command) => {
      await issueOrSign(cmd, `${mountOf(opts)}/issue/${encodeURIComponent(role)}`, parseKeyValues(data), opts.outDir);
    });

  pki
    .command('sign')
    .description('A certificate for the key of a CSR (PEM file, or - for stdin) under a role')
    .argument('<role>')
    .argument('<csr-file>')
    .argument('[data...]', 'key=value request fields')
    .option('--mount <path>', 'the pki mount', 'pki')
    .option('--out-dir <dir>', outDirHelp)
    .action(async (role: string, csrFile: string, data: string[], opts: { mount: string; outDir?: string }, cmd: Command) => {
      const csr = csrFile === '-' ? readStdin() : readFileSync(csrFile, 'utf8');
      await issueOrSign(cmd, `${mountOf(opts)}/sign/${encodeURIComponent(role)}`, { ...parseKeyValues(data), csr }, opts.outDir);
    });

  pki
    .command('revoke')
    .description('Revoke a certificate by serial number (the CRL and OCSP say so at once)')
    .argument('<serial>')
    .option('--mount <path>', 'the pki mount', 'pki')
    .action(async (serial: string, opts: { mount: string }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const res = await client.request('PUT', `${mountOf(opts)}/revoke`, { serial_number: serial });
      printResponse(format, res.body);
    });

  pki
    .command('list')
    .description('The serial numbers of the stored certificates; --details fetches each (progress on stderr)')
    .option('--mount <path>', 'the pki mount', 'pki')
    .option('--details', 'also the common name, expiry and revocation of each certificate')
    .action(async (opts: { mount: string; details?: boolean }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      const mount = mountOf(opts);
      const res = await client.request('LIST', `${mount}/certs`, undefined, [404]);
      // An empty mount answers 404 without errors; a path with no mount says why (no handler).
      const errors = Array.isArray(res.body?.errors) ? (res.body.errors as string[]) : [];
      if (res.status === 404 && errors.length) throw new ApiRequestError(404, errors);
      const serials = res.status === 404 ? [] : (((res.body?.data as Record<string, unknown>)?.keys as string[]) ?? []);
      if (!opts.details) {
        if (format === 'json') return printJson(serials);
        return print(serials.length ? ['Serial', '------', ...serials].join('\n') : `No certificates in ${mount}/`);
      }
      const rows: { serial_number: string; common_name: string; not_after: string; revoked: boolean }[] = [];
      for (const [i, serial] of serials.entries()) {
        const cert = ((await client.request('GET', `${mount}/cert/${serial}`)).body?.data ?? {}) as Record<string, unknown>;
        const x509 = new X509Certificate(String(cert.certificate));
        const cn = /(?:^|\n)CN=([^\n]*)/.exec(x509.subject)?.[1] ?? '';
        rows.push({ serial_number: serial, common_name: cn, not_after: new Date(x509.validTo).toISOString(), revoked: Number(cert.revocation_time) > 0 });
        process.stderr.write(`\rfetched ${i + 1}/${serials.length} certificates`);
      }
      if (serials.length) process.stderr.write('\n');
      if (format === 'json') return printJson(rows);
      print(
        rows.length
          ? renderColumns(
              ['Serial', 'Common name', 'Not after', 'Revoked'],
              rows.map((r) => [r.serial_number, r.common_name, r.not_after, r.revoked]),
            )
          : `No certificates in ${mount}/`,
      );
    });
}
