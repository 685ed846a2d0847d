import { readFileSync } from 'node:fs';
import { OpensslWorkspace } from '../../../test/support/x509-openssl';
import { encodeName, fromPem, toPem } from './certificate';
import { buildCsr, parseCsr } from './csr';
import { childElements, derSequence, readElement } from './der';
import { generateKeyPair, type KeyType } from './keys';
import { softwareSigner } from '../signer';

let workspace: OpensslWorkspace;
beforeAll(() => {
  workspace = new OpensslWorkspace();
});
afterAll(() => workspace.dispose());

describe('buildCsr -> parseCsr', () => {
  it.each<[KeyType, number, string]>([
    ['rsa', 2048, 'sha256WithRSAEncryption'],
    ['ec', 256, 'ecdsa-with-SHA256'],
    ['ec', 384, 'ecdsa-with-SHA384'],
    ['ed25519', 0, 'ED25519'],
  ])('round-trips a %s %d request that OpenSSL verifies', async (type, bits, algorithm) => {
    const key = await generateKeyPair(type, bits);
    const subject = { commonName: 'Intermediate CA', organization: ['SecretHub'], country: ['US'] };
    const sans = { dnsNames: ['ca.example.com'], ipAddresses: ['10.1.2.3', '2001:db8::5'], uris: ['spiffe://example.com/ca'], emails: ['ca@example.com'] };
    const der = await buildCsr(subject, softwareSigner(key.privateKey), sans, true);

    const parsed = parseCsr(der);
    expect(parsed.subject).toEqual(subject);
    expect(parsed.subjectDer).toEqual(encodeName(subject));
    expect(parsed.publicKey.equals(key.publicKey)).toBe(true);
    expect(parsed.dnsNames).toEqual(sans.dnsNames);
    expect(parsed.ipAddresses).toEqual(sans.ipAddresses);
    expect(parsed.uris).toEqual(sans.uris);
    expect(parsed.emails).toEqual(sans.emails);
    expect(parsed.requestsCa).toBe(true);
    expect(parsed.extensionsDer).toHaveLength(2);
    expect(parseCsr(toPem(der, 'CERTIFICATE REQUEST'))).toEqual(parsed);

    const file = workspace.file(`${type}-${bits}.csr`, toPem(der, 'CERTIFICATE REQUEST'));
    const text = workspace.ok(['req', '-in', file, '-verify', '-noout', '-text']);
    expect(text).toContain(`Signature Algorithm: ${algorithm}`);
    expect(text).toMatch(/Subject: C = US, O = SecretHub, CN = Intermediate CA/);
    expect(text).toContain('DNS:ca.example.com, email:ca@example.com, IP Address:10.1.2.3, IP Address:2001:DB8:0:0:0:0:0:5, URI:spiffe://example.com/ca');
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE\n/);
  });

  it('writes an empty attribute set when nothing is requested', async () => {
    const key = await generateKeyPair('ec', 256);
    const der = await buildCsr({ commonName: 'plain' }, softwareSigner(key.privateKey));
    expect(der.toString('hex')).toContain('a000');
    const parsed = parseCsr(der);
    expect(parsed.requestsCa).toBe(false);
    expect(parsed.extensionsDer).toEqual([]);
    expect(parsed.dnsNames).toEqual([]);
    workspace.ok(['req', '-in', workspace.file('plain.csr', toPem(der, 'CERTIFICATE REQUEST')), '-verify', '-noout']);
  });

  it('marks the requested SAN critical when the subject is empty', async () => {
    const key = await generateKeyPair('ec', 256);
    const der = await buildCsr({}, softwareSigner(key.privateKey), { dnsNames: ['x.example.com'] });
    const text = workspace.ok(['req', '-in', workspace.file('nosubject.csr', toPem(der, 'CERTIFICATE REQUEST')), '-verify', '-noout', '-text']);
    expect(text).toMatch(/X509v3 Subject Alternative Name: critical\s+DNS:x.example.com/);
    expect(parseCsr(der).subject).toEqual({});
  });
});

describe('parseCsr on OpenSSL requests', () => {
  function opensslCsr(name: string, args: string[]): string {
    const out = workspace.path(`${name}.csr`);
    workspace.ok(['req', '-new', '-nodes', '-keyout', workspace.path(`${name}.key`), '-out', out, ...args]);
    return readFileSync(out, 'utf8');
  }

  it('reads the SANs and the CA request of an EC P-256 CSR', () => {
    const pem = opensslCsr('openssl-ec', [
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-subj',
      '/CN=x',
      '-addext',
      'subjectAltName=DNS:a.example.com,IP:10.0.0.1',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ]);
    const parsed = parseCsr(pem);
    expect(parsed.subject).toEqual({ commonName: 'x' });
    expect(parsed.requestsCa).toBe(true);
    expect(parsed.dnsNames).toEqual(['a.example.com']);
    expect(parsed.ipAddresses).toEqual(['10.0.0.1']);
    expect(parsed.publicKey.asymmetricKeyType).toBe('ec');
    expect(parseCsr(Buffer.from(pem))).toEqual(parsed);
    expect(parseCsr(fromPem(pem, 'CERTIFICATE REQUEST')[0])).toEqual(parsed);
  });

  it('verifies RSA-PSS, RSA SHA-1 and ECDSA SHA-512 signatures', () => {
    const pss = opensslCsr('openssl-pss', [
      '-newkey',
      'rsa:2048',
      '-subj',
      '/CN=pss',
      '-sha384',
      '-sigopt',
      'rsa_padding_mode:pss',
      '-sigopt',
      'rsa_pss_saltlen:20',
    ]);
    expect(parseCsr(pss).subject.commonName).toBe('pss');
    const sha1 = opensslCsr('openssl-sha1', ['-newkey', 'rsa:2048', '-subj', '/CN=sha1', '-sha1']);
    expect(parseCsr(sha1).subject.commonName).toBe('sha1');
    const ec512 = opensslCsr('openssl-ec512', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-subj', '/CN=ec512', '-sha512']);
    expect(parseCsr(ec512).subject.commonName).toBe('ec512');
    const ed = opensslCsr('openssl-ed', ['-newkey', 'ed25519', '-subj', '/CN=ed/O=Org/OU=A/OU=B']);
    expect(parseCsr(ed).subject).toEqual({ commonName: 'ed', organization: ['Org'], organizationalUnit: ['A', 'B'] });
  });

  it('accepts the NEW CERTIFICATE REQUEST label', () => {
    const pem = opensslCsr('openssl-new', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-subj', '/CN=new']);
    expect(parseCsr(pem.replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST')).subject.commonName).toBe('new');
  });
});

describe('parseCsr refuses', () => {
  let der: Buffer;
  beforeAll(async () => {
    der = await buildCsr({ commonName: 'tamper' }, softwareSigner((await generateKeyPair('ec', 256)).privateKey), { dnsNames: ['t.example.com'] });
  });

  it('a flipped signature byte', () => {
    const tampered = Buffer.from(der);
    tampered[tampered.length - 5] ^= 0x01;
    expect(() => parseCsr(tampered)).toThrow(/invalid certificate request: signature does not verify/);
  });

  it('a changed request body', () => {
    const tampered = Buffer.from(der);
    const at = tampered.indexOf(Buffer.from('tamper'));
    tampered[at] = 'T'.charCodeAt(0);
    expect(() => parseCsr(tampered)).toThrow(/signature does not verify/);
  });

  it('a signature by another key', async () => {
    const other = await buildCsr({ commonName: 'tamper' }, softwareSigner((await generateKeyPair('ec', 256)).privateKey), { dnsNames: ['t.example.com'] });
    const [info, algorithm] = childElements(der, readElement(der));
    const [, , otherSignature] = childElements(other, readElement(other));
    expect(() => parseCsr(derSequence([info, algorithm, otherSignature]))).toThrow(/signature does not verify/);
  });

  it('a signature algorithm that does not match the key', () => {
    const [info, , signature] = childElements(der, readElement(der));
    const rsaSha256 = Buffer.from('300d06092a864886f70d01010b0500', 'hex');
    expect(() => parseCsr(derSequence([info, rsaSha256, signature]))).toThrow(/signature does not verify/);
  });

  it.each<[string, string | Buffer]>([
    ['empty input', Buffer.alloc(0)],
    ['random bytes', Buffer.from('30820102deadbeef', 'hex')],
    ['text without PEM', 'hello'],
    ['a certificate PEM', '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n'],
    ['a bad PEM body', '-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n'],
    ['an empty SEQUENCE', Buffer.from('3000', 'hex')],
    ['a SEQUENCE of garbage', Buffer.from('3003020100', 'hex')],
  ])('%s', (_, input) => {
    expect(() => parseCsr(input)).toThrow(/invalid certificate request|PEM block/);
  });

  it('trailing bytes and truncation', () => {
    expect(() => parseCsr(Buffer.concat([der, Buffer.from([0])]))).toThrow(/invalid certificate request.*trailing/);
    expect(() => parseCsr(der.subarray(0, der.length - 1))).toThrow(/invalid certificate request.*truncated/);
  });

  it('two requests in one PEM', () => {
    const pem = toPem(der, 'CERTIFICATE REQUEST');
    expect(() => parseCsr(pem + pem)).toThrow(/more than one/);
  });
});
