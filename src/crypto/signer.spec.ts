import { generateKeyPairSync, verify, X509Certificate } from 'node:crypto';
import { softwareSigner } from './signer';
import { buildCertificate, encodeName, randomSerial } from './x509/certificate';
import { defaultSignatureHash, signatureSchemeFor, signWithScheme } from './x509/signing';

describe('softwareSigner', () => {
  it('is one Signer per private key, its publicKey the public half', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const signer = softwareSigner(privateKey);
    expect(softwareSigner(privateKey)).toBe(signer);
    expect(signer.publicKey.type).toBe('public');
    expect(signer.publicKey.equals(publicKey)).toBe(true);
    expect(() => softwareSigner(publicKey)).toThrow(/private key/);
  });

  it('schemes chosen from the public key equal those chosen from the private key', () => {
    for (const [type, options] of [
      ['rsa', { modulusLength: 2048 }],
      ['ec', { namedCurve: 'P-256' }],
      ['ec', { namedCurve: 'P-384' }],
      ['ec', { namedCurve: 'P-521' }],
      ['ed25519', {}],
    ] as const) {
      const { privateKey, publicKey } = generateKeyPairSync(type as 'ec', options as { namedCurve: string });
      expect(defaultSignatureHash(publicKey)).toBe(defaultSignatureHash(privateKey));
      expect(signatureSchemeFor(publicKey)).toBe(signatureSchemeFor(privateKey));
    }
  });

  it('signs as signWithScheme does: DER ECDSA, PKCS#1 v1.5 and PSS, raw Ed25519', async () => {
    const data = Buffer.from('to be signed');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaSigner = softwareSigner(rsa.privateKey);
    const pkcs1 = signatureSchemeFor(rsaSigner.publicKey, 'sha384');
    expect((await rsaSigner.sign(pkcs1, data)).equals(signWithScheme(pkcs1, rsa.privateKey, data))).toBe(true);
    const pss = signatureSchemeFor(rsaSigner.publicKey, 'sha256', true);
    expect(verify('sha256', data, { key: rsa.publicKey, padding: 6, saltLength: 32 }, await rsaSigner.sign(pss, data))).toBe(true);

    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecSigner = softwareSigner(ec.privateKey);
    const ecSignature = await ecSigner.sign(signatureSchemeFor(ecSigner.publicKey), data);
    expect(ecSignature[0]).toBe(0x30);
    expect(verify('sha256', data, ec.publicKey, ecSignature)).toBe(true);

    const ed = generateKeyPairSync('ed25519');
    const edSigner = softwareSigner(ed.privateKey);
    const edSignature = await edSigner.sign(signatureSchemeFor(edSigner.publicKey), data);
    expect(edSignature).toHaveLength(64);
    expect(verify(null, data, ed.publicKey, edSignature)).toBe(true);
  });

  it('a bad scheme rejects rather than throwing synchronously', async () => {
    const ed = generateKeyPairSync('ed25519');
    const signer = softwareSigner(ed.privateKey);
    await expect(signer.sign({ algorithmDer: Buffer.alloc(0), hash: 'sha256', pss: true }, Buffer.from('x'))).rejects.toThrow();
  });

  it('builds a certificate node verifies', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const subject = { commonName: 'signer' };
    const der = await buildCertificate({
      serial: randomSerial(),
      subject,
      issuer: { nameDer: encodeName(subject), signer: softwareSigner(privateKey) },
      publicKey,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3600_000),
      isCa: true,
      keyUsage: ['keyCertSign'],
      extKeyUsage: [],
    });
    expect(new X509Certificate(der).verify(publicKey)).toBe(true);
  });
});
