/**
 * Signing with keys on a PKCS#11 token (src/hsm/pkcs11-signer.ts) against SoftHSM2: keys generated
 * on the token stay there, and certificates and CRLs built by the X.509 code through the token's
 * Signer verify with openssl and node. No database.
 */
import { constants, verify, X509Certificate } from 'node:crypto';
import { buildCertificate, encodeName, randomSerial, toPem } from '../../src/crypto/x509/certificate';
import { buildCrl, parseCrl } from '../../src/crypto/x509/crl';
import { signatureSchemeFor } from '../../src/crypto/x509/signing';
import { HsmError } from '../../src/hsm/hsm-error';
import { pkcs11Signer } from '../../src/hsm/pkcs11-signer';
import { Pkcs11Token, type Pkcs11KeyRef } from '../../src/hsm/pkcs11-token';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, useSoftHsmConf, type SoftHsmToken } from '../support/softhsm';
import { opensslFiles } from '../support/x509-openssl';

const PIN = 'signer-pin-1234';
const SO_PIN = 'signer-so-5678';

describeWithSoftHsm('Signer over PKCS#11 keys on SoftHSM2', () => {
  let hsm: SoftHsmToken;
  let token: Pkcs11Token;
  const { file, openssl } = opensslFiles('secrethub-hsm-signer-');

  beforeAll(async () => {
    hsm = createSoftHsmToken({ label: 'hsm-signer', pin: PIN, soPin: SO_PIN });
    useSoftHsmConf(hsm.conf);
    token = new Pkcs11Token({ lib: SOFTHSM_LIB, tokenLabel: 'hsm-signer', pin: PIN });
    await token.open();
  });

  afterAll(async () => {
    await token?.close();
    hsm?.cleanup();
  });

  const selfSigned = async (ref: Pkcs11KeyRef, name: string, usePss = false) => {
    const signer = await pkcs11Signer(token, ref);
    const subject = { commonName: name };
    const der = await buildCertificate({
      serial: randomSerial(),
      subject,
      issuer: { nameDer: encodeName(subject), signer },
      publicKey: signer.publicKey,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3600_000),
      isCa: true,
      keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
      extKeyUsage: [],
      usePss,
    });
    return { signer, der, pem: file(`${name}.pem`, toPem(der, 'CERTIFICATE')) };
  };

  describe.each<[string, 'ec' | 'rsa', number, string, (label: string) => Promise<Pkcs11KeyRef>]>([
    ['EC P-256', 'ec', 256, 'ecdsa-with-SHA256', (label) => token.generateEcKeyPair(label, 'P-256')],
    ['EC P-384', 'ec', 384, 'ecdsa-with-SHA384', (label) => token.generateEcKeyPair(label, 'P-384')],
    ['EC P-521', 'ec', 521, 'ecdsa-with-SHA512', (label) => token.generateEcKeyPair(label, 'P-521')],
    ['RSA-2048', 'rsa', 2048, 'sha256WithRSAEncryption', (label) => token.generateRsaKeyPair(label, 2048)],
  ])('%s', (name, type, bits, algorithm, generate) => {
    const slug = name.replace(/\W+/g, '-').toLowerCase();
    let ref: Pkcs11KeyRef;

    beforeAll(async () => {
      ref = await generate(`ca-${slug}`);
    });

    it('is generated on the token, sensitive and not extractable, and found again by label', async () => {
      expect(ref.class).toBe(type);
      expect(await token.keyInfo(ref)).toMatchObject({ label: `ca-${slug}`, keyType: type, bits, sensitive: true, extractable: false });
      expect(await token.findKey({ label: `ca-${slug}` })).toEqual(ref);
      const publicKey = await token.publicKey(ref);
      expect(publicKey.asymmetricKeyType).toBe(type);
    });

    it('signs a self-signed certificate that openssl and node verify', async () => {
      const { signer, der, pem } = await selfSigned(ref, `self-${slug}`);
      const verified = openssl('verify', '-x509_strict', '-CAfile', pem, pem);
      expect(verified).toEqual({ ok: true, out: expect.stringContaining(': OK') });
      expect(openssl('x509', '-in', pem, '-noout', '-text').out).toContain(`Signature Algorithm: ${algorithm}`);
      const cert = new X509Certificate(der);
      expect(cert.verify(signer.publicKey)).toBe(true);
      expect(cert.publicKey.equals(signer.publicKey)).toBe(true);
    });

    it('signs a CRL that openssl verifies', async () => {
      const { signer, der: caDer, pem } = await selfSigned(ref, `crl-ca-${slug}`);
      const crl = await buildCrl({
        issuerCertDer: caDer,
        issuerSigner: signer,
        thisUpdate: new Date(),
        nextUpdate: new Date(Date.now() + 3600_000),
        crlNumber: 3n,
        revoked: [{ serial: Buffer.from('0badc0de', 'hex'), revokedAt: new Date(Math.floor(Date.now() / 1000) * 1000) }],
      });
      const crlFile = file(`${slug}.crl.der`, crl);
      const checked = openssl('crl', '-in', crlFile, '-inform', 'DER', '-CAfile', pem, '-noout');
      expect(checked).toEqual({ ok: true, out: expect.stringContaining('verify OK') });
      expect(parseCrl(crl).crlNumber).toBe(3n);
    });
  });

  it('RSA-PSS: a certificate signed with CKM_SHA256_RSA_PKCS_PSS verifies with openssl', async () => {
    const ref = await token.generateRsaKeyPair('ca-pss', 2048);
    const { signer, der, pem } = await selfSigned(ref, 'self-pss', true);
    expect(openssl('x509', '-in', pem, '-noout', '-text').out).toContain('Signature Algorithm: rsassaPss');
    expect(openssl('verify', '-CAfile', pem, pem)).toEqual({ ok: true, out: expect.stringContaining(': OK') });
    expect(new X509Certificate(der).verify(signer.publicKey)).toBe(true);
    const data = Buffer.from('pss data');
    for (const hash of ['sha384', 'sha512'] as const) {
      const signature = await signer.sign(signatureSchemeFor(signer.publicKey, hash, true), data);
      const saltLength = hash === 'sha384' ? 48 : 64;
      expect(verify(hash, data, { key: signer.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature)).toBe(true);
    }
  });

  it('signs concurrently without the operations meeting on the session', async () => {
    const ref = await token.generateEcKeyPair('concurrent', 'P-256');
    const signer = await pkcs11Signer(token, ref);
    const scheme = signatureSchemeFor(signer.publicKey);
    const messages = Array.from({ length: 12 }, (_, i) => Buffer.from(`message ${i}`));
    const [signatures, info] = await Promise.all([Promise.all(messages.map((m) => signer.sign(scheme, m))), token.keyInfo(ref)]);
    expect(info.sensitive).toBe(true);
    signatures.forEach((signature, i) => expect(verify('sha256', messages[i], signer.publicKey, signature)).toBe(true));
  });

  it('refuses what the key cannot do with one-line HsmErrors', async () => {
    const ec = await token.generateEcKeyPair('refusals', 'P-256');
    const aes = await token.generateAesKey('refusals-aes');
    const signer = await pkcs11Signer(token, ec);
    const expectHsm = async (promise: Promise<unknown>, kind: string, message: RegExp) => {
      const err = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(HsmError);
      expect(err).toMatchObject({ kind, message: expect.stringMatching(message) });
      expect((err as Error).message).not.toContain('\n');
      expect((err as Error).message).not.toContain(PIN);
    };
    await expectHsm(pkcs11Signer(token, aes), 'mechanism', /secret key/);
    await expectHsm(token.sign(ec, { algorithm: 'rsa-pkcs1', hash: 'sha256' }, Buffer.from('x')), 'mechanism', /needs an RSA key/);
    await expectHsm(signer.sign({ algorithmDer: Buffer.alloc(0), hash: null, pss: false }, Buffer.from('x')), 'mechanism', /without a digest/);
    await expectHsm(signer.sign({ algorithmDer: Buffer.alloc(0), hash: 'sha256', pss: true }, Buffer.from('x')), 'mechanism', /does not fit/);
    await expectHsm(token.publicKey(aes), 'mechanism', /needs an RSA key or an EC key/);
  });
});
