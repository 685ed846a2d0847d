/**
 * Test certificates made with /usr/bin/openssl in a temporary directory (one per test file):
 *
 * - server side: a root CA, an intermediate CA, and a server certificate for 127.0.0.1 and
 *   localhost (IP and DNS SANs, serverAuth) whose file `server.crt` holds the chain (leaf, then
 *   the intermediate), so clients trust `ca.crt` (the root) only;
 * - client side: a client CA and a client certificate (clientAuth) it issued;
 * - an unrelated CA and a client certificate of its own (must be refused).
 *
 * EC P-256 keys, valid for two days, unencrypted PEM.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OPENSSL = '/usr/bin/openssl';

export interface TestPki {
  dir: string;
  /** Root CA of the server certificate (what clients trust). */
  caCert: string;
  /** Server leaf + intermediate. */
  serverCert: string;
  serverKey: string;
  /** CA bundle for tls_client_ca_file. */
  clientCaCert: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from a CA the server does not know. */
  otherClientCert: string;
  otherClientKey: string;
  /** PEM text of a file in dir. */
  read(file: string): string;
  cleanup(): void;
}

const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n';
const SERVER_EXT =
  'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nauthorityKeyIdentifier=keyid\n';
const CLIENT_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nauthorityKeyIdentifier=keyid\n';
const REQ_CONFIG = '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\n';

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-tls-'));
  const path = (f: string) => join(dir, f);
  const openssl = (args: string[]) => execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  // `req -x509 -extensions ext` takes the CA's extensions from this file; `req -new` ignores the section.
  writeFileSync(path('req.cnf'), `${REQ_CONFIG}[ext]\n${CA_EXT}`);
  let serial = 1;

  const key = (name: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path(`${name}.key`)]);
  const selfSignedCa = (name: string, cn: string) => {
    key(name);
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      path(`${name}.key`),
      '-subj',
      `/CN=${cn}`,
      '-days',
      '2',
      '-config',
      path('req.cnf'),
      '-extensions',
      'ext',
      '-out',
      path(`${name}.crt`),
    ]);
  };
  const issue = (name: string, cn: string, issuer: string, ext: string) => {
    key(name);
    writeFileSync(path(`${name}.ext`), `[ext]\n${ext}`);
    openssl(['req', '-new', '-key', path(`${name}.key`), '-subj', `/CN=${cn}`, '-config', path('req.cnf'), '-out', path(`${name}.csr`)]);
    openssl([
      'x509',
      '-req',
      '-in',
      path(`${name}.csr`),
      '-CA',
      path(`${issuer}.crt`),
      '-CAkey',
      path(`${issuer}.key`),
      '-set_serial',
      String(serial++),
      '-days',
      '2',
      '-extfile',
      path(`${name}.ext`),
      '-extensions',
      'ext',
      '-out',
      path(`${name}.crt`),
    ]);
  };

  selfSignedCa('ca', 'SecretHub Test Root CA');
  issue('intermediate', 'SecretHub Test Intermediate CA', 'ca', `${CA_EXT}authorityKeyIdentifier=keyid\n`);
  issue('server-leaf', '127.0.0.1', 'intermediate', SERVER_EXT);
  writeFileSync(path('server.crt'), readFileSync(path('server-leaf.crt'), 'utf8') + readFileSync(path('intermediate.crt'), 'utf8'));
  selfSignedCa('client-ca', 'SecretHub Test Client CA');
  issue('client', 'test-client', 'client-ca', CLIENT_EXT);
  selfSignedCa('other-ca', 'Unrelated CA');
  issue('other-client', 'intruder', 'other-ca', CLIENT_EXT);

  return {
    dir,
    caCert: path('ca.crt'),
    serverCert: path('server.crt'),
    serverKey: path('server-leaf.key'),
    clientCaCert: path('client-ca.crt'),
    clientCert: path('client.crt'),
    clientKey: path('client.key'),
    otherClientCert: path('other-client.crt'),
    otherClientKey: path('other-client.key'),
    read: (file: string) => readFileSync(file.startsWith('/') ? file : path(file), 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface HttpsResult {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * One HTTPS request (no keep-alive, so every call is a fresh handshake). Rejects on any TLS or
 * connection failure, with Node's error (its `code` says why).
 */
export function httpsCall(
  url: string,
  options: {
    ca?: string;
    cert?: string;
    key?: string;
    method?: string;
    body?: unknown;
    token?: string;
    servername?: string;
    maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  } = {},
): Promise<HttpsResult> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        servername: options.servername,
        maxVersion: options.maxVersion,
        agent: false,
        headers: {
          ...(options.token ? { 'x-vault-token': options.token } : {}),
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
