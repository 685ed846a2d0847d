import { pemBlocks, toPem } from './pem';

describe('pemBlocks', () => {
  it('every block with its label, in order, text between blocks ignored (openssl-style bundles)', () => {
    const text = `Bag Attributes\n${toPem(Buffer.from('key'), 'EC PRIVATE KEY')}subject=/CN=x\n${toPem(Buffer.from('cert'), 'CERTIFICATE')}\n${toPem(Buffer.from('crl'), 'X509 CRL')}`;
    expect(pemBlocks(text)).toEqual([
      { label: 'EC PRIVATE KEY', der: Buffer.from('key') },
      { label: 'CERTIFICATE', der: Buffer.from('cert') },
      { label: 'X509 CRL', der: Buffer.from('crl') },
    ]);
    expect(pemBlocks('no PEM here')).toEqual([]);
  });

  it('refuses an unterminated block, a mismatched END and a body that is not base64', () => {
    expect(() => pemBlocks('-----BEGIN CERTIFICATE-----\nAAAA\n')).toThrow('not terminated');
    expect(() => pemBlocks('-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n')).toThrow('not terminated');
    expect(() => pemBlocks('-----BEGIN CERTIFICATE-----\nAA@A\n-----END CERTIFICATE-----\n')).toThrow('does not hold base64');
  });
});
