import { buildCertificate, encodeName, randomSerial, toPem, type CertificateParts } from '../../crypto/x509/certificate';
import { softwareSigner } from '../../crypto/signer';
import { generateKeyPair } from '../../crypto/x509/keys';
import { defaultTokenParams } from '../../shared/token/token-params';
import { applyCertRole, type CertRole } from './cert-role';
import { matchesConstraints } from './cert-match';

/** A UTF8String "prod" and an OCTET STRING, as DER. */
const UTF8_PROD = Buffer.from([0x0c, 0x04, ...Buffer.from('prod')]);
const OCTETS = Buffer.from([0x04, 0x02, 0xab, 0xcd]);

function parts(over: Partial<CertificateParts>): CertificateParts {
  return {
    commonName: 'app.example.com',
    dnsNames: [],
    emails: [],
    uris: [],
    subject: { commonName: 'app.example.com' },
    rawExtensions: [],
    ...over,
  } as CertificateParts;
}

function role(d: Partial<CertRole>): CertRole {
  const none = {
    allowedNames: [],
    allowedCommonNames: [],
    allowedDnsSans: [],
    allowedEmailSans: [],
    allowedUriSans: [],
    allowedOrganizationalUnits: [],
    requiredExtensions: [],
  };
  return { name: 'r', certificatePem: '', displayName: 'r', tokenParams: defaultTokenParams(), ...none, ...d };
}

async function caPem(): Promise<string> {
  const key = await generateKeyPair('ec', 256);
  const subject = { commonName: 'CA' };
  const der = await buildCertificate({
    serial: randomSerial(),
    subject,
    issuer: { nameDer: encodeName(subject), signer: softwareSigner(key.privateKey) },
    publicKey: key.publicKey,
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 3600e3),
    isCa: true,
    keyUsage: ['keyCertSign'],
    extKeyUsage: [],
  });
  return toPem(der, 'CERTIFICATE');
}

describe('matchesConstraints', () => {
  it('empty constraints allow anything', () => {
    expect(matchesConstraints(parts({}), role({}))).toBe(true);
  });

  it('common names, DNS, email and URI SANs and OUs by glob, case-sensitive', () => {
    expect(matchesConstraints(parts({}), role({ allowedCommonNames: ['*.example.com'] }))).toBe(true);
    expect(matchesConstraints(parts({}), role({ allowedCommonNames: ['*.Example.com'] }))).toBe(false);
    expect(matchesConstraints(parts({ commonName: 'evil-example.com' }), role({ allowedCommonNames: ['*.example.com'] }))).toBe(false);
    expect(matchesConstraints(parts({ dnsNames: ['a.svc', 'b.other'] }), role({ allowedDnsSans: ['*.svc'] }))).toBe(true);
    expect(matchesConstraints(parts({ dnsNames: [] }), role({ allowedDnsSans: ['*'] }))).toBe(false);
    expect(matchesConstraints(parts({ emails: ['ops@example.com'] }), role({ allowedEmailSans: ['*@example.com'] }))).toBe(true);
    expect(matchesConstraints(parts({ uris: ['spiffe://prod/app'] }), role({ allowedUriSans: ['spiffe://prod/*'] }))).toBe(true);
    expect(matchesConstraints(parts({ uris: ['spiffe://dev/app'] }), role({ allowedUriSans: ['spiffe://prod/*'] }))).toBe(false);
    expect(matchesConstraints(parts({ subject: { organizationalUnit: ['Payments'] } }), role({ allowedOrganizationalUnits: ['Pay*'] }))).toBe(true);
    expect(matchesConstraints(parts({}), role({ allowedOrganizationalUnits: ['Pay*'] }))).toBe(false);
  });

  it('allowed_names: the common name, a DNS or an email SAN', () => {
    expect(matchesConstraints(parts({ commonName: 'x', dnsNames: ['db.internal'] }), role({ allowedNames: ['*.internal'] }))).toBe(true);
    expect(matchesConstraints(parts({ commonName: 'x', uris: ['db.internal'] }), role({ allowedNames: ['*.internal'] }))).toBe(false);
  });

  it('required extensions: string value by glob, hex by glob, absent fails', () => {
    const withExt = parts({
      rawExtensions: [
        { oid: '1.2.3.4', value: UTF8_PROD },
        { oid: '1.2.3.5', value: OCTETS },
      ],
    });
    expect(matchesConstraints(withExt, role({ requiredExtensions: ['1.2.3.4:prod'] }))).toBe(true);
    expect(matchesConstraints(withExt, role({ requiredExtensions: ['1.2.3.4:pr*'] }))).toBe(true);
    expect(matchesConstraints(withExt, role({ requiredExtensions: ['1.2.3.4:dev'] }))).toBe(false);
    expect(matchesConstraints(withExt, role({ requiredExtensions: ['hex:1.2.3.5:0402ABCD'] }))).toBe(true);
    // Not a string: its value reads as "".
    expect(matchesConstraints(withExt, role({ requiredExtensions: ['1.2.3.5:*'] }))).toBe(true);
    expect(matchesConstraints(withExt, role({ requiredExtensions: ['1.2.3.5:?*'] }))).toBe(false);
    expect(matchesConstraints(withExt, role({ requiredExtensions: ['1.2.3.4:prod', '1.2.3.6:*'] }))).toBe(false);
  });
});

describe('applyCertRole', () => {
  it('refuses a write without a parseable certificate, bad required_extensions and OCSP', () => {
    expect(() => applyCertRole('r', undefined, {})).toThrow('missing certificate');
    expect(() => applyCertRole('r', undefined, { certificate: 'not pem' })).toThrow('failed to parse certificate');
    expect(() => applyCertRole('r', undefined, { certificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' })).toThrow(
      'failed to parse certificate',
    );
    expect(() => applyCertRole('r', undefined, { certificate: 'x', ocsp_enabled: true })).toThrow('failed to parse certificate');
  });

  it('keeps what a write does not name, rejects malformed required_extensions and OCSP', async () => {
    const pem = await caPem();
    const first = applyCertRole('r', undefined, { certificate: pem, allowed_common_names: ['a'], token_policies: ['p'] });
    expect(first).toMatchObject({ name: 'r', displayName: 'r', allowedCommonNames: ['a'], tokenParams: { policies: ['p'] } });
    expect(applyCertRole('r', first, { allowed_dns_sans: ['*.svc'] })).toMatchObject({
      certificatePem: pem,
      allowedCommonNames: ['a'],
      allowedDnsSans: ['*.svc'],
    });
    expect(() => applyCertRole('r', first, { required_extensions: ['nodots:x'] })).toThrow('invalid required_extensions entry');
    expect(() => applyCertRole('r', first, { required_extensions: ['hex:1.2.3'] })).toThrow('invalid required_extensions entry');
    expect(applyCertRole('r', first, { required_extensions: ['1.2.3:a:b', 'hex:1.2.3:ab*'] }).requiredExtensions).toHaveLength(2);
    expect(() => applyCertRole('r', first, { ocsp_enabled: true })).toThrow('ocsp_enabled is not supported');
  });
});
