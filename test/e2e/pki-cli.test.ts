/**
 * `secrethub pki issue|sign|revoke|list` against the built server in dev mode: files written with
 * the key kept off the terminal, a CSR signed, a revocation seen in the listing, and errors.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';
import { createTestDatabase } from '../support/database';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('CLI: pki conveniences (e2e)', () => {
  let server: ServerProcess;
  const root = 'hvs.clipkiroot';
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-pki-cli-'));
  const cliWithStdin = (stdin: string, ...args: string[]) => runCli(args, { VAULT_ADDR: server.address, VAULT_TOKEN: root }, stdin);
  const cli = (...args: string[]) => cliWithStdin('', ...args);
  const ok = async (...args: string[]) => okWithStdin('', ...args);
  const okWithStdin = async (stdin: string, ...args: string[]) => {
    const res = await cliWithStdin(stdin, ...args);
    if (res.code !== 0) throw new Error(`secrethub ${args.join(' ')} exited ${res.code}:\n${res.stderr}${res.stdout}`);
    return res;
  };

  beforeAll(async () => {
    server = await startServerProcess({
      databaseUrl: await createTestDatabase(),
      args: ['--dev', '--dev-root-token-id', root],
      readyText: 'should NOT be used',
    });
    await ok('secrets', 'enable', '-max-lease-ttl=87600h', 'pki');
    await ok('write', 'pki/root/generate/internal', 'common_name=CLI Root', 'ttl=8760h', 'key_type=ec', 'key_bits=256');
    await ok('write', 'pki/roles/web', 'allowed_domains=example.com', 'allow_subdomains=true', 'key_type=ec', 'key_bits=256', 'max_ttl=72h');
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issue --out-dir: cert, CA, chain and a 0600 key on disk, nothing secret on the terminal', async () => {
    const out = join(dir, 'a');
    const res = await ok('pki', 'issue', 'web', 'common_name=a.example.com', 'ttl=1h', `-out-dir=${out}`);
    expect(res.stdout).not.toContain('PRIVATE KEY');
    expect(res.stdout).toMatch(/^serial_number\s+[0-9a-f:]+$/m);
    expect(res.stdout).toContain(join(out, 'key.pem'));
    const cert = new X509Certificate(readFileSync(join(out, 'cert.pem')));
    expect(cert.subject).toContain('CN=a.example.com');
    expect(cert.checkIssued(new X509Certificate(readFileSync(join(out, 'ca.pem'))))).toBe(true);
    expect(statSync(join(out, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'key.pem'), 'utf8')).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    // JSON without --out-dir: Vault's whole answer.
    const json = JSON.parse((await ok('pki', 'issue', 'web', 'common_name=b.example.com', '-format=json')).stdout);
    expect(json.data).toMatchObject({ private_key_type: 'ec', serial_number: expect.any(String) });
    expect(new X509Certificate(json.data.certificate).serialNumber).toBe(json.data.serial_number.replace(/:/g, '').toUpperCase());
    // A table without --out-dir: every field, the PEM blocks whole.
    const table = (await ok('pki', 'issue', 'web', 'common_name=d.example.com')).stdout;
    const printed = /^certificate\s+(-----BEGIN CERTIFICATE-----\n[^-]+-----END CERTIFICATE-----)$/m.exec(table)?.[1] as string;
    expect(new X509Certificate(printed).subject).toContain('CN=d.example.com');
    expect(table).toMatch(/^private_key\s+-----BEGIN EC PRIVATE KEY-----$/m);
    expect(table).toMatch(/^issuing_ca\s+-----BEGIN CERTIFICATE-----$/m);
  });

  it('sign a CSR from a file; revoke; list (plain, JSON, details with progress on stderr)', async () => {
    const key = join(dir, 'csr-key.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
    const csr = join(dir, 'req.csr');
    execFileSync('openssl', ['req', '-new', '-key', key, '-subj', '/CN=c.example.com', '-out', csr]);
    const signed = JSON.parse((await ok('pki', 'sign', 'web', csr, 'ttl=2h', '-format=json')).stdout);
    const serial = signed.data.serial_number as string;
    expect(new X509Certificate(signed.data.certificate).subject).toContain('CN=c.example.com');
    expect(signed.data.private_key).toBeUndefined();
    // '-' reads the CSR from stdin.
    const fromStdin = JSON.parse((await okWithStdin(readFileSync(csr, 'utf8'), 'pki', 'sign', 'web', '-', '-format=json')).stdout);
    expect(new X509Certificate(fromStdin.data.certificate).subject).toContain('CN=c.example.com');
    expect(fromStdin.data.serial_number).not.toBe(serial);

    const revoked = await ok('pki', 'revoke', serial);
    expect(revoked.stdout).toMatch(/^revocation_time\s+\d+/m);
    const stored = JSON.parse((await ok('read', '-format=json', `pki/cert/${serial}`)).stdout);
    expect(stored.data.revocation_time).toBeGreaterThan(0);
    expect(JSON.parse((await ok('pki', 'list', '-format=json')).stdout)).toContain(serial);
    expect((await ok('pki', 'list')).stdout).toContain(serial);
    const details = await ok('pki', 'list', '-details');
    expect(details.stdout).toMatch(new RegExp(`${serial}\\s+c\\.example\\.com\\s+\\S+\\s+true`));
    expect(details.stderr).toMatch(/fetched \d+\/\d+ certificates/);
  });

  it("errors: an unknown role or a name outside the role exits non-zero with the server's message", async () => {
    const unknown = await cli('pki', 'issue', 'nope', 'common_name=a.example.com');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unknown role: nope');
    const outside = await cli('pki', 'issue', 'web', 'common_name=evil.com');
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toContain('evil.com');
    expect((await cli('pki', 'sign', 'web', join(dir, 'missing.csr'))).code).not.toBe(0);
    // A mount that does not exist is an error, not an empty listing.
    const noMount = await cli('pki', 'list', '-mount=nope');
    expect(noMount.code).toBe(2);
    expect(noMount.stderr).toContain('no handler for route');
    expect((await ok('pki', 'list', '-mount=pki')).stdout).not.toContain('No certificates');
  });

  it("CA TTLs as Vault's over HTTP: a root without ttl gets the mount's default; an intermediate with its root's ttl is cut to the root", async () => {
    await ok('secrets', 'enable', '-max-lease-ttl=8760h', '-path=ca_root', 'pki');
    await ok('secrets', 'enable', '-max-lease-ttl=8760h', '-path=ca_int', 'pki');
    const write = async (...args: string[]) => JSON.parse((await ok('write', '-format=json', ...args)).stdout);
    const byDefault = await write('ca_int/root/generate/internal', 'common_name=Default Root', 'key_type=ec');
    expect(Math.abs(new Date(new X509Certificate(byDefault.data.certificate).validTo).getTime() - Date.now() - 768 * 3600_000)).toBeLessThan(60_000);
    const root = await write('ca_root/root/generate/internal', 'common_name=Same Root', 'ttl=8760h', 'key_type=ec');
    const csr = join(dir, 'int.csr');
    writeFileSync(csr, (await write('ca_int/intermediate/generate/internal', 'common_name=Same Int', 'key_type=ec')).data.csr);
    const signed = await write('ca_root/root/sign-intermediate', `csr=@${csr}`, 'ttl=8760h');
    expect(signed.warnings).toEqual(["the signed intermediary CA certificate's notAfter was truncated to the issuer's notAfter"]);
    expect(new X509Certificate(signed.data.certificate).validTo).toBe(new X509Certificate(root.data.certificate).validTo);
    const enforced = await cli('write', 'ca_root/root/sign-intermediate', `csr=@${csr}`, 'ttl=8760h', 'enforce_leaf_not_after_behavior=true');
    expect(enforced.code).toBe(2);
    expect(enforced.stderr).toContain('beyond the expiration of the CA certificate');
  });
});
