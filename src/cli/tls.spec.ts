/** The CLI's TLS options: Vault's precedence (flag, then env), CA file over CA directory, and clear errors. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../../test/support/tls';
import { normaliseArgs } from './args';
import { buildProgram } from './program';
import { resolveClientTls } from './tls';

let pki: TestPki;
beforeAll(() => (pki = makeTestPki()));
afterAll(() => pki.cleanup());

describe('resolveClientTls', () => {
  it('nothing set: the system CAs, verification on', () => {
    expect(resolveClientTls({}, {})).toEqual({});
  });

  it('CA file from the flag, SECRETHUB_CACERT or VAULT_CACERT, in that order; it wins over a CA directory', () => {
    const root = pki.read(pki.caCert).trim();
    const clientCa = pki.read(pki.clientCaCert).trim();
    expect(resolveClientTls({}, { VAULT_CACERT: pki.caCert }).ca).toEqual([root]);
    expect(resolveClientTls({}, { VAULT_CACERT: pki.caCert, SECRETHUB_CACERT: pki.clientCaCert }).ca).toEqual([clientCa]);
    expect(resolveClientTls({ caCert: pki.clientCaCert }, { VAULT_CACERT: pki.caCert }).ca).toEqual([clientCa]);
    expect(resolveClientTls({ caPath: pki.dir }, { VAULT_CACERT: pki.caCert }).ca).toEqual([root]);
  });

  it('a CA directory: every file in it (subdirectories too) must hold PEM certificates', () => {
    const dir = join(pki.dir, 'capath');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'a.pem'), pki.read(pki.caCert));
    writeFileSync(join(dir, 'sub', 'b.pem'), pki.read(pki.clientCaCert) + pki.read(pki.otherClientCert));
    expect(resolveClientTls({}, { VAULT_CAPATH: dir }).ca).toHaveLength(3);
    writeFileSync(join(dir, 'notes.txt'), 'not a certificate');
    expect(() => resolveClientTls({ caPath: dir }, {})).toThrow(`-ca-path: ${join(dir, 'notes.txt')} holds no PEM certificate`);
    expect(() => resolveClientTls({ caPath: join(pki.dir, 'none') }, {})).toThrow(/-ca-path: cannot read .* \(ENOENT\)/);
  });

  it('client certificate and key: both or neither; a bad key is named, never shown', () => {
    const both = resolveClientTls({}, { VAULT_CLIENT_CERT: pki.clientCert, VAULT_CLIENT_KEY: pki.clientKey });
    expect(both.cert).toBe(pki.read(pki.clientCert).trim());
    expect(both.key?.toString()).toBe(pki.read(pki.clientKey));
    expect(() => resolveClientTls({ clientCert: pki.clientCert }, {})).toThrow(/both a client certificate/);
    expect(() => resolveClientTls({}, { VAULT_CLIENT_KEY: pki.clientKey })).toThrow(/both a client certificate/);
    expect(() => resolveClientTls({ clientCert: pki.clientCert, clientKey: pki.clientCert }, {})).toThrow(
      `-client-key: ${pki.clientCert} holds no usable PEM private key (encrypted keys are not supported)`,
    );
    expect(() => resolveClientTls({ clientCert: pki.clientKey, clientKey: pki.clientKey }, {})).toThrow(
      `-client-cert: ${pki.clientKey} holds no PEM certificate`,
    );
  });

  it("skip-verify: the flag wins over VAULT_SKIP_VERIFY, parsed as Go's ParseBool", () => {
    expect(resolveClientTls({}, { VAULT_SKIP_VERIFY: 'true' }).rejectUnauthorized).toBe(false);
    expect(resolveClientTls({}, { VAULT_SKIP_VERIFY: '1' }).rejectUnauthorized).toBe(false);
    expect(resolveClientTls({}, { VAULT_SKIP_VERIFY: 'false' }).rejectUnauthorized).toBeUndefined();
    expect(resolveClientTls({ tlsSkipVerify: false }, { VAULT_SKIP_VERIFY: 'true' }).rejectUnauthorized).toBeUndefined();
    expect(resolveClientTls({ tlsSkipVerify: true }, {}).rejectUnauthorized).toBe(false);
    expect(() => resolveClientTls({}, { VAULT_SKIP_VERIFY: 'yes' })).toThrow('could not parse VAULT_SKIP_VERIFY');
  });

  it('server name from -tls-server-name or VAULT_TLS_SERVER_NAME', () => {
    expect(resolveClientTls({}, { VAULT_TLS_SERVER_NAME: 'vault.internal' }).servername).toBe('vault.internal');
    expect(resolveClientTls({ tlsServerName: 'other' }, { VAULT_TLS_SERVER_NAME: 'vault.internal' }).servername).toBe('other');
  });
});

describe('TLS flags on the command line', () => {
  it("Vault's single-dash forms parse into the global options, -tls-skip-verify=false included", () => {
    const program = buildProgram();
    let seen: Record<string, unknown> = {};
    program.command('probe').action((_o: unknown, cmd: { optsWithGlobals(): Record<string, unknown> }) => void (seen = cmd.optsWithGlobals()));
    const flags = new Set(['--tls-skip-verify', '--no-tls-skip-verify']);
    program.parse(
      normaliseArgs(['probe', '-ca-cert=/a', '-ca-path', '/b', '-client-cert=/c', '-client-key=/d', '-tls-server-name=n', '-tls-skip-verify'], flags),
      { from: 'user' },
    );
    expect(seen).toMatchObject({ caCert: '/a', caPath: '/b', clientCert: '/c', clientKey: '/d', tlsServerName: 'n', tlsSkipVerify: true });
    program.parse(normaliseArgs(['probe', '-tls-skip-verify=false'], flags), { from: 'user' });
    expect(seen.tlsSkipVerify).toBe(false);
  });
});
