/**
 * The `pki` engine through the audited pipeline, with every certificate, CRL and OCSP answer
 * checked by the machine's `openssl`: root and intermediate CAs, issue and sign under a role's name
 * policy, revocation visible in the CRL and over OCSP at once and after a seal/unseal.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';
import { opensslFiles } from '../support/x509-openssl';

jest.setTimeout(120_000);

const { dir, file, openssl } = opensslFiles('secrethub-pki-');
/** Vault's warning when root/sign-intermediate cut an intermediate to its issuer's notAfter. */
const TRUNCATED = "the signed intermediary CA certificate's notAfter was truncated to the issuer's notAfter";
/** Seconds from now to a certificate's notAfter. */
const secondsLeft = (pem: string) => (new Date(new X509Certificate(pem).validTo).getTime() - Date.now()) / 1000;

describe('pki engine (medium, checked with openssl)', () => {
  let k: TestKernel;
  let call: Call;
  let key: string;
  let rootPem: string;

  beforeAll(async () => {
    ({ k, call, key } = await openAuditedKernel());
    for (const path of ['pki', 'pki_int']) {
      expect((await call('PUT', `sys/mounts/${path}`, { type: 'pki', config: { max_lease_ttl: '87600h' } })).status).toBe(204);
    }
    const root = await call('PUT', 'pki/root/generate/internal', { common_name: 'Example Root CA', ttl: '87600h', key_type: 'ec', key_bits: 256 });
    expect(root.status).toBe(200);
    expect(root.json.data.private_key).toBeUndefined();
    rootPem = root.json.data.certificate;
    expect(
      (
        await call('PUT', 'pki/config/urls', {
          issuing_certificates: ['http://127.0.0.1:8200/v1/pki/ca'],
          crl_distribution_points: ['http://127.0.0.1:8200/v1/pki/crl'],
        })
      ).status,
    ).toBe(204);
    expect((await call('PUT', 'pki/roles/web', { allowed_domains: ['example.com'], allow_subdomains: true, max_ttl: '72h', ttl: '1h' })).status).toBe(204);
  });
  afterAll(async () => k.close());

  it('root CA: self-signed, a CA, served as DER, PEM and JSON without a token', async () => {
    const rootFile = file('root.pem', rootPem);
    expect(openssl('verify', '-CAfile', rootFile, rootFile).out).toContain('OK');
    const text = openssl('x509', '-in', rootFile, '-noout', '-text').out;
    expect(text).toMatch(/CA:TRUE/);
    expect(text).toContain('Example Root CA');
    const der = await call('GET', 'pki/ca', undefined, '');
    expect([der.status, der.headers['content-type']]).toEqual([200, 'application/pkix-cert']);
    expect(new X509Certificate(der.bytes as Buffer).toString().trim()).toBe(rootPem.trim());
    expect((await call('GET', 'pki/ca/pem', undefined, '')).body?.trim()).toBe(rootPem.trim());
    expect((await call('GET', 'pki/cert/ca', undefined, '')).json.data.certificate.trim()).toBe(rootPem.trim());
    // The CA key is barrier ciphertext in pki_keys (none left in certificates): nothing there parses as a private key.
    const [{ sealed }] = await k.dataSource.query(
      'SELECT k.private_key_encrypted AS sealed FROM pki_keys k JOIN pki_issuers i USING (mount_uuid, key_id) WHERE i.certificate_pem = $1',
      [rootPem],
    );
    expect(Buffer.isBuffer(sealed) && sealed.length > 32).toBe(true);
    expect(() => createPrivateKey({ key: sealed, format: 'der', type: 'pkcs8' })).toThrow();
    // `certificates` no longer has a key column (migration 1734030000000).
    expect(
      await k.dataSource.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'certificates' AND column_name = 'private_key_encrypted'"),
    ).toEqual([]);
  });

  it("issue: a key and a certificate that openssl verifies, with the role's names and usages", async () => {
    const res = await call('PUT', 'pki/issue/web', { common_name: 'a.example.com', alt_names: ['b.example.com'], ip_sans: ['127.0.0.1'] });
    expect(res.status).toBe(200);
    const d = res.json.data;
    // 159 random bits: a leading zero byte (1 in 128) is not written, as in any INTEGER.
    expect(d).toMatchObject({
      issuing_ca: rootPem,
      ca_chain: [rootPem],
      private_key_type: 'rsa',
      serial_number: expect.stringMatching(/^[0-9a-f]{2}(:[0-9a-f]{2}){8,19}$/),
    });
    const leaf = file('leaf.pem', d.certificate);
    expect(openssl('verify', '-CAfile', file('root.pem', rootPem), leaf).out).toContain('leaf.pem: OK');
    const text = openssl('x509', '-in', leaf, '-noout', '-text').out;
    expect(text).toMatch(/DNS:a\.example\.com, DNS:b\.example\.com, IP Address:127\.0\.0\.1/);
    expect(text).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(text).toMatch(/CA:FALSE/);
    expect(text).toContain('URI:http://127.0.0.1:8200/v1/pki/crl');
    // The private key belongs to the certificate.
    expect(
      createPublicKey(createPrivateKey(d.private_key))
        .export({ format: 'der', type: 'spki' })
        .equals(new X509Certificate(d.certificate).publicKey.export({ format: 'der', type: 'spki' })),
    ).toBe(true);
    expect(d.expiration - Math.floor(Date.now() / 1000)).toBeGreaterThan(3500);
    expect((await call('GET', `pki/cert/${d.serial_number}`, undefined, '')).json.data.certificate).toBe(d.certificate);
    // The stored row says what the certificate says (it is written from what was encoded, not re-parsed).
    const x = new X509Certificate(d.certificate);
    const [row] = await k.dataSource.query(
      'SELECT serial_number, common_name, valid_from, valid_until, fingerprint FROM certificates WHERE serial_number = $1',
      [d.serial_number],
    );
    expect(row).toEqual({
      serial_number: d.serial_number,
      common_name: 'a.example.com',
      valid_from: new Date(x.validFrom),
      valid_until: new Date(x.validTo),
      fingerprint: x.fingerprint256.replace(/:/g, '').toLowerCase(),
    });
    expect((await call('GET', 'pki/certs?list=true')).json.data.keys).toContain(d.serial_number);
  });

  it('names outside the role are refused: look-alikes, suffix tricks, trailing dots, undeclared wildcards', async () => {
    for (const name of ['evil-example.com', 'example.com.evil.com', 'a.example.com.', 'example.com', 'A.EXAMPLE.COM.evil.com']) {
      const res = await call('PUT', 'pki/issue/web', { common_name: name });
      expect([name, res.status]).toEqual([name, 400]);
    }
    expect((await call('PUT', 'pki/issue/web', { common_name: 'a.example.com', alt_names: ['x.evil.com'] })).status).toBe(400);
    expect((await call('PUT', 'pki/issue/web', { common_name: 'a.example.com', ttl: '8760h' })).json.warnings).toEqual([
      'TTL "8760h0m0s" is longer than permitted maxTTL "72h0m0s", so maxTTL is being used',
    ]);
  });

  it('sign: CSR SANs outside the role and CA:TRUE CSRs are refused; a good CSR is signed', async () => {
    const csrKey = file('csr.key', '');
    const make = (name: string, ...ext: string[]) => {
      const out = file(`${name}.csr`, '');
      execFileSync(
        'openssl',
        ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', csrKey, '-out', out, '-subj', '/CN=c.example.com', ...ext.flatMap((e) => ['-addext', e])],
        { stdio: 'ignore' },
      );
      return readFileSync(out, 'utf8');
    };
    const outside = await call('PUT', 'pki/sign/web', { csr: make('outside', 'subjectAltName=DNS:c.example.com,DNS:evil.com') });
    expect([outside.status, outside.json.errors]).toEqual([400, ['"evil.com" is not an allowed name for this role']]);
    const ca = await call('PUT', 'pki/sign/web', { csr: make('ca', 'basicConstraints=critical,CA:TRUE') });
    expect(ca.status).toBe(400);
    expect(ca.json.errors[0]).toContain('CA:TRUE');
    const good = await call('PUT', 'pki/sign/web', { csr: make('good', 'subjectAltName=DNS:d.example.com') });
    expect(good.status).toBe(200);
    expect(good.json.data.private_key).toBeUndefined();
    const leaf = file('signed.pem', good.json.data.certificate);
    expect(openssl('verify', '-CAfile', file('root.pem', rootPem), leaf).out).toContain('OK');
    expect(openssl('x509', '-in', leaf, '-noout', '-ext', 'subjectAltName').out).toMatch(/DNS:c\.example\.com, DNS:d\.example\.com/);
    expect((await call('PUT', 'pki/sign/web', { csr: 'not a csr' })).status).toBe(400);

    // sign-verbatim: the CSR as it is (evil.com included), no name policy; CA:TRUE still refused.
    const verbatim = await call('PUT', 'pki/sign-verbatim', { csr: make('verbatim', 'subjectAltName=DNS:c.example.com,DNS:evil.com'), ttl: '1h' });
    expect(verbatim.status).toBe(200);
    const vFile = file('verbatim.pem', verbatim.json.data.certificate);
    expect(openssl('verify', '-CAfile', file('root.pem', rootPem), vFile).out).toContain('OK');
    expect(openssl('x509', '-in', vFile, '-noout', '-ext', 'subjectAltName').out).toMatch(/DNS:c\.example\.com, DNS:evil\.com/);
    expect((await call('PUT', 'pki/sign-verbatim/web', { csr: make('verbatim-ca', 'basicConstraints=critical,CA:TRUE') })).status).toBe(400);
  });

  it('format: der gives base64 DER; pem_bundle puts the private key and the certificate in one PEM', async () => {
    const der = (await call('PUT', 'pki/issue/web', { common_name: 'f.example.com', format: 'der' })).json.data;
    expect(new X509Certificate(Buffer.from(der.certificate, 'base64')).subject).toContain('CN=f.example.com');
    expect(new X509Certificate(Buffer.from(der.issuing_ca, 'base64')).toString().trim()).toBe(rootPem.trim());
    // The key follows `format` (private_key_format der, the default): base64 DER of PKCS#1, or of PKCS#8 when asked.
    const rsaKey = createPrivateKey({ key: Buffer.from(der.private_key, 'base64'), format: 'der', type: 'pkcs1' });
    expect(
      createPublicKey(rsaKey)
        .export({ format: 'der', type: 'spki' })
        .equals(new X509Certificate(Buffer.from(der.certificate, 'base64')).publicKey.export({ format: 'der', type: 'spki' })),
    ).toBe(true);
    const pkcs8 = (await call('PUT', 'pki/issue/web', { common_name: 'f.example.com', format: 'der', private_key_format: 'pkcs8' })).json.data.private_key;
    expect(createPrivateKey({ key: Buffer.from(pkcs8, 'base64'), format: 'der', type: 'pkcs8' }).asymmetricKeyType).toBe('rsa');
    expect((await call('PUT', 'pki/issue/web', { common_name: 'f.example.com', private_key_format: 'pkcs8' })).json.data.private_key).toMatch(
      /^-----BEGIN PRIVATE KEY-----/,
    );
    const bundle = (await call('PUT', 'pki/issue/web', { common_name: 'g.example.com', format: 'pem_bundle' })).json.data;
    expect(bundle.certificate).toMatch(/^-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+-----BEGIN CERTIFICATE-----/);
    // The issuer is this mount's self-signed root: not repeated in the bundle.
    expect(bundle.certificate.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    expect((await call('PUT', 'pki/issue/web', { common_name: 'h.example.com', format: 'pfx' })).status).toBe(400);
  });

  it('intermediate CA: generate, sign with the root (cut to it), set-signed; its leaves verify through the chain', async () => {
    const gen = await call('PUT', 'pki_int/intermediate/generate/internal', { common_name: 'Example Intermediate', key_type: 'ec', key_bits: 384 });
    expect(gen.status).toBe(200);
    // Above the mount's max: capped, then cut to the root's notAfter, with Vault's two warnings.
    const long = await call('PUT', 'pki/root/sign-intermediate', { csr: gen.json.data.csr, ttl: '87601h' });
    expect([long.status, long.json.warnings]).toEqual([
      200,
      ['TTL "87601h0m0s" is longer than permitted maxTTL "87600h0m0s", so maxTTL is being used', TRUNCATED],
    ]);
    expect(new X509Certificate(long.json.data.certificate).validTo).toBe(new X509Certificate(rootPem).validTo);
    const signed = await call('PUT', 'pki/root/sign-intermediate', { csr: gen.json.data.csr, ttl: '43800h', common_name: 'Example Intermediate' });
    expect(signed.status).toBe(200);
    expect((await call('PUT', 'pki_int/intermediate/set-signed', { certificate: signed.json.data.certificate + rootPem })).status).toBe(200);
    expect(
      (await call('PUT', 'pki_int/roles/svc', { allowed_domains: ['svc.example.com'], allow_subdomains: true, key_type: 'ec', key_bits: 256 })).status,
    ).toBe(204);
    const leaf = await call('PUT', 'pki_int/issue/svc', { common_name: 'api.svc.example.com' });
    expect(leaf.status).toBe(200);
    expect(leaf.json.data.ca_chain).toEqual([signed.json.data.certificate, rootPem]);
    const res = openssl(
      'verify',
      '-CAfile',
      file('root.pem', rootPem),
      '-untrusted',
      file('int.pem', signed.json.data.certificate),
      file('int-leaf.pem', leaf.json.data.certificate),
    );
    expect(res.out).toContain('int-leaf.pem: OK');
    expect((await call('GET', 'pki_int/ca_chain', undefined, '')).body).toBe(signed.json.data.certificate + rootPem);
    // Issuers: one per CA certificate with a UUID id (Vault's); `default` is the first.
    const list = (await call('GET', 'pki_int/issuers?list=true', undefined, '')).json.data;
    const id = list.keys[0] as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(list).toEqual({
      keys: [id],
      key_info: { [id]: { is_default: true, issuer_name: '', key_id: gen.json.data.key_id, serial_number: signed.json.data.serial_number } },
    });
    const byId = (await call('GET', `pki_int/issuer/${id}`)).json.data;
    expect(byId).toMatchObject({ issuer_id: id, certificate: signed.json.data.certificate, ca_chain: [signed.json.data.certificate, rootPem] });
    expect((await call('GET', 'pki_int/issuer/default/json', undefined, '')).json.data.issuer_id).toBe(id);
    expect((await call('GET', 'pki_int/issuer/default/pem', undefined, '')).body).toBe(signed.json.data.certificate);
    expect(new X509Certificate((await call('GET', `pki_int/issuer/${id}/der`, undefined, '')).bytes as Buffer).toString()).toBe(signed.json.data.certificate);
    expect((await call('GET', 'pki_int/issuer/00:11', undefined)).status).toBe(404);
    expect((await call('GET', 'pki_int/config/issuers')).json.data).toEqual({ default: id, default_follows_latest_issuer: false });
  });

  const caMount = async (path: string, config: Record<string, string>) =>
    expect((await call('PUT', `sys/mounts/${path}`, { type: 'pki', config })).status).toBe(204);
  const caRoot = (path: string, body: Record<string, unknown> = {}) =>
    call('PUT', `${path}/root/generate/internal`, { common_name: `${path} Root`, key_type: 'ec', key_bits: 256, ...body });

  it("root/generate without ttl: the mount's default TTL (768h unless tuned), not its max", async () => {
    await caMount('ca_default', { max_lease_ttl: '87600h' });
    await caMount('ca_short', { default_lease_ttl: '2h', max_lease_ttl: '10h' });
    const byDefault = await caRoot('ca_default');
    expect([byDefault.status, byDefault.json.warnings]).toEqual([200, null]);
    expect(Math.abs(secondsLeft(byDefault.json.data.certificate) - 768 * 3600)).toBeLessThan(60);
    expect(byDefault.json.data.expiration).toBe(new Date(new X509Certificate(byDefault.json.data.certificate).validTo).getTime() / 1000);
    const short = await caRoot('ca_short');
    expect(Math.abs(secondsLeft(short.json.data.certificate) - 2 * 3600)).toBeLessThan(60);
  });

  it("root/generate with a ttl above the mount's max: capped, with Vault's warning", async () => {
    await caMount('ca_capped', { max_lease_ttl: '10h' });
    const capped = await caRoot('ca_capped', { ttl: '20h' });
    expect([capped.status, capped.json.warnings]).toEqual([200, ['TTL "20h0m0s" is longer than permitted maxTTL "10h0m0s", so maxTTL is being used']]);
    expect(Math.abs(secondsLeft(capped.json.data.certificate) - 10 * 3600)).toBeLessThan(60);
  });

  it("root/sign-intermediate right after its root with the same ttl: cut to the root; enforce_leaf_not_after_behavior applies the issuer's err", async () => {
    await caMount('ca_same', { max_lease_ttl: '8760h' });
    await caMount('ca_same_int', { max_lease_ttl: '8760h' });
    const sameRoot = (await caRoot('ca_same', { ttl: '8760h' })).json.data.certificate as string;
    const csr = (await call('PUT', 'ca_same_int/intermediate/generate/internal', { common_name: 'Same Int', key_type: 'ec', key_bits: 256 })).json.data.csr;
    const same = await call('PUT', 'ca_same/root/sign-intermediate', { csr, ttl: '8760h', common_name: 'Same Int' });
    expect([same.status, same.json.warnings]).toEqual([200, [TRUNCATED]]);
    expect(new X509Certificate(same.json.data.certificate).validTo).toBe(new X509Certificate(sameRoot).validTo);
    expect(same.json.data.expiration).toBe(new Date(new X509Certificate(sameRoot).validTo).getTime() / 1000);
    expect(openssl('verify', '-CAfile', file('same-root.pem', sameRoot), file('same-int.pem', same.json.data.certificate)).out).toContain('same-int.pem: OK');
    expect((await call('PUT', 'ca_same_int/intermediate/set-signed', { certificate: same.json.data.certificate })).status).toBe(200);
    // No ttl: the mount's default (768h), within the root: no warning.
    const noTtl = await call('PUT', 'ca_same/root/sign-intermediate', { csr, common_name: 'Same Int' });
    expect([noTtl.status, noTtl.json.warnings]).toEqual([200, null]);
    expect(Math.abs(secondsLeft(noTtl.json.data.certificate) - 768 * 3600)).toBeLessThan(60);
    // enforce_leaf_not_after_behavior: the issuer's leaf_not_after_behavior (err here) instead of the cut.
    expect((await call('GET', 'ca_same/issuer/default')).json.data.leaf_not_after_behavior).toBe('err');
    const enforced = await call('PUT', 'ca_same/root/sign-intermediate', { csr, ttl: '8760h', enforce_leaf_not_after_behavior: true });
    const rootEnd = new Date(new X509Certificate(sameRoot).validTo).toISOString().replace('.000Z', 'Z');
    expect(enforced.status).toBe(400);
    expect(enforced.json.errors).toEqual([
      expect.stringMatching(
        new RegExp(`^cannot satisfy request, as TTL would result in notAfter of \\S+Z that is beyond the expiration of the CA certificate at ${rootEnd}$`),
      ),
    ]);
    expect((await call('PUT', 'ca_same/root/sign-intermediate', { csr, ttl: '1h', enforce_leaf_not_after_behavior: true })).status).toBe(200);
  });

  it('revocation: in the CRL and over OCSP at once, and still after seal and unseal', async () => {
    const issued = (await call('PUT', 'pki/issue/web', { common_name: 'r.example.com' })).json.data;
    const kept = (await call('PUT', 'pki/issue/web', { common_name: 'k.example.com' })).json.data;
    const revoke = await call('PUT', 'pki/revoke', { serial_number: issued.serial_number });
    expect(revoke.json.data).toMatchObject({ state: 'revoked', revocation_time: expect.any(Number) });
    expect((await call('PUT', 'pki/revoke', { serial_number: '01:02' })).status).toBe(400);

    const check = async () => {
      const rootFile = file('root.pem', rootPem);
      const crl = await call('GET', 'pki/crl', undefined, '');
      expect(crl.headers['content-type']).toBe('application/pkix-crl');
      const crlFile = file('crl.der', crl.bytes as Buffer);
      expect(openssl('crl', '-in', crlFile, '-inform', 'DER', '-CAfile', rootFile, '-noout').out).toContain('verify OK');
      const crlPem = file('crl.pem', (await call('GET', 'pki/crl/pem', undefined, '')).body as string);
      expect(openssl('verify', '-crl_check', '-CRLfile', crlPem, '-CAfile', rootFile, file('revoked.pem', issued.certificate)).out).toContain(
        'certificate revoked',
      );
      expect(openssl('verify', '-crl_check', '-CRLfile', crlPem, '-CAfile', rootFile, file('kept.pem', kept.certificate)).out).toContain('OK');
      for (const [name, cert, state] of [
        ['revoked', issued.certificate, 'revoked'],
        ['kept', kept.certificate, 'good'],
      ] as const) {
        const reqFile = join(dir, `${name}.ocsp-req`);
        execFileSync('openssl', ['ocsp', '-issuer', rootFile, '-cert', file(`${name}-ocsp.pem`, cert), '-reqout', reqFile], { stdio: 'ignore' });
        const post = await call('POST', 'pki/ocsp', readFileSync(reqFile), '', { headers: { 'content-type': 'application/ocsp-request' } });
        expect(post.headers['content-type']).toBe('application/ocsp-response');
        // With -cert openssl checks against a request of its own (another nonce): -no_nonce; the nonce echo is in crl-ocsp.spec.ts.
        const status = openssl(
          'ocsp',
          '-respin',
          file(`${name}.ocsp-resp`, post.bytes as Buffer),
          '-issuer',
          rootFile,
          '-cert',
          file(`${name}-ocsp.pem`, cert),
          '-CAfile',
          rootFile,
          '-no_nonce',
        );
        expect(status.out).toContain(`: ${state}`);
        expect(status.out).toContain('Response verify OK');
        // The base64's "/" stays literal: the pipeline refuses an encoded "/" in any path (docs/api.md).
        const base64 = readFileSync(reqFile).toString('base64');
        const get = await call('GET', `pki/ocsp/${encodeURIComponent(base64).replace(/%2F/g, '/')}`, undefined, '');
        // A base64 holding "//" (a random nonce gives one in ~1 request of 40) is an empty path segment: refused, as documented.
        if (base64.includes('//')) expect(get.status).toBe(400);
        else
          expect(
            openssl(
              'ocsp',
              '-respin',
              file(`${name}.ocsp-get`, get.bytes as Buffer),
              '-issuer',
              rootFile,
              '-cert',
              file(`${name}-ocsp.pem`, cert),
              '-CAfile',
              rootFile,
              '-no_nonce',
            ).out,
          ).toContain(`: ${state}`);
      }
    };
    await check();
    await k.seal.seal();
    await k.seal.submitUnsealKey(key, false);
    await check();
  });

  it('tidy drops expired certificates past the safety buffer, revoked ones only when asked', async () => {
    const a = (await call('PUT', 'pki/issue/web', { common_name: 't1.example.com', ttl: '1s' })).json.data;
    const b = (await call('PUT', 'pki/issue/web', { common_name: 't2.example.com', ttl: '1s' })).json.data;
    await call('PUT', 'pki/revoke', { serial_number: b.serial_number });
    await new Promise((r) => setTimeout(r, 2100));
    expect((await call('PUT', 'pki/tidy', { tidy_cert_store: true, safety_buffer: '0s' })).status).toBe(202);
    expect((await call('GET', `pki/cert/${a.serial_number}`, undefined, '')).status).toBe(404);
    expect((await call('GET', `pki/cert/${b.serial_number}`, undefined, '')).status).toBe(200);
    await call('PUT', 'pki/tidy', { tidy_revoked_certs: true, safety_buffer: '0s' });
    expect((await call('GET', `pki/cert/${b.serial_number}`, undefined, '')).status).toBe(404);
    expect((await call('GET', 'pki/ca/pem', undefined, '')).status).toBe(200);
  });

  it('generate_lease: issue and sign under a non-renewable lease whose revocation revokes the certificate', async () => {
    const bad = await call('PUT', 'pki/roles/leased-nostore', {
      allowed_domains: ['example.com'],
      allow_subdomains: true,
      no_store: true,
      generate_lease: true,
    });
    expect(bad.status).toBe(400);
    expect(
      (await call('PUT', 'pki/roles/leased', { allowed_domains: ['example.com'], allow_subdomains: true, generate_lease: true, key_type: 'ec', key_bits: 256 }))
        .status,
    ).toBe(204);
    expect((await call('GET', 'pki/roles/leased')).json.data.generate_lease).toBe(true);
    const res = await call('PUT', 'pki/issue/leased', { common_name: 'leased.example.com', ttl: '2h' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ lease_id: expect.stringMatching(/^pki\/issue\/leased\/.+/), renewable: false });
    expect(Math.abs(res.json.lease_duration - 7200)).toBeLessThanOrEqual(2);
    const serial = res.json.data.serial_number as string;
    // Without the role option there is no lease.
    expect((await call('PUT', 'pki/issue/web', { common_name: 'unleased.example.com' })).json.lease_id).toBe('');
    expect((await call('PUT', 'sys/leases/renew', { lease_id: res.json.lease_id })).status).toBe(400);
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: res.json.lease_id })).status).toBe(204);
    const record = await call('GET', `pki/cert/${serial}`, undefined, '');
    expect(record.json.data.revocation_time).toBeGreaterThan(0);
    const crl = file('leased-crl.pem', (await call('GET', 'pki/crl/pem', undefined, '')).body as string);
    expect(openssl('crl', '-in', crl, '-noout', '-text').out.toLowerCase()).toContain(serial.replace(/:/g, ''));
    // sign/:role leases too.
    const csrKey = file('leased-key.pem', execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']));
    const csr = execFileSync('openssl', ['req', '-new', '-key', csrKey, '-subj', '/CN=signed.example.com'], { encoding: 'utf8' });
    const signed = await call('PUT', 'pki/sign/leased', { csr });
    expect(signed.json.lease_id).toMatch(/^pki\/sign\/leased\//);
  });
});
