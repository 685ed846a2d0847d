/**
 * The `cert` auth method through the audited pipeline, with client certificates from the `pki`
 * engine handed to the pipeline as the connection's certificate: login, each reason a certificate
 * is refused (security.md "PKI and mTLS"), CRLs, and renewals bound to the login certificate.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { buildCertificate, certificateParts, EKU, randomSerial, toPem } from '../../src/crypto/x509/certificate';
import { buildCsr } from '../../src/crypto/x509/csr';
import { softwareSigner } from '../../src/crypto/signer';
import { generateKeyPair, type KeyPair } from '../../src/crypto/x509/keys';
import type { PeerCertificate } from '../../src/framework/route';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(60_000);

const INVALID = ['invalid certificate or no client certificate supplied'];
const der = (pem: string) => Buffer.from(new X509Certificate(pem).raw);
const peer = (pem: string): PeerCertificate => ({ der: der(pem), chainDer: [], authorized: false });

describe('cert auth method (medium)', () => {
  let k: TestKernel;
  let call: Call;
  let rootPem: string;
  let rootKeyPem: string;
  let appKey: KeyPair;

  /** A certificate for `commonName` signed by the pki role `role` from a CSR of `key`. */
  const signed = async (role: string, commonName: string, key: KeyPair): Promise<string> => {
    const res = await call('PUT', `pki/sign/${role}`, {
      csr: toPem(await buildCsr({ commonName }, softwareSigner(key.privateKey)), 'CERTIFICATE REQUEST'),
      ttl: '1h',
    });
    expect(res.status).toBe(200);
    return res.json.data.certificate;
  };
  const login = (cert?: string, body: Record<string, unknown> = {}) => call('PUT', 'auth/cert/login', body, '', cert ? { peerCertificate: peer(cert) } : {});

  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel());
    expect((await call('PUT', 'sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: '87600h' } })).status).toBe(204);
    const root = await call('PUT', 'pki/root/generate/exported', { common_name: 'Clients Root', ttl: '8760h', key_type: 'ec', key_bits: 256 });
    ({ certificate: rootPem, private_key: rootKeyPem } = root.json.data);
    expect((await call('PUT', 'pki/roles/client', { allow_any_name: true, server_flag: false, client_flag: true, key_type: 'ec', key_bits: 256 })).status).toBe(
      204,
    );
    expect((await call('PUT', 'pki/roles/server', { allow_any_name: true, server_flag: true, client_flag: false, key_type: 'ec', key_bits: 256 })).status).toBe(
      204,
    );
    expect((await call('PUT', 'sys/auth/cert', { type: 'cert' })).status).toBe(204);
    expect(
      (await call('PUT', 'auth/cert/certs/app', { certificate: rootPem, allowed_common_names: ['app1'], token_policies: ['reader'], token_ttl: '1h' })).status,
    ).toBe(204);
    appKey = await generateKeyPair('ec', 256);
  });
  afterAll(async () => k.close());

  it('certs/:name: Vault read shape, LIST, bad certificate refused', async () => {
    const read = await call('GET', 'auth/cert/certs/app');
    expect(read.json.data).toMatchObject({
      certificate: rootPem,
      display_name: 'app',
      allowed_common_names: ['app1'],
      token_policies: ['reader'],
      token_ttl: 3600,
      ocsp_enabled: false,
    });
    expect((await call('GET', 'auth/cert/certs?list=true')).json.data.keys).toEqual(['app']);
    const bad = await call('PUT', 'auth/cert/certs/bad', { certificate: 'hello' });
    expect([bad.status, bad.json.errors]).toEqual([400, ['failed to parse certificate: no PEM CERTIFICATE block']]);
    expect((await call('GET', 'auth/cert/certs/bad')).status).toBe(404);
  });

  it("a certificate the role trusts logs in, with Vault's metadata", async () => {
    const cert = await signed('client', 'app1', appKey);
    const res = await login(cert);
    expect(res.status).toBe(200);
    const parts = certificateParts(der(cert));
    expect(res.json.auth).toMatchObject({ renewable: true, lease_duration: 3600 });
    expect([...res.json.auth.policies].sort()).toEqual(['default', 'reader']);
    expect(res.json.auth.metadata).toEqual({
      cert_name: 'app',
      common_name: 'app1',
      serial_number: BigInt(`0x${parts.serial.toString('hex')}`).toString(10),
      subject_key_id: Array.from(parts.subjectKeyId!, (b) => b.toString(16).padStart(2, '0')).join(':'),
      authority_key_id: Array.from(parts.authorityKeyId!, (b) => b.toString(16).padStart(2, '0')).join(':'),
    });
    const self = await call('GET', 'auth/token/lookup-self', undefined, res.json.auth.client_token);
    expect(self.json.data).toMatchObject({ display_name: 'cert-app', path: 'auth/cert/login' });
    // By name: the named entry only.
    expect((await login(cert, { name: 'app' })).status).toBe(200);
    expect((await login(cert, { name: 'other' })).json.errors).toEqual(INVALID);
  });

  it('refused alike: no certificate, another CN with the same key, no clientAuth, expired, untrusted issuer', async () => {
    expect([(await login()).status, (await login()).json.errors]).toEqual([400, INVALID]);
    const sameKeyOtherCn = await signed('client', 'app2', appKey);
    expect((await login(sameKeyOtherCn)).json.errors).toEqual(INVALID);
    const serverOnly = await signed('server', 'app1', await generateKeyPair('ec', 256));
    expect(new X509Certificate(serverOnly).toLegacyObject().ext_key_usage).toEqual([EKU.serverAuth]);
    expect((await login(serverOnly)).json.errors).toEqual(INVALID);
    // Expired: signed by the real root key, in the past.
    const root = certificateParts(der(rootPem));
    const key = await generateKeyPair('ec', 256);
    const expired = await buildCertificate({
      serial: randomSerial(),
      subject: { commonName: 'app1' },
      issuer: { nameDer: root.subjectNameDer, signer: softwareSigner(createPrivateKey(rootKeyPem)), subjectKeyId: root.subjectKeyId },
      publicKey: key.publicKey,
      notBefore: new Date(Date.now() - 7200_000),
      notAfter: new Date(Date.now() - 3600_000),
      isCa: false,
      keyUsage: ['digitalSignature'],
      extKeyUsage: [EKU.clientAuth],
    });
    expect((await login(toPem(expired, 'CERTIFICATE'))).json.errors).toEqual(INVALID);
    // Self-signed with the name and key of a trusted client: no chain.
    const selfSigned = await buildCertificate({
      serial: randomSerial(),
      subject: { commonName: 'app1' },
      issuer: { nameDer: root.subjectNameDer, signer: softwareSigner(appKey.privateKey) },
      publicKey: appKey.publicKey,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3600_000),
      isCa: false,
      keyUsage: [],
      extKeyUsage: [EKU.clientAuth],
    });
    expect((await login(toPem(selfSigned, 'CERTIFICATE'))).json.errors).toEqual(INVALID);
  });

  it('a certificate on a stored CRL is refused at once; the CRL reads back its serials', async () => {
    const cert = await signed('client', 'app1', await generateKeyPair('ec', 256));
    expect((await login(cert)).status).toBe(200);
    const serial = certificateParts(der(cert)).serial;
    const hexSerial = Array.from(serial, (b) => b.toString(16).padStart(2, '0')).join(':');
    expect((await call('PUT', 'pki/revoke', { serial_number: hexSerial })).status).toBe(200);
    const crl = (await call('GET', 'pki/crl/pem', undefined, '')).body as string;
    expect((await call('PUT', 'auth/cert/crls/pki', { crl })).status).toBe(204);
    expect((await login(cert)).json.errors).toEqual(INVALID);
    expect((await call('GET', 'auth/cert/crls/pki')).json.data.serials).toEqual({ [BigInt(`0x${serial.toString('hex')}`).toString(10)]: {} });
    expect((await call('GET', 'auth/cert/crls?list=true')).json.data.keys).toEqual(['pki']);
    expect((await call('PUT', 'auth/cert/crls/bad', { crl: 'nope' })).status).toBe(400);
    // Another certificate of the same CA still logs in.
    expect((await login(await signed('client', 'app1', await generateKeyPair('ec', 256)))).status).toBe(200);
  });

  it('renewal needs the login certificate: another one with the same key and CN, or none, gets 403', async () => {
    const first = await signed('client', 'app1', appKey);
    const second = await signed('client', 'app1', appKey);
    const token = (await login(first)).json.auth.client_token as string;
    const renew = (cert?: string) => call('PUT', 'auth/token/renew-self', { increment: '30m' }, token, cert ? { peerCertificate: peer(cert) } : {});
    expect((await renew(first)).status).toBe(200);
    expect([(await renew(second)).status, (await renew(second)).json.errors]).toEqual([403, ['permission denied']]);
    expect((await renew()).status).toBe(403);
    // renew by accessor from a connection without the certificate: the same check.
    const accessor = (await call('GET', 'auth/token/lookup-self', undefined, token)).json.data.accessor;
    expect((await call('PUT', 'auth/token/renew-accessor', { accessor })).status).toBe(403);
    expect((await call('PUT', 'auth/cert/config', { disable_binding: true })).status).toBe(204);
    expect((await call('GET', 'auth/cert/config')).json.data).toEqual({ disable_binding: true });
    expect((await renew()).status).toBe(200);
    expect((await call('PUT', 'auth/cert/config', { disable_binding: false })).status).toBe(204);
    // Policies changed on the entry: no renewal; entry deleted: none either.
    expect((await call('PUT', 'auth/cert/certs/app', { token_policies: ['reader', 'writer'] })).status).toBe(204);
    expect([(await renew(first)).status, (await renew(first)).json.errors]).toEqual([400, ['policies have changed, not renewing']]);
    expect((await call('PUT', 'auth/cert/certs/app', { token_policies: ['reader'] })).status).toBe(204);
    expect((await renew(first)).status).toBe(200);
    expect((await call('DELETE', 'auth/cert/certs/app')).status).toBe(204);
    expect((await renew(first)).status).toBe(403);
    expect(
      (await call('PUT', 'auth/cert/certs/app', { certificate: rootPem, allowed_common_names: ['app1'], token_policies: ['reader'], token_ttl: '1h' })).status,
    ).toBe(204);
  });

  it('userpass tokens renew as before (other methods are not asked for a certificate)', async () => {
    expect((await call('PUT', 'sys/auth/userpass', { type: 'userpass' })).status).toBe(204);
    expect((await call('PUT', 'auth/userpass/users/u', { password: 'pw-123456' })).status).toBe(204);
    const token = (await call('PUT', 'auth/userpass/login/u', { password: 'pw-123456' }, '')).json.auth.client_token;
    expect((await call('PUT', 'auth/token/renew-self', {}, token)).status).toBe(200);
  });
});
