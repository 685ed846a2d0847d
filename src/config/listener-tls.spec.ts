/** The listener's TLS settings: Vault's names and defaults, and a clear error for every bad file or value. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../../test/support/tls';
import { buildConfig, ConfigError } from './config';
import { parseHcl } from './hcl';

let pki: TestPki;
beforeAll(() => (pki = makeTestPki()));
afterAll(() => pki.cleanup());

const listener = (body: Record<string, unknown>, listen?: string) => buildConfig({ listener: { tcp: body } }, {}, { listen }).listener;
const files = () => ({ tls_cert_file: pki.serverCert, tls_key_file: pki.serverKey });

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('listener TLS settings', () => {
  it('without certificate and key the loopback listener is plain HTTP', () => {
    expect(listener({})).toMatchObject({ tlsDisable: true, tls: undefined });
  });

  it('certificate and key: client certificates requested, TLS 1.2 to 1.3 (Vault defaults), HCL as Vault writes it', () => {
    const hcl = `listener "tcp" {\n  address = "0.0.0.0:8200"\n  tls_cert_file = "${pki.serverCert}"\n  tls_key_file = "${pki.serverKey}"\n}\n`;
    const l = buildConfig(parseHcl(hcl), {}, {}).listener;
    expect(l.tlsDisable).toBe(false);
    expect(l.tls).toEqual({
      certFile: pki.serverCert,
      keyFile: pki.serverKey,
      clientCaFile: undefined,
      clientCerts: 'request',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
    });
  });

  it('client certificate modes: require_and_verify, disable, and not both', () => {
    expect(listener({ ...files(), tls_client_ca_file: pki.clientCaCert, tls_require_and_verify_client_cert: true }).tls).toMatchObject({
      clientCerts: 'require',
      clientCaFile: pki.clientCaCert,
    });
    expect(listener({ ...files(), tls_require_and_verify_client_cert: 'true' }).tls?.clientCerts).toBe('require');
    expect(listener({ ...files(), tls_disable_client_certs: true }).tls?.clientCerts).toBe('none');
    expect(configError(() => listener({ ...files(), tls_disable_client_certs: true, tls_require_and_verify_client_cert: true }))).toMatch(/mutually exclusive/);
    expect(configError(() => listener({ ...files(), tls_require_and_verify_client_cert: 'maybe' }))).toMatch(
      /tls_require_and_verify_client_cert: expected true or false/,
    );
  });

  it('tls_min_version and tls_max_version: tls12 and tls13 only, min not above max', () => {
    expect(listener({ ...files(), tls_min_version: 'tls13' }).tls).toMatchObject({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    expect(listener({ ...files(), tls_max_version: 'tls12' }).tls).toMatchObject({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    expect(configError(() => listener({ ...files(), tls_min_version: 'tls11' }))).toMatch(/tls_min_version: TLS 1.0 and 1.1 are not supported/);
    expect(configError(() => listener({ ...files(), tls_min_version: 'tls10' }))).toMatch(/not supported/);
    expect(configError(() => listener({ ...files(), tls_min_version: 'TLSv1.2' }))).toMatch(/tls_min_version: expected "tls12" or "tls13", got "TLSv1.2"/);
    expect(configError(() => listener({ ...files(), tls_min_version: 'tls13', tls_max_version: 'tls12' }))).toMatch(/above tls_max_version/);
  });

  it('tls_disable = true ignores every other tls_* setting, even files that do not exist', () => {
    expect(
      listener({ tls_disable: true, tls_cert_file: '/nonexistent.crt', tls_key_file: '/nonexistent.key', tls_min_version: 'tls99' }, '0.0.0.0:8200'),
    ).toMatchObject({ tlsDisable: true, tls: undefined });
  });

  it('half a configuration is an error, not a silent fallback to plain HTTP', () => {
    expect(configError(() => listener({ tls_cert_file: pki.serverCert }))).toMatch(/tls_cert_file is set but tls_key_file is not/);
    expect(configError(() => listener({ tls_key_file: pki.serverKey }))).toMatch(/tls_key_file is set but tls_cert_file is not/);
    expect(configError(() => listener({ tls_client_ca_file: pki.clientCaCert }))).toMatch(/need tls_cert_file and tls_key_file/);
    expect(configError(() => listener({ tls_require_and_verify_client_cert: true }))).toMatch(/need tls_cert_file and tls_key_file/);
  });

  it('a non-loopback address is accepted with TLS', () => {
    expect(listener({ ...files() }, '0.0.0.0:8200').tls?.certFile).toBe(pki.serverCert);
  });

  it('missing or unreadable files name the setting and the path', () => {
    expect(configError(() => listener({ tls_cert_file: '/nonexistent/server.crt', tls_key_file: pki.serverKey }))).toBe(
      'listener "tcp".tls_cert_file: cannot read /nonexistent/server.crt (ENOENT)',
    );
    expect(configError(() => listener({ tls_cert_file: pki.serverCert, tls_key_file: '/nonexistent/server.key' }))).toBe(
      'listener "tcp".tls_key_file: cannot read /nonexistent/server.key (ENOENT)',
    );
    expect(configError(() => listener({ ...files(), tls_client_ca_file: pki.dir }))).toMatch(/tls_client_ca_file: cannot read .* \(EISDIR\)/);
    expect(configError(() => listener({ ...files(), tls_client_ca_file: '/nonexistent/ca.crt' }))).toMatch(/tls_client_ca_file: cannot read/);
  });

  it('wrong contents: no certificate, no key, a key of another certificate; never echoing the key', () => {
    const keyPem = pki.read(pki.serverKey);
    const keyBody = keyPem.split('\n')[1];
    const noCert = configError(() => listener({ tls_cert_file: pki.serverKey, tls_key_file: pki.serverKey }));
    expect(noCert).toBe(`listener "tcp".tls_cert_file: ${pki.serverKey} holds no PEM certificate`);
    const noKey = configError(() => listener({ tls_cert_file: pki.serverCert, tls_key_file: pki.serverCert }));
    expect(noKey).toMatch(/tls_key_file: .* holds no usable PEM private key/);
    const mismatch = configError(() => listener({ tls_cert_file: pki.serverCert, tls_key_file: pki.clientKey }));
    expect(mismatch).toMatch(/tls_key_file: .*client\.key does not belong to the first certificate in .*server\.crt/);
    // The chain in the wrong order: the key belongs to the leaf, which must come first.
    const reversed = join(pki.dir, 'reversed.crt');
    writeFileSync(reversed, pki.read('intermediate.crt') + pki.read('server-leaf.crt'));
    expect(configError(() => listener({ tls_cert_file: reversed, tls_key_file: pki.serverKey }))).toMatch(/does not belong to the first certificate/);
    const garbled = join(pki.dir, 'garbled.crt');
    writeFileSync(garbled, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(configError(() => listener({ tls_cert_file: garbled, tls_key_file: pki.serverKey }))).toMatch(/certificate 1 in .*garbled\.crt cannot be parsed/);
    const corruptKey = join(pki.dir, 'corrupt.key');
    writeFileSync(corruptKey, keyPem.replace(keyBody, keyBody.slice(0, 20)));
    const corrupt = configError(() => listener({ tls_cert_file: pki.serverCert, tls_key_file: corruptKey }));
    for (const message of [noCert, noKey, mismatch, corrupt]) {
      expect(message).not.toContain('PRIVATE KEY-----');
      expect(message).not.toContain(keyBody.slice(0, 20));
    }
  });
});
