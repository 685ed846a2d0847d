/**
 * PKI CAs whose key never leaves the HSM (Vault Enterprise's `…/generate/kms`), on SoftHSM2 with
 * the real kernel and database, every certificate, CRL and OCSP answer checked by openssl: a root on
 * an EC P-256 managed key and one on an RSA-2048 managed key issue leaves, CRLs and OCSP answers
 * signed on the token; the mount stores only the managed key's id; a mount not allowed to use the
 * key is refused; with the token gone, signing answers one clear 500 and writes nothing, and works
 * again once the token is back.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Pkcs11Token } from '../../src/hsm/pkcs11-token';
import { auditedPipeline, type Call } from '../support/audit';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, useSoftHsmConf, type SoftHsmToken } from '../support/softhsm';
import { opensslFiles } from '../support/x509-openssl';

jest.setTimeout(120_000);

const PIN = 'pki-kms-4417';
const TOKEN = 'pki-kms';
const { dir, file, openssl } = opensslFiles('secrethub-pki-kms-');

describeWithSoftHsm('pki on managed keys (medium, SoftHSM2, checked with openssl)', () => {
  let token: SoftHsmToken;
  let k: TestKernel;
  let call: Call;
  let ecInfo: unknown;
  let rsaInfo: unknown;
  let rootPem: string;
  let rootFile: string;

  const certRows = async (mount: string) => {
    const uuid = k.mounts.get('secret', mount)!.uuid;
    return Number((await k.dataSource.query('SELECT count(*)::int AS n FROM certificates WHERE mount_uuid = $1', [uuid]))[0].n);
  };
  const crlNumber = (der: Buffer) => openssl('crl', '-in', file('n.crl', der), '-inform', 'DER', '-noout', '-crlnumber').out.trim();
  const ocspCheck = async (mount: string, caFile: string, certPem: string, name: string) => {
    const reqFile = join(dir, `${name}.ocsp-req`);
    const certFile = file(`${name}.pem`, certPem);
    execFileSync('openssl', ['ocsp', '-issuer', caFile, '-cert', certFile, '-reqout', reqFile], { stdio: 'ignore' });
    const res = await call('POST', `${mount}/ocsp`, readFileSync(reqFile), '', { headers: { 'content-type': 'application/ocsp-request' } });
    return {
      res,
      check: () =>
        openssl('ocsp', '-respin', file(`${name}.ocsp-resp`, res.bytes as Buffer), '-issuer', caFile, '-cert', certFile, '-CAfile', caFile, '-no_nonce').out,
    };
  };

  beforeAll(async () => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-4417' });
    useSoftHsmConf(token.conf);
    // The keys are made on the token directly (the registry does not generate EC keys), then closed.
    const hsm = new Pkcs11Token({ lib: SOFTHSM_LIB, tokenLabel: TOKEN, pin: PIN });
    await hsm.open();
    ecInfo = await hsm.keyInfo(await hsm.generateEcKeyPair('pki-ec', 'P-256'));
    rsaInfo = await hsm.keyInfo(await hsm.generateRsaKeyPair('pki-rsa', 2048));
    await hsm.close();

    k = await openTestKernel({ kmsLibraries: [{ type: 'pkcs11', name: 'hsm1', library: SOFTHSM_LIB }] });
    const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await k.seal.submitUnsealKey(init.keys[0].toString('hex'), false);
    call = auditedPipeline(k, init.rootToken);
    const hsmKey = { library: 'hsm1', token_label: TOKEN, pin: PIN };
    expect((await call('PUT', 'sys/managed-keys/pkcs11/pki-ec', { ...hsmKey, key_label: 'pki-ec', mechanism: '0x1041', curve: 'P256' })).status).toBe(204);
    expect((await call('PUT', 'sys/managed-keys/pkcs11/pki-rsa', { ...hsmKey, key_label: 'pki-rsa', mechanism: '0x0001', key_bits: 2048 })).status).toBe(204);
    for (const path of ['pki', 'pki_rsa', 'pki_other'])
      expect((await call('PUT', `sys/mounts/${path}`, { type: 'pki', config: { max_lease_ttl: '87600h' } })).status).toBe(204);
    expect((await call('PUT', 'sys/mounts/pki/tune', { allowed_managed_keys: ['pki-ec'] })).status).toBe(204);
    expect((await call('PUT', 'sys/mounts/pki_rsa/tune', { allowed_managed_keys: ['pki-rsa'] })).status).toBe(204);
    for (const path of ['pki', 'pki_rsa'])
      expect(
        (await call('PUT', `${path}/roles/web`, { allowed_domains: ['example.com'], allow_subdomains: true, max_ttl: '72h', ttl: '1h' })).status,
      ).toBeLessThan(300);
  }, 120_000);

  afterAll(async () => {
    const tokens = join(token?.dir ?? '/nonexistent', 'tokens');
    if (existsSync(`${tokens}.away`)) renameSync(`${tokens}.away`, tokens);
    await k?.close();
    token?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the keys on the token are sensitive and never extractable', () => {
    expect(ecInfo).toMatchObject({ keyType: 'ec', sensitive: true, extractable: false });
    expect(rsaInfo).toMatchObject({ keyType: 'rsa', bits: 2048, sensitive: true, extractable: false });
  });

  it('refuses what it must: no managed key named, a managed key on another type, a mount outside allowed_managed_keys', async () => {
    const missing = await call('PUT', 'pki/root/generate/kms', { common_name: 'x' });
    expect([missing.status, missing.json.errors]).toEqual([400, [expect.stringContaining('missing argument managed_key_name or managed_key_id')]]);
    const both = await call('PUT', 'pki/root/generate/kms', { common_name: 'x', managed_key_name: 'pki-ec', managed_key_id: 'some-id' });
    expect([both.status, both.json.errors]).toEqual([400, ['only one argument of managed_key_name or managed_key_id should be specified']]);
    const exported = await call('PUT', 'pki/root/generate/exported', { common_name: 'x', managed_key_name: 'pki-ec' });
    expect([exported.status, exported.json.errors]).toEqual([400, [expect.stringContaining('a managed key is never exported')]]);
    const other = await call('PUT', 'pki_other/root/generate/kms', { common_name: 'x', managed_key_name: 'pki-ec' });
    expect([other.status, other.json.errors]).toEqual([400, [expect.stringContaining('managed key "pki-ec" is not allowed on mount pki_other/')]]);
    const otherKeys = await call('PUT', 'pki_other/keys/generate/kms', { managed_key_name: 'pki-ec' });
    expect(otherKeys.status).toBe(400);
    expect(await certRows('pki_other')).toBe(0);
  });

  it('root/generate/kms on an EC P-256 managed key: a root openssl verifies, whose key the mount holds only by reference', async () => {
    const root = await call('PUT', 'pki/root/generate/kms', { common_name: 'HSM Root CA', ttl: '87600h', managed_key_name: 'pki-ec', key_name: 'hsm' });
    expect(root.status).toBe(200);
    const d = root.json.data;
    expect(d.private_key).toBeUndefined();
    rootPem = d.certificate;
    rootFile = file('root.pem', rootPem);
    expect(openssl('verify', '-CAfile', rootFile, rootFile).out).toContain('OK');
    expect(new X509Certificate(rootPem).publicKey.asymmetricKeyType).toBe('ec');

    const managedId = (await call('GET', 'sys/managed-keys/pkcs11/pki-ec')).json.data.UUID;
    const key = await call('GET', `pki/key/${d.key_id}`);
    expect(key.json.data).toEqual({ key_id: d.key_id, key_name: 'hsm', key_type: 'ec', managed_key_id: managedId, managed_key_name: 'pki-ec' });
    const [row] = await k.dataSource.query('SELECT private_key_encrypted, managed_key_id FROM pki_keys WHERE key_id = $1', [d.key_id]);
    expect(row).toEqual({ private_key_encrypted: null, managed_key_id: managedId });
    // The CHECK: a row with both, or neither, is refused.
    await expect(k.dataSource.query('UPDATE pki_keys SET private_key_encrypted = $2 WHERE key_id = $1', [d.key_id, Buffer.from('x')])).rejects.toThrow(
      /pki_keys_material_check/,
    );
    // The same managed key again: the key the mount holds already (one row per key).
    const again = await call('PUT', 'pki/keys/generate/kms', { managed_key_id: managedId });
    expect(again.json.data).toMatchObject({ key_id: d.key_id, key_type: 'ec', managed_key_name: 'pki-ec' });
  });

  it('issue and sign: leaves signed on the HSM that openssl verifies', async () => {
    const issued = await call('PUT', 'pki/issue/web', { common_name: 'a.example.com' });
    expect(issued.status).toBe(200);
    expect(openssl('verify', '-CAfile', rootFile, file('leaf.pem', issued.json.data.certificate)).out).toContain('OK');
    const intermediate = await call('PUT', 'pki/intermediate/generate/kms', { common_name: 'HSM CSR', managed_key_name: 'pki-ec' });
    expect(intermediate.status).toBe(200);
    expect(openssl('req', '-in', file('int.csr', intermediate.json.data.csr), '-verify', '-noout').out).toMatch(
      /verify OK|Certificate request self-signature verify OK/,
    );
  });

  it('CRL and OCSP answers are signed on the HSM and verify', async () => {
    const leaf = (await call('PUT', 'pki/issue/web', { common_name: 'revoked.example.com' })).json.data;
    expect((await call('PUT', 'pki/revoke', { serial_number: leaf.serial_number })).status).toBe(200);
    const crl = await call('GET', 'pki/crl', undefined, '');
    expect(crl.status).toBe(200);
    expect(openssl('crl', '-in', file('root.crl', crl.bytes as Buffer), '-inform', 'DER', '-CAfile', rootFile, '-noout').out).toContain('verify OK');
    const crlPem = file('root.crl.pem', (await call('GET', 'pki/crl/pem', undefined, '')).body as string);
    expect(openssl('verify', '-crl_check', '-CRLfile', crlPem, '-CAfile', rootFile, file('revoked.pem', leaf.certificate)).out).toContain(
      'certificate revoked',
    );
    const { res, check } = await ocspCheck('pki', rootFile, leaf.certificate, 'revoked');
    expect(res.status).toBe(200);
    const out = check();
    expect(out).toContain(': revoked');
    expect(out).toContain('Response verify OK');
  });

  it('HSM outage: one clear 500, no certificate row, CRL number kept; all works again once the token is back', async () => {
    const good = (await call('PUT', 'pki/issue/web', { common_name: 'good.example.com' })).json.data;
    const before = await certRows('pki');
    const crlBefore = (await call('GET', 'pki/crl', undefined, '')).bytes as Buffer;
    const numberBefore = crlNumber(crlBefore);
    const tokens = join(token.dir, 'tokens');
    renameSync(tokens, `${tokens}.away`);
    try {
      for (const [method, path, body] of [
        ['PUT', 'pki/issue/web', { common_name: 'b.example.com' }],
        ['PUT', 'pki/issue/web', { common_name: 'c.example.com' }],
        ['GET', 'pki/crl/rotate', undefined],
      ] as const) {
        const res = await call(method, path, body);
        expect([res.status, res.json.errors]).toEqual([500, ['the managed key "pki-ec" is unavailable']]);
        expect(res.body).not.toMatch(/CKR_|softhsm|\.so\b|token/i);
      }
      const { res } = await ocspCheck('pki', rootFile, good.certificate, 'outage');
      expect([res.status, res.headers['content-type']]).toEqual([500, 'application/ocsp-response']);
      // What needs no signature still answers; so does the CRL, the one built before.
      expect((await call('GET', 'pki/ca/pem', undefined, '')).status).toBe(200);
      const crl = await call('GET', 'pki/crl', undefined, '');
      expect([crl.status, crlNumber(crl.bytes as Buffer)]).toEqual([200, numberBefore]);
      expect(await certRows('pki')).toBe(before);
    } finally {
      renameSync(`${tokens}.away`, tokens);
    }
    const number = (der: Buffer) => BigInt(crlNumber(der).replace(/^crlNumber=/i, ''));
    // The rotation that failed left the CRL stale: the next read rebuilds it, with the next number.
    const rebuilt = (await call('GET', 'pki/crl', undefined, '')).bytes as Buffer;
    expect(number(rebuilt)).toBe(number(crlBefore) + 1n);

    const issued = await call('PUT', 'pki/issue/web', { common_name: 'back.example.com' });
    expect(issued.status).toBe(200);
    expect(openssl('verify', '-CAfile', rootFile, file('back.pem', issued.json.data.certificate)).out).toContain('OK');
    expect(await certRows('pki')).toBe(before + 1);
    expect((await call('GET', 'pki/crl/rotate')).status).toBe(200);
    const rotated = (await call('GET', 'pki/crl', undefined, '')).bytes as Buffer;
    expect(openssl('crl', '-in', file('rotated.crl', rotated), '-inform', 'DER', '-CAfile', rootFile, '-noout').out).toContain('verify OK');
    expect(number(rotated)).toBe(number(rebuilt) + 1n);
    const { res, check } = await ocspCheck('pki', rootFile, good.certificate, 'back');
    expect(res.status).toBe(200);
    expect(check()).toContain(': good');
  });

  it('a tune that removes the key from allowed_managed_keys stops its issuer at once', async () => {
    expect((await call('PUT', 'sys/mounts/pki/tune', { allowed_managed_keys: [] })).status).toBe(204);
    const refused = await call('PUT', 'pki/issue/web', { common_name: 'd.example.com' });
    expect([refused.status, refused.json.errors]).toEqual([400, [expect.stringContaining('not allowed on mount pki/')]]);
    expect((await call('PUT', 'sys/mounts/pki/tune', { allowed_managed_keys: ['pki-ec'] })).status).toBe(204);
    expect((await call('PUT', 'pki/issue/web', { common_name: 'd.example.com' })).status).toBe(200);
  });

  it('an RSA-2048 managed key root issues leaves and CRLs that verify', async () => {
    const root = await call('PUT', 'pki_rsa/root/generate/kms', { common_name: 'HSM RSA Root', ttl: '8760h', managed_key_name: 'pki-rsa' });
    expect(root.status).toBe(200);
    const caFile = file('rsa-root.pem', root.json.data.certificate);
    expect(new X509Certificate(root.json.data.certificate).publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(openssl('verify', '-CAfile', caFile, caFile).out).toContain('OK');
    const leaf = await call('PUT', 'pki_rsa/issue/web', { common_name: 'r.example.com' });
    expect(openssl('verify', '-CAfile', caFile, file('rsa-leaf.pem', leaf.json.data.certificate)).out).toContain('OK');
    const crl = await call('GET', 'pki_rsa/crl', undefined, '');
    expect(openssl('crl', '-in', file('rsa.crl', crl.bytes as Buffer), '-inform', 'DER', '-CAfile', caFile, '-noout').out).toContain('verify OK');
    expect((await call('GET', `pki_rsa/key/${root.json.data.key_id}`)).json.data).toMatchObject({ key_type: 'rsa', managed_key_name: 'pki-rsa' });
  });
});
