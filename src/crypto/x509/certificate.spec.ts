import { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { OpensslWorkspace } from '../../../test/support/x509-openssl';
import {
  buildCertificate,
  certificateParts,
  EKU,
  encodeName,
  fromPem,
  randomSerial,
  serialToVault,
  subjectKeyIdOf,
  toPem,
  type CertificateSpec,
  type DistinguishedName,
} from './certificate';
import { generateKeyPair, type KeyPair, type KeyType } from './keys';
import { softwareSigner } from '../signer';

const HOUR = 3600 * 1000;

/** Colon-separated upper-case hex, as OpenSSL prints key identifiers. */
function opensslHex(bytes: Buffer): string {
  return Array.from(bytes, (octet) => octet.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

interface Issued {
  der: Buffer;
  key: KeyPair;
}

function selfSigned(key: KeyPair, subject: DistinguishedName, extra: Partial<CertificateSpec> = {}): Promise<Buffer> {
  const now = Date.now();
  return buildCertificate({
    serial: randomSerial(),
    subject,
    issuer: { nameDer: encodeName(subject), signer: softwareSigner(key.privateKey) },
    publicKey: key.publicKey,
    notBefore: new Date(now - HOUR),
    notAfter: new Date(now + 24 * HOUR),
    isCa: true,
    keyUsage: ['keyCertSign', 'cRLSign'],
    extKeyUsage: [],
    ...extra,
  });
}

function issuedBy(issuer: Issued, key: KeyPair, spec: Partial<CertificateSpec> & Pick<CertificateSpec, 'subject' | 'isCa'>): Promise<Buffer> {
  const issuerParts = certificateParts(issuer.der);
  const now = Date.now();
  return buildCertificate({
    serial: randomSerial(),
    issuer: { nameDer: issuerParts.subjectNameDer, signer: softwareSigner(issuer.key.privateKey), subjectKeyId: issuerParts.subjectKeyId },
    publicKey: key.publicKey,
    notBefore: new Date(now - HOUR),
    notAfter: new Date(now + 12 * HOUR),
    keyUsage: [],
    extKeyUsage: [],
    ...spec,
  });
}

let workspace: OpensslWorkspace;
beforeAll(() => {
  workspace = new OpensslWorkspace();
});
afterAll(() => workspace.dispose());

function opensslText(der: Buffer, name: string): string {
  return workspace.ok(['x509', '-in', workspace.file(name, toPem(der, 'CERTIFICATE')), '-text', '-noout']);
}

describe.each<[string, KeyType, number, string]>([
  ['RSA 2048', 'rsa', 2048, 'sha256WithRSAEncryption'],
  ['EC P-256', 'ec', 256, 'ecdsa-with-SHA256'],
  ['EC P-384', 'ec', 384, 'ecdsa-with-SHA384'],
  ['Ed25519', 'ed25519', 0, 'ED25519'],
])('a %s chain', (label, type, bits, signatureAlgorithm) => {
  const slug = label.replace(/\W+/g, '-').toLowerCase();
  let root: Issued;
  let intermediate: Issued;
  let leaf: Issued;

  beforeAll(async () => {
    const [rootKey, intermediateKey, leafKey] = await Promise.all([0, 1, 2].map(() => generateKeyPair(type, bits)));
    root = { key: rootKey, der: await selfSigned(rootKey, { commonName: `${label} Root`, organization: ['SecretHub'], country: ['US'] }) };
    intermediate = {
      key: intermediateKey,
      der: await issuedBy(root, intermediateKey, {
        subject: { commonName: `${label} Intermediate`, organization: ['SecretHub'] },
        isCa: true,
        maxPathLength: 0,
        keyUsage: ['keyCertSign', 'cRLSign'],
        issuingCertificateUrls: ['https://vault.example.com/v1/pki/ca'],
        crlDistributionPoints: ['https://vault.example.com/v1/pki/crl'],
      }),
    };
    leaf = {
      key: leafKey,
      der: await issuedBy(intermediate, leafKey, {
        subject: { commonName: 'www.example.com' },
        isCa: false,
        keyUsage: type === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'],
        extKeyUsage: [EKU.serverAuth, EKU.clientAuth],
        dnsNames: ['www.example.com', 'example.com'],
        ipAddresses: ['10.0.0.1', '2001:db8::1'],
        uris: ['spiffe://example.com/web'],
        ocspServers: ['http://ocsp.example.com'],
      }),
    };
    workspace.file(`${slug}-root.pem`, toPem(root.der, 'CERTIFICATE'));
    workspace.file(`${slug}-inter.pem`, toPem(intermediate.der, 'CERTIFICATE'));
    workspace.file(`${slug}-leaf.pem`, toPem(leaf.der, 'CERTIFICATE'));
  });

  it('openssl verifies leaf -> intermediate -> root, also under -x509_strict', () => {
    const args = ['verify', '-CAfile', `${slug}-root.pem`, '-untrusted', `${slug}-inter.pem`];
    expect(workspace.ok([...args, `${slug}-leaf.pem`]).trim()).toBe(`${slug}-leaf.pem: OK`);
    expect(workspace.ok([...args, '-x509_strict', '-purpose', 'sslserver', `${slug}-leaf.pem`]).trim()).toBe(`${slug}-leaf.pem: OK`);
    expect(workspace.ok(['verify', '-CAfile', `${slug}-root.pem`, '-x509_strict', `${slug}-inter.pem`]).trim()).toBe(`${slug}-inter.pem: OK`);
  });

  it('openssl refuses the leaf without the intermediate', () => {
    expect(workspace.run(['verify', '-CAfile', `${slug}-root.pem`, `${slug}-leaf.pem`]).status).not.toBe(0);
  });

  it('openssl shows the SANs, key identifiers, constraints and signature algorithm', () => {
    const leafText = opensslText(leaf.der, `${slug}-leaf-text.pem`);
    expect(leafText).toContain('DNS:www.example.com, DNS:example.com, IP Address:10.0.0.1, IP Address:2001:DB8:0:0:0:0:0:1, URI:spiffe://example.com/web');
    expect(leafText).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(leafText).toMatch(/X509v3 Extended Key Usage: \s*TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(leafText).toMatch(/X509v3 Key Usage: critical\s+Digital Signature/);
    expect(leafText).toMatch(/OCSP - URI:http:\/\/ocsp.example.com/);
    expect(leafText).toContain(`Signature Algorithm: ${signatureAlgorithm}`);
    const leafParts = certificateParts(leaf.der);
    const interParts = certificateParts(intermediate.der);
    const rootParts = certificateParts(root.der);
    expect(leafText).toMatch(new RegExp(`Subject Key Identifier: \\s*${opensslHex(leafParts.subjectKeyId!)}`));
    expect(leafText).toMatch(new RegExp(`Authority Key Identifier: \\s*(keyid:)?${opensslHex(interParts.subjectKeyId!)}`));

    const interText = opensslText(intermediate.der, `${slug}-inter-text.pem`);
    expect(interText).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(interText).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(interText).toMatch(/CA Issuers - URI:https:\/\/vault.example.com\/v1\/pki\/ca/);
    expect(interText).toMatch(/X509v3 CRL Distribution Points: \s*Full Name:\s*URI:https:\/\/vault.example.com\/v1\/pki\/crl/);
    expect(interText).toMatch(new RegExp(`Authority Key Identifier: \\s*(keyid:)?${opensslHex(rootParts.subjectKeyId!)}`));

    const rootText = opensslText(root.der, `${slug}-root-text.pem`);
    expect(rootText).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE\n/);
    // Self-signed: AKI is the certificate's own SKI.
    expect(rootParts.authorityKeyId).toEqual(rootParts.subjectKeyId);
    expect(rootText).toMatch(new RegExp(`Authority Key Identifier: \\s*(keyid:)?${opensslHex(rootParts.subjectKeyId!)}`));
  });

  it('node agrees: checkIssued and verify along the chain', () => {
    const [rootX, interX, leafX] = [root, intermediate, leaf].map((cert) => new X509Certificate(cert.der));
    expect(leafX.checkIssued(interX)).toBe(true);
    expect(leafX.verify(interX.publicKey)).toBe(true);
    expect(interX.checkIssued(rootX)).toBe(true);
    expect(interX.verify(rootX.publicKey)).toBe(true);
    expect(rootX.checkIssued(rootX)).toBe(true);
    expect(rootX.verify(rootX.publicKey)).toBe(true);
    expect(leafX.checkIssued(rootX)).toBe(false);
    expect(leafX.verify(rootX.publicKey)).toBe(false);
    expect(leafX.ca).toBe(false);
    expect(interX.ca).toBe(true);
    expect(leafX.subjectAltName).toBe(
      'DNS:www.example.com, DNS:example.com, IP Address:10.0.0.1, IP Address:2001:DB8:0:0:0:0:0:1, URI:spiffe://example.com/web',
    );
  });

  it('certificateParts reads back what was built', () => {
    const parts = certificateParts(leaf.der);
    const node = new X509Certificate(leaf.der);
    expect(parts.commonName).toBe('www.example.com');
    expect(parts.subject).toEqual({ commonName: 'www.example.com' });
    expect(parts.issuer).toEqual({ commonName: `${label} Intermediate`, organization: ['SecretHub'] });
    expect(parts.issuerNameDer).toEqual(certificateParts(intermediate.der).subjectNameDer);
    expect(serialToVault(parts.serial)).toBe(node.serialNumber.toLowerCase().replace(/(..)(?!$)/g, '$1:'));
    expect(parts.isCa).toBe(false);
    expect(parts.maxPathLength).toBeUndefined();
    expect(parts.dnsNames).toEqual(['www.example.com', 'example.com']);
    expect(parts.ipAddresses).toEqual(['10.0.0.1', '2001:db8::1']);
    expect(parts.uris).toEqual(['spiffe://example.com/web']);
    expect(parts.emails).toEqual([]);
    expect(parts.extKeyUsage).toEqual([EKU.serverAuth, EKU.clientAuth]);
    expect(parts.ocspServers).toEqual(['http://ocsp.example.com']);
    expect(parts.notBefore.getTime()).toBe(new Date(node.validFrom).getTime());
    expect(parts.notAfter.getTime()).toBe(new Date(node.validTo).getTime());
    expect(parts.publicKey.equals(leaf.key.publicKey)).toBe(true);
    expect(parts.subjectKeyId).toEqual(subjectKeyIdOf(leaf.key.publicKey));
    const inter = certificateParts(intermediate.der);
    expect(inter.isCa).toBe(true);
    expect(inter.maxPathLength).toBe(0);
    expect(inter.keyUsage).toEqual(['keyCertSign', 'cRLSign']);
    expect(certificateParts(root.der).maxPathLength).toBeUndefined();
  });

  it('is DER: asn1-schema re-encodes the parsed certificate to the same bytes', () => {
    for (const cert of [root, intermediate, leaf]) {
      expect(Buffer.from(AsnConvert.serialize(AsnConvert.parse(cert.der, Certificate)))).toEqual(cert.der);
    }
  });
});

describe('extension encoding', () => {
  let key: KeyPair;
  let ca: Issued;
  beforeAll(async () => {
    key = await generateKeyPair('ec', 256);
    ca = { key, der: await selfSigned(key, { commonName: 'Extension CA' }) };
  });

  it('writes pathlen only on CAs with a limit', async () => {
    const other = await generateKeyPair('ec', 256);
    const text = async (spec: Partial<CertificateSpec> & Pick<CertificateSpec, 'isCa'>, name: string) =>
      opensslText(await issuedBy(ca, other, { subject: { commonName: name }, ...spec }), `${name}.pem`);
    expect(await text({ isCa: true, maxPathLength: 3 }, 'pl3')).toMatch(/critical\s+CA:TRUE, pathlen:3\n/);
    expect(await text({ isCa: true, maxPathLength: -1 }, 'plnone')).toMatch(/critical\s+CA:TRUE\n/);
    expect(await text({ isCa: true }, 'plundef')).toMatch(/critical\s+CA:TRUE\n/);
    expect(await text({ isCa: false, maxPathLength: 2 }, 'leafpl')).toMatch(/critical\s+CA:FALSE\n/);
    await expect(issuedBy(ca, other, { subject: { commonName: 'bad' }, isCa: true, maxPathLength: -2 })).rejects.toThrow(/max path length/);
  });

  it('encodes key usage as a DER named bit list', async () => {
    const cases: [CertificateSpec['keyUsage'], string, string][] = [
      [['digitalSignature'], '03020780', 'Digital Signature'],
      [['keyCertSign', 'cRLSign'], '03020106', 'Certificate Sign, CRL Sign'],
      [['contentCommitment', 'keyAgreement'], '03020348', 'Non Repudiation, Key Agreement'],
      [['decipherOnly'], '0303070080', 'Decipher Only'],
      [
        [
          'digitalSignature',
          'contentCommitment',
          'keyEncipherment',
          'dataEncipherment',
          'keyAgreement',
          'keyCertSign',
          'cRLSign',
          'encipherOnly',
          'decipherOnly',
        ],
        '030307ff80',
        'Digital Signature, Non Repudiation, Key Encipherment, Data Encipherment, Key Agreement, Certificate Sign, CRL Sign, Encipher Only, Decipher Only',
      ],
    ];
    for (const [keyUsage, bitStringHex, shown] of cases) {
      const der = await issuedBy(ca, key, { subject: { commonName: 'ku' }, isCa: false, keyUsage });
      // id-ce-keyUsage, critical TRUE, OCTET STRING { BIT STRING }
      const length = bitStringHex.length / 2;
      expect(der.toString('hex')).toContain(`0603551d0f0101ff04${length.toString(16).padStart(2, '0')}${bitStringHex}`);
      expect(opensslText(der, 'ku.pem')).toMatch(new RegExp(`X509v3 Key Usage: critical\\s+${shown}\\n`));
      expect(certificateParts(der).keyUsage).toEqual(keyUsage);
    }
    const none = await issuedBy(ca, key, { subject: { commonName: 'no-ku' }, isCa: false });
    expect(opensslText(none, 'no-ku.pem')).not.toContain('X509v3 Key Usage');
    await expect(issuedBy(ca, key, { subject: { commonName: 'x' }, isCa: false, keyUsage: ['bogus' as never] })).rejects.toThrow(/unknown key usage/);
  });

  it('encodes every EKU asked, and custom OIDs', async () => {
    const der = await issuedBy(ca, key, {
      subject: { commonName: 'eku' },
      isCa: false,
      extKeyUsage: [...Object.values(EKU), '1.3.6.1.4.1.311.20.2.2'],
    });
    expect(opensslText(der, 'eku.pem')).toContain(
      'TLS Web Server Authentication, TLS Web Client Authentication, Code Signing, E-mail Protection, Time Stamping, OCSP Signing, Microsoft Smartcard Login',
    );
    expect(certificateParts(der).extKeyUsage).toEqual([...Object.values(EKU), '1.3.6.1.4.1.311.20.2.2']);
    await expect(issuedBy(ca, key, { subject: { commonName: 'x' }, isCa: false, extKeyUsage: ['serverAuth'] })).rejects.toThrow(/not an OID/);
    const none = await issuedBy(ca, key, { subject: { commonName: 'no-eku' }, isCa: false });
    expect(opensslText(none, 'no-eku.pem')).not.toContain('Extended Key Usage');
  });

  it('marks the SAN critical when the subject is empty', async () => {
    const der = await issuedBy(ca, key, { subject: {}, isCa: false, dnsNames: ['only.example.com'], emails: ['a@example.com'] });
    const text = opensslText(der, 'empty-subject.pem');
    expect(text).toMatch(/Subject: *\n/);
    expect(text).toMatch(/X509v3 Subject Alternative Name: critical\s+DNS:only.example.com, email:a@example.com/);
    expect(certificateParts(der).emails).toEqual(['a@example.com']);
    const named = opensslText(await issuedBy(ca, key, { subject: { commonName: 'n' }, isCa: false, dnsNames: ['n.example.com'] }), 'named.pem');
    expect(named).toMatch(/X509v3 Subject Alternative Name: \n/);
  });

  it('encodes IPv4-mapped addresses in 4 octets and refuses bad SANs', async () => {
    const der = await issuedBy(ca, key, { subject: { commonName: 'ip' }, isCa: false, ipAddresses: ['::ffff:192.0.2.1', 'fe80::1:2', '::'] });
    expect(certificateParts(der).ipAddresses).toEqual(['192.0.2.1', 'fe80::1:2', '::']);
    expect(opensslText(der, 'ip.pem')).toContain('IP Address:192.0.2.1, IP Address:FE80:0:0:0:0:0:1:2, IP Address:0:0:0:0:0:0:0:0');
    await expect(issuedBy(ca, key, { subject: {}, isCa: false, ipAddresses: ['10.0.0.256'] })).rejects.toThrow(/not a valid IP/);
    await expect(issuedBy(ca, key, { subject: {}, isCa: false, ipAddresses: ['fe80::1%eth0'] })).rejects.toThrow(/not a valid IP/);
    await expect(issuedBy(ca, key, { subject: {}, isCa: false, dnsNames: ['bücher.example'] })).rejects.toThrow(/punycode/);
  });

  it('uses the requested signature hash and RSASSA-PSS', async () => {
    const rsa = await generateKeyPair('rsa', 2048);
    const rsaCa = { key: rsa, der: await selfSigned(rsa, { commonName: 'RSA CA' }, { signatureHash: 'sha512' }) };
    expect(opensslText(rsaCa.der, 'rsa512.pem')).toContain('Signature Algorithm: sha512WithRSAEncryption');
    const pss = await issuedBy(rsaCa, key, { subject: { commonName: 'pss' }, isCa: false, usePss: true, signatureHash: 'sha384' });
    const text = opensslText(pss, 'pss.pem');
    expect(text).toContain('Signature Algorithm: rsassaPss');
    expect(text).toMatch(/Hash Algorithm: sha384[\s\S]*Mask Algorithm: mgf1 with sha384[\s\S]*Salt Length: 0x30/);
    workspace.file('rsa-ca.pem', toPem(rsaCa.der, 'CERTIFICATE'));
    workspace.file('pss-leaf.pem', toPem(pss, 'CERTIFICATE'));
    expect(workspace.ok(['verify', '-CAfile', 'rsa-ca.pem', 'pss-leaf.pem']).trim()).toBe('pss-leaf.pem: OK');
    expect(new X509Certificate(pss).verify(rsa.publicKey)).toBe(true);
    await expect(selfSigned(key, { commonName: 'x' }, { usePss: true })).rejects.toThrow(/RSA/);
    await expect(selfSigned(key, { commonName: 'x' }, { signatureHash: 'md5' as never })).rejects.toThrow(/signature hash/);
    const p521 = await generateKeyPair('ec', 521);
    expect(opensslText(await selfSigned(p521, { commonName: 'p521' }), 'p521.pem')).toContain('Signature Algorithm: ecdsa-with-SHA512');
  });
});

describe('serials, validity and names', () => {
  let key: KeyPair;
  beforeAll(async () => {
    key = await generateKeyPair('ec', 256);
  });

  it('encodes serials as minimal positive INTEGERs', async () => {
    const cases: [string, string][] = [
      ['80', '0080'],
      ['0000ff01', '00ff01'],
      ['01', '01'],
      ['7f' + 'ff'.repeat(19), '7f' + 'ff'.repeat(19)],
      ['ff'.repeat(20), '00' + 'ff'.repeat(20)],
    ];
    for (const [input, content] of cases) {
      const der = await selfSigned(key, { commonName: 's' }, { serial: Buffer.from(input, 'hex') });
      const [, serialDer] = [null, `02${(content.length / 2).toString(16).padStart(2, '0')}${content}`];
      expect(der.toString('hex')).toContain(`a003020102${serialDer}`);
      expect(certificateParts(der).serial.toString('hex')).toBe(content.replace(/^00/, ''));
      expect(new X509Certificate(der).serialNumber.toLowerCase()).toBe(content.replace(/^00/, ''));
    }
    await expect(selfSigned(key, { commonName: 's' }, { serial: Buffer.alloc(4) })).rejects.toThrow(/positive/);
    await expect(selfSigned(key, { commonName: 's' }, { serial: Buffer.alloc(21, 1) })).rejects.toThrow(/20 octets/);
  });

  it('randomSerial draws 159-bit positive serials', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const serial = randomSerial();
      expect(serial).toHaveLength(20);
      expect(serial[0] & 0x80).toBe(0);
      expect(serial.some((octet) => octet !== 0)).toBe(true);
      seen.add(serial.toString('hex'));
    }
    expect(seen.size).toBe(200);
  });

  it('serialToVault prints lower-case colon hex without leading zero octets', () => {
    expect(serialToVault(Buffer.from('1a2b3c', 'hex'))).toBe('1a:2b:3c');
    expect(serialToVault(Buffer.from('00000aff', 'hex'))).toBe('0a:ff');
    expect(serialToVault(Buffer.from('7f' + '00'.repeat(19), 'hex'))).toBe('7f' + ':00'.repeat(19));
  });

  it('uses UTCTime through 2049 and GeneralizedTime after, in whole seconds', async () => {
    const der = await selfSigned(key, { commonName: 't' }, { notBefore: new Date('2049-12-31T23:59:59.750Z'), notAfter: new Date('9999-12-31T23:59:59Z') });
    const parsed = workspace.ok(['asn1parse', '-inform', 'DER', '-in', workspace.file('times.der', der)]);
    expect(parsed).toMatch(/UTCTIME\s+:491231235959Z/);
    expect(parsed).toMatch(/GENERALIZEDTIME\s+:99991231235959Z/);
    const parts = certificateParts(der);
    expect(parts.notBefore.toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(parts.notAfter.toISOString()).toBe('9999-12-31T23:59:59.000Z');
    await expect(selfSigned(key, { commonName: 't' }, { notBefore: new Date(2000), notAfter: new Date(1000) })).rejects.toThrow(/before/);
    await expect(selfSigned(key, { commonName: 't' }, { notAfter: new Date(Number.NaN) })).rejects.toThrow(/valid date/);
  });

  it('encodes names in Go order, UTF8String except PrintableString country and serialNumber', async () => {
    const subject: DistinguishedName = {
      commonName: 'Zoë Example',
      organization: ['SecretHub'],
      organizationalUnit: ['Ops', 'Eng'],
      country: ['GB'],
      locality: ['London'],
      province: ['England'],
      streetAddress: ['1 High St'],
      postalCode: ['SW1A 1AA'],
      serialNumber: 'ABC-123',
    };
    const der = await selfSigned(key, subject);
    const text = workspace.ok([
      'x509',
      '-in',
      workspace.file('names.pem', toPem(der, 'CERTIFICATE')),
      '-noout',
      '-subject',
      '-nameopt',
      'oneline,-esc_msb,utf8',
    ]);
    expect(text.trim()).toBe(
      'subject=C = GB, ST = England, L = London, street = 1 High St, postalCode = SW1A 1AA, O = SecretHub, OU = Eng + OU = Ops, CN = Zoë Example, serialNumber = ABC-123',
    );
    const parsed = workspace.ok(['asn1parse', '-inform', 'DER', '-in', workspace.file('names.der', encodeName(subject))]);
    expect(parsed).toMatch(/countryName\s*\n.*PRINTABLESTRING\s+:GB/);
    expect(parsed).toMatch(/serialNumber\s*\n.*PRINTABLESTRING\s+:ABC-123/);
    expect(parsed).toMatch(/commonName\s*\n.*UTF8STRING/);
    expect(parsed).toMatch(/organizationName\s*\n.*UTF8STRING\s+:SecretHub/);
    // The two OUs form one RDN, members in DER SET OF order ("Eng" sorts before "Ops").
    expect(parsed).toMatch(/SET\s*\n.*SEQUENCE\s*\n.*organizationalUnitName\s*\n.*:Eng\s*\n.*SEQUENCE\s*\n.*organizationalUnitName\s*\n.*:Ops/);
    const parts = certificateParts(der);
    expect(parts.subject).toEqual({ ...subject, organizationalUnit: ['Eng', 'Ops'] });
    expect(parts.commonName).toBe('Zoë Example');
    expect(encodeName({})).toEqual(Buffer.from('3000', 'hex'));
    expect(encodeName({ commonName: '', organization: [] })).toEqual(Buffer.from('3000', 'hex'));
    expect(() => encodeName({ country: ['Ü'] })).toThrow(/PrintableString/);
  });

  it('refuses an issuer name that is not one DER element', async () => {
    const spec = {
      serial: randomSerial(),
      subject: { commonName: 'x' },
      publicKey: key.publicKey,
      notBefore: new Date(),
      notAfter: new Date(Date.now() + HOUR),
      isCa: false,
      keyUsage: [],
      extKeyUsage: [],
    };
    await expect(buildCertificate({ ...spec, issuer: { nameDer: Buffer.from('300000', 'hex'), signer: softwareSigner(key.privateKey) } })).rejects.toThrow(
      /trailing/,
    );
    await expect(buildCertificate({ ...spec, issuer: { nameDer: Buffer.from('0400', 'hex'), signer: softwareSigner(key.privateKey) } })).rejects.toThrow(/tag/);
  });
});

describe('key identifiers', () => {
  it.each<[KeyType, number]>([
    ['rsa', 2048],
    ['ec', 224],
    ['ec', 256],
    ['ec', 521],
    ['ed25519', 0],
  ])('subjectKeyIdOf(%s %d) matches OpenSSL subjectKeyIdentifier=hash', async (type, bits) => {
    const key = await generateKeyPair(type, bits);
    const keyFile = workspace.file(`ski-${type}-${bits}.key`, key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const certFile = workspace.path(`ski-${type}-${bits}.pem`);
    workspace.ok(['req', '-new', '-x509', '-key', keyFile, '-subj', '/CN=ski', '-days', '1', '-addext', 'subjectKeyIdentifier=hash', '-out', certFile]);
    const text = workspace.ok(['x509', '-in', certFile, '-noout', '-text']);
    expect(text).toMatch(new RegExp(`Subject Key Identifier: \\s*${opensslHex(subjectKeyIdOf(key.publicKey))}`));
    expect(subjectKeyIdOf(key.privateKey)).toEqual(subjectKeyIdOf(key.publicKey));
  });
});

describe('certificateParts on foreign input', () => {
  it('reads a certificate OpenSSL made', () => {
    const keyFile = workspace.path('foreign.key');
    const certFile = workspace.path('foreign.pem');
    workspace.ok([
      'req',
      '-new',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      '/C=DE/O=Foreign/CN=foreign.example',
      '-days',
      '1',
      '-set_serial',
      '0x00ff',
      '-addext',
      'subjectAltName=DNS:foreign.example,IP:192.0.2.7,email:x@foreign.example',
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:5',
    ]);
    const pem = workspace.ok(['x509', '-in', certFile]);
    const [der] = fromPem(pem, 'CERTIFICATE');
    const parts = certificateParts(der);
    expect(parts.subject).toEqual({ country: ['DE'], organization: ['Foreign'], commonName: 'foreign.example' });
    expect(parts.serial.toString('hex')).toBe('ff');
    expect(parts.dnsNames).toEqual(['foreign.example']);
    expect(parts.ipAddresses).toEqual(['192.0.2.7']);
    expect(parts.emails).toEqual(['x@foreign.example']);
    expect(parts.isCa).toBe(true);
    expect(parts.maxPathLength).toBe(5);
  });

  it('throws on garbage, trailing bytes and truncation', async () => {
    const key = await generateKeyPair('ec', 256);
    const der = await selfSigned(key, { commonName: 'g' });
    expect(() => certificateParts(Buffer.from('not a certificate'))).toThrow();
    expect(() => certificateParts(Buffer.alloc(0))).toThrow();
    expect(() => certificateParts(Buffer.concat([der, Buffer.from([0])]))).toThrow(/trailing/);
    expect(() => certificateParts(der.subarray(0, der.length - 10))).toThrow(/truncated/);
  });
});

describe('PEM', () => {
  it('round-trips blocks, in order, ignoring other labels', () => {
    const a = Buffer.from('a'.repeat(100));
    const b = Buffer.from([1, 2, 3]);
    const pem = toPem(a, 'CERTIFICATE');
    expect(pem.split('\n')[1]).toHaveLength(64);
    expect(pem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
    const bundle = `junk\n${pem}${toPem(Buffer.from('crl'), 'X509 CRL')}\r\n${toPem(b, 'CERTIFICATE').replace(/\n/g, '\r\n')}`;
    expect(fromPem(bundle, 'CERTIFICATE')).toEqual([a, b]);
    expect(fromPem(bundle, 'X509 CRL')).toEqual([Buffer.from('crl')]);
    expect(fromPem(bundle, 'CERTIFICATE REQUEST')).toEqual([]);
  });

  it('throws on unterminated blocks and non-base64 bodies', () => {
    expect(() => fromPem('-----BEGIN CERTIFICATE-----\nAAAA\n', 'CERTIFICATE')).toThrow(/not terminated/);
    expect(() => fromPem('-----BEGIN CERTIFICATE-----\nA*AA\n-----END CERTIFICATE-----\n', 'CERTIFICATE')).toThrow(/base64/);
    expect(() => fromPem('-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n', 'CERTIFICATE')).toThrow(/base64/);
  });
});
