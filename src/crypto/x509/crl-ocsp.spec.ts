/** CRLs and OCSP answers built here, checked by the machine's openssl against openssl-made CAs. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { softwareSigner } from '../signer';
import { buildCrl, parseCrl } from './crl';
import { buildOcspResponse, certIdMatchesIssuer, ocspErrorResponse, parseOcspRequest } from './ocsp';

const dir = mkdtempSync(join(tmpdir(), 'secrethub-crl-'));
const path = (name: string) => join(dir, name);
/** openssl's stdout and stderr together (it reports verification on stderr). */
const run = (...args: string[]): string => {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
};

function makeCa(name: string, keyArgs: string[]): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-new',
      ...keyArgs,
      '-nodes',
      '-keyout',
      path(`${name}.key`),
      '-out',
      path(`${name}.pem`),
      '-subj',
      `/CN=${name} CA`,
      '-days',
      '30',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    { stdio: 'ignore' },
  );
  for (const leaf of ['a', 'b']) {
    execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        path(`${name}-${leaf}.key`),
        '-out',
        path(`${name}-${leaf}.csr`),
        '-subj',
        `/CN=${leaf}.example.com`,
      ],
      { stdio: 'ignore' },
    );
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        path(`${name}-${leaf}.csr`),
        '-CA',
        path(`${name}.pem`),
        '-CAkey',
        path(`${name}.key`),
        '-CAcreateserial',
        '-out',
        path(`${name}-${leaf}.pem`),
        '-days',
        '10',
      ],
      { stdio: 'ignore' },
    );
  }
}

const serialOf = (pemFile: string) => Buffer.from(new X509Certificate(readFileSync(pemFile)).serialNumber, 'hex');
const derOf = (pemFile: string) => Buffer.from(new X509Certificate(readFileSync(pemFile)).raw);

describe.each([
  ['ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']],
  ['rsa', ['-newkey', 'rsa:2048']],
])('CRL and OCSP with an %s issuer', (name, keyArgs) => {
  beforeAll(() => makeCa(name, keyArgs as string[]));
  const caFile = () => path(`${name}.pem`);
  const caKey = () => createPrivateKey(readFileSync(path(`${name}.key`)));

  it('a CRL that openssl verifies, revoking exactly one leaf', async () => {
    const revokedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const der = await buildCrl({
      issuerCertDer: derOf(caFile()),
      issuerSigner: softwareSigner(caKey()),
      thisUpdate: new Date(),
      nextUpdate: new Date(Date.now() + 3600_000),
      crlNumber: 7n,
      revoked: [{ serial: serialOf(path(`${name}-a.pem`)), revokedAt }],
    });
    writeFileSync(path(`${name}.crl.der`), der);
    expect(run('crl', '-in', path(`${name}.crl.der`), '-inform', 'DER', '-CAfile', caFile(), '-noout')).toContain('verify OK');
    const text = run('crl', '-in', path(`${name}.crl.der`), '-inform', 'DER', '-noout', '-text');
    expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*7/);
    expect(text).toContain(new X509Certificate(readFileSync(path(`${name}-a.pem`))).serialNumber.toUpperCase());
    run('crl', '-in', path(`${name}.crl.der`), '-inform', 'DER', '-out', path(`${name}.crl.pem`));
    expect(run('verify', '-crl_check', '-CRLfile', path(`${name}.crl.pem`), '-CAfile', caFile(), path(`${name}-a.pem`))).toContain('certificate revoked');
    expect(run('verify', '-crl_check', '-CRLfile', path(`${name}.crl.pem`), '-CAfile', caFile(), path(`${name}-b.pem`))).toContain(': OK');
    const parsed = parseCrl(der);
    expect(parsed.crlNumber).toBe(7n);
    expect(parsed.revoked.map((r) => r.revokedAt.getTime())).toEqual([revokedAt.getTime()]);
  });

  it('OCSP: requests parsed, issuer matched, answers openssl verifies with the nonce echoed', async () => {
    const req = path(`${name}.ocsp.req`);
    run('ocsp', '-issuer', caFile(), '-cert', path(`${name}-a.pem`), '-cert', path(`${name}-b.pem`), '-reqout', req);
    const parsed = parseOcspRequest(readFileSync(req));
    expect(parsed.certIds).toHaveLength(2);
    expect(parsed.nonce).toBeDefined();
    expect(parsed.certIds.every((c) => certIdMatchesIssuer(c, derOf(caFile())))).toBe(true);
    const now = new Date();
    const resp = await buildOcspResponse({
      responderCertDer: derOf(caFile()),
      responderSigner: softwareSigner(caKey()),
      producedAt: now,
      nonce: parsed.nonce,
      responses: [
        {
          certId: parsed.certIds[0],
          status: { status: 'revoked', revokedAt: new Date(now.getTime() - 60_000) },
          thisUpdate: now,
          nextUpdate: new Date(now.getTime() + 3600_000),
        },
        { certId: parsed.certIds[1], status: { status: 'good' }, thisUpdate: now, nextUpdate: new Date(now.getTime() + 3600_000) },
      ],
    });
    writeFileSync(path(`${name}.ocsp.resp`), resp);
    // With -cert openssl builds a request of its own (its own nonce): statuses and signature here, the nonce below.
    const out = run(
      'ocsp',
      '-respin',
      path(`${name}.ocsp.resp`),
      '-issuer',
      caFile(),
      '-cert',
      path(`${name}-a.pem`),
      '-cert',
      path(`${name}-b.pem`),
      '-CAfile',
      caFile(),
      '-no_nonce',
    );
    expect(out).toContain('Response verify OK');
    expect(out).toContain(`${name}-a.pem: revoked`);
    expect(out).toContain(`${name}-b.pem: good`);
    const text = run('ocsp', '-respin', path(`${name}.ocsp.resp`), '-resp_text', '-noverify');
    expect(text.replace(/\s/g, '')).toContain(`OCSPNonce:${(parsed.nonce as Buffer).toString('hex').toUpperCase()}`);
    expect(text).toContain('Responder Id:');
  });

  it('unknown and error answers; garbage requests throw', () => {
    writeFileSync(path('err.resp'), ocspErrorResponse('malformedRequest'));
    expect(run('ocsp', '-respin', path('err.resp'), '-resp_text', '-noverify')).toMatch(/malformedrequest/i);
    expect(() => parseOcspRequest(Buffer.from('not der'))).toThrow();
  });
});

it('a certID from another issuer does not match', () => {
  const req = path('cross.req');
  run('ocsp', '-issuer', path('ec.pem'), '-cert', path('ec-a.pem'), '-reqout', req, '-no_nonce');
  const [certId] = parseOcspRequest(readFileSync(req)).certIds;
  expect(certIdMatchesIssuer(certId, derOf(path('ec.pem')))).toBe(true);
  expect(certIdMatchesIssuer(certId, derOf(path('rsa.pem')))).toBe(false);
});
