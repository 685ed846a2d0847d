/**
 * Several issuers per pki mount, as Vault's: issuers and keys as their own rows (the first
 * increment's issuer migrated under its serial id), references by id, name or `default`, issuer
 * and key writes with Vault's checks and messages, PEM bundle imports, the issuer picked by path,
 * request or role, and each issuer's CRL and OCSP answers — every certificate and CRL checked with
 * the machine's `openssl`.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCertificate, encodeName, randomSerial, serialToVault, toPem } from '../../src/crypto/x509/certificate';
import { softwareSigner } from '../../src/crypto/signer';
import { EngineObjectRepository } from '../../src/shared/engine-objects.repository';
import { PkiIssuersKeys1734000000000 } from '../../migrations/1734000000000-pki-issuers-keys';
import { DropCertificatePrivateKey1734030000000 } from '../../migrations/1734030000000-drop-certificate-private-key';
import { PkiManagedKeys1734060000000 } from '../../migrations/1734060000000-pki-managed-keys';
import { auditedPipeline, openAuditedKernel, type Call } from '../support/audit';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { opensslFiles } from '../support/x509-openssl';

jest.setTimeout(120_000);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const { dir, file, openssl } = opensslFiles('secrethub-pki-issuers-');
const verifies = (caPem: string, certPem: string, name: string) =>
  openssl('verify', '-CAfile', file(`${name}-ca.pem`, caPem), file(`${name}.pem`, certPem)).out.includes(`${name}.pem: OK`);
/** A CA key and certificate made by openssl (`signer`: key and certificate files of the CA above; none: self-signed). */
const opensslCa = (name: string, signer?: { key: string; cert: string }) => {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], { stdio: 'ignore' });
  const ext = file(`${name}.ext`, 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\n');
  if (!signer)
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-new',
        '-key',
        key,
        '-subj',
        `/CN=${name}`,
        '-days',
        '30',
        '-out',
        cert,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      ],
      { stdio: 'ignore' },
    );
  else {
    const csr = join(dir, `${name}.csr`);
    execFileSync('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr], { stdio: 'ignore' });
    execFileSync(
      'openssl',
      ['x509', '-req', '-in', csr, '-CA', signer.cert, '-CAkey', signer.key, '-CAcreateserial', '-days', '20', '-extfile', ext, '-out', cert],
      { stdio: 'ignore' },
    );
  }
  return { key, cert, keyPem: readFileSync(key, 'utf8'), certPem: readFileSync(cert, 'utf8') };
};

describe('pki issuers and keys (medium, checked with openssl)', () => {
  let k: TestKernel;
  let call: Call;
  let rootToken: string;
  let unsealKey: string;

  beforeAll(async () => {
    ({ k, call, rootToken, key: unsealKey } = await openAuditedKernel());
    for (const path of ['legacy', 'multi', 'imp', 'rot', 'nodes'])
      expect((await call('PUT', `sys/mounts/${path}`, { type: 'pki', config: { max_lease_ttl: '87600h' } })).status).toBe(204);
  });
  afterAll(async () => k.close());

  it("migration: the first increment's issuer keeps its serial as id and key id, its chain, default and CRL, and signs as before", async () => {
    const mountUuid = k.mounts.list('secret').find((m) => m.path === 'legacy/')!.uuid;
    const runner = k.dataSource.createQueryRunner();
    const migration = new PkiIssuersKeys1734000000000();
    // Back to the first increment's layout: the column dropped later first, then the issuers' tables.
    const dropped = new DropCertificatePrivateKey1734030000000();
    const managed = new PkiManagedKeys1734060000000();
    await managed.down(runner);
    await dropped.down(runner);
    await migration.down(runner);
    // The first increment's rows: the key sealed in `certificates` under the serial, the chain and the default in engine objects.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const subject = { commonName: 'Legacy Root' };
    const serial = randomSerial();
    const der = await buildCertificate({
      serial,
      subject,
      issuer: { nameDer: encodeName(subject), signer: softwareSigner(privateKey) },
      publicKey,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 30 * 86400_000),
      isCa: true,
      keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
      extKeyUsage: [],
    });
    const id = serialToVault(serial);
    const pem = toPem(der, 'CERTIFICATE');
    const sealed = await k.barrier.encrypt(`pki/${mountUuid}/${id}/private_key`, privateKey.export({ format: 'der', type: 'pkcs8' }));
    await k.dataSource.query(
      `INSERT INTO certificates (mount_uuid, serial_number, fingerprint, certificate_pem, private_key_encrypted, subject, issuer, issuer_serial, common_name, valid_from, valid_until, cert_type, key_usage)
       VALUES ($1, $2, $5, $3, $4, 'Legacy Root', $2, $2, 'Legacy Root', now(), now() + interval '30 days', 'root_ca', '{CertSign,CRLSign}')`,
      [mountUuid, id, pem, sealed, createHash('sha256').update(der).digest('hex')],
    );
    const objects = new EngineObjectRepository(k.dataSource, k.barrier);
    await objects.put(mountUuid, 'pki-issuer', id, { chainPem: [] });
    await objects.put(mountUuid, 'pki-config', 'issuers', { defaultSerial: id });
    // A key the first increment's intermediate/generate left waiting for set-signed (id: SHA-256 of its SPKI, 32 hex digits).
    const pending = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pendingId = createHash('sha256')
      .update(pending.publicKey.export({ format: 'der', type: 'spki' }))
      .digest('hex')
      .slice(0, 32);
    await objects.put(mountUuid, 'pki-pending-key', pendingId, { pkcs8: pending.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64') });
    await migration.up(runner);
    expect(await k.dataSource.query('SELECT 1 FROM certificates WHERE private_key_encrypted IS NOT NULL')).toEqual([]);
    await dropped.up(runner);
    await managed.up(runner);
    await runner.release();

    const list = (await call('GET', 'legacy/issuers?list=true', undefined, '')).json.data;
    expect(list).toEqual({ keys: [id], key_info: { [id]: { is_default: true, issuer_name: '', key_id: id, serial_number: id } } });
    expect((await call('GET', 'legacy/config/issuers')).json.data).toEqual({ default: id, default_follows_latest_issuer: false });
    expect((await call('GET', 'legacy/keys?list=true')).json.data).toEqual({ keys: [id], key_info: { [id]: { key_name: '' } } });
    expect((await call('GET', 'legacy/key/default')).json.data).toEqual({ key_id: id, key_name: '', key_type: 'ec' });
    expect((await call('GET', `legacy/issuer/${id}`)).json.data).toMatchObject({
      issuer_id: id,
      key_id: id,
      ca_chain: [pem],
      usage: 'crl-signing,issuing-certificates,ocsp-signing,read-only',
      leaf_not_after_behavior: 'err',
    });
    // It signs: a leaf verifies under it, and its revocation is in its CRL.
    expect((await call('PUT', 'legacy/roles/web', { allow_any_name: true, key_type: 'ec', key_bits: 256 })).status).toBe(204);
    const leaf = (await call('PUT', 'legacy/issue/web', { common_name: 'old.example.com', ttl: '1h' })).json.data;
    expect(verifies(pem, leaf.certificate, 'legacy-leaf')).toBe(true);
    expect((await call('GET', `legacy/cert/${leaf.serial_number}`, undefined, '')).json.data.issuer_id).toBe(id);
    await call('PUT', 'legacy/revoke', { serial_number: leaf.serial_number });
    const crl = file('legacy-crl.pem', (await call('GET', `legacy/issuer/${id}/crl/pem`, undefined, '')).body as string);
    expect(openssl('crl', '-in', crl, '-CAfile', file('legacy-root.pem', pem), '-noout', '-text').out.toLowerCase()).toContain(
      leaf.serial_number.replace(/:/g, ''),
    );
    // The waiting key's certificate, signed elsewhere, is installed by set-signed: a new issuer on that key.
    const intSubject = { commonName: 'Legacy Int' };
    const intDer = await buildCertificate({
      serial: randomSerial(),
      subject: intSubject,
      issuer: { nameDer: encodeName(subject), signer: softwareSigner(privateKey) },
      publicKey: pending.publicKey,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86400_000),
      isCa: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
      extKeyUsage: [],
    });
    const set = await call('PUT', 'legacy/intermediate/set-signed', { certificate: toPem(intDer, 'CERTIFICATE') });
    const [intId] = set.json.data.imported_issuers as string[];
    expect(set.json.data.mapping[intId]).toMatch(UUID);
    expect((await call('GET', `legacy/issuer/${intId}`)).json.data.ca_chain).toEqual([toPem(intDer, 'CERTIFICATE'), pem]);
    expect(await objects.get(mountUuid, 'pki-pending-key', pendingId)).toBeUndefined();
    // Importing its certificate and key again finds both (the migrated key is matched by opening it).
    const again = await call('PUT', 'legacy/config/ca', { pem_bundle: `${pem}${privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()}` });
    expect(again.json.data).toEqual({ imported_issuers: null, imported_keys: null, mapping: { [id]: id }, existing_issuers: [id], existing_keys: [id] });
  });

  it("several issuers: UUID ids, names, `default`; POST and PATCH with Vault's checks; config/issuers; DELETE", async () => {
    const a = (
      await call('PUT', 'multi/root/generate/internal', { common_name: 'Root A', issuer_name: 'root-a', key_name: 'key-a', key_type: 'ec', ttl: '8760h' })
    ).json.data;
    expect(a).toMatchObject({ issuer_id: expect.stringMatching(UUID), key_id: expect.stringMatching(UUID), issuer_name: 'root-a', key_name: 'key-a' });
    const b = (await call('PUT', 'multi/root/generate/internal', { common_name: 'Root B', issuer_name: 'root-b', key_type: 'ec', ttl: '4380h' })).json.data;
    const list = (await call('GET', 'multi/issuers?list=true', undefined, '')).json.data;
    expect(list.keys.sort()).toEqual([a.issuer_id, b.issuer_id].sort());
    expect(list.key_info[a.issuer_id]).toEqual({ is_default: true, issuer_name: 'root-a', key_id: a.key_id, serial_number: a.serial_number });
    expect(list.key_info[b.issuer_id]).toEqual({ is_default: false, issuer_name: 'root-b', key_id: b.key_id, serial_number: b.serial_number });
    for (const ref of [a.issuer_id, 'root-a', 'default']) expect((await call('GET', `multi/issuer/${ref}`)).json.data.certificate).toBe(a.certificate);
    expect((await call('GET', 'multi/issuer/root-b/json', undefined, '')).json.data).toEqual({
      certificate: b.certificate,
      ca_chain: [b.certificate],
      issuer_id: b.issuer_id,
      issuer_name: 'root-b',
    });

    // PATCH changes only what it is sent; POST sets every field (absent ones back to Vault's defaults).
    const patched = await call('PATCH', 'multi/issuer/root-b', { leaf_not_after_behavior: 'truncate' }, undefined, {
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(patched.json.data).toMatchObject({
      issuer_name: 'root-b',
      leaf_not_after_behavior: 'truncate',
      usage: 'crl-signing,issuing-certificates,ocsp-signing,read-only',
    });
    const posted = await call('POST', 'multi/issuer/root-b', { issuer_name: 'root-b', usage: 'issuing-certificates,crl-signing' });
    expect(posted.json.data).toMatchObject({
      issuer_name: 'root-b',
      leaf_not_after_behavior: 'err',
      usage: 'crl-signing,issuing-certificates,read-only',
      manual_chain: null,
    });
    const refused = async (method: string, path: string, body: unknown, message: string) => {
      const res = await call(method, path, body, undefined, method === 'PATCH' ? { headers: { 'content-type': 'application/merge-patch+json' } } : {});
      expect([path, res.status, res.json.errors]).toEqual([path, 400, [message]]);
    };
    await refused(
      'PATCH',
      'multi/issuer/root-b',
      { usage: 'issuing-certificates,bogus' },
      'Unable to parse specified usages: [issuing-certificates bogus] - valid values are crl-signing,issuing-certificates,ocsp-signing,read-only',
    );
    await refused(
      'PATCH',
      'multi/issuer/root-b',
      { leaf_not_after_behavior: 'later' },
      'Unknown value for field `leaf_not_after_behavior`. Possible values are `err`, `truncate`, and `permit`.',
    );
    await refused('PATCH', 'multi/issuer/root-b', { issuer_name: 'Default' }, "reserved keyword 'default' can not be used as issuer name");
    await refused('PATCH', 'multi/issuer/root-b', { issuer_name: 'root a' }, 'issuer name contained invalid characters');
    await refused('PATCH', 'multi/issuer/root-b', { issuer_name: 'root-a' }, 'issuer name already in use');
    await refused('POST', 'multi/issuer/root-b', { issuer_name: ' ' }, 'expected non-empty issuer_name');
    await refused(
      'PATCH',
      'multi/issuer/root-b',
      { manual_chain: ['root-a'] },
      `expected first cert in chain to be a self-reference, but was: root-a/${a.issuer_id}`,
    );
    await refused('PATCH', 'multi/issuer/root-b', { manual_chain: ['self', 'nope'] }, 'unable to find PKI issuer for reference: nope');
    await refused('POST', 'multi/issuer/nope', { issuer_name: 'x' }, 'unable to find PKI issuer for reference: nope');
    const unknown = await call('GET', 'multi/issuer/nope');
    expect([unknown.status, unknown.json.errors]).toEqual([404, ['unable to find PKI issuer for reference: nope']]);
    expect((await call('GET', 'multi/issuer/nope/pem', undefined, '')).status).toBe(404);
    // A manual chain: ca_chain is the issuers it names, in order.
    expect(
      (
        await call('PATCH', 'multi/issuer/root-b', { manual_chain: ['self', 'root-a'] }, undefined, {
          headers: { 'content-type': 'application/merge-patch+json' },
        })
      ).json.data,
    ).toMatchObject({ manual_chain: [b.issuer_id, a.issuer_id], ca_chain: [b.certificate, a.certificate] });
    expect(
      (await call('PATCH', 'multi/issuer/root-b', { manual_chain: [] }, undefined, { headers: { 'content-type': 'application/merge-patch+json' } })).json.data
        .ca_chain,
    ).toEqual([b.certificate]);

    // config/issuers: the default by id or name; `default` itself and unknown references refused.
    expect((await call('POST', 'multi/config/issuers', { default: 'root-b' })).json.data).toEqual({
      default: b.issuer_id,
      default_follows_latest_issuer: false,
    });
    expect((await call('GET', 'multi/ca/pem', undefined, '')).body).toBe(b.certificate);
    await refused('POST', 'multi/config/issuers', { default: 'default' }, "Invalid issuer specification; must be non-empty and can't be 'default'.");
    await refused('POST', 'multi/config/issuers', { default: 'nope' }, 'Error resolving issuer reference: unable to find PKI issuer for reference: nope');

    // DELETE the default: a warning, no default until one is set; its key stays.
    const del = await call('DELETE', 'multi/issuer/root-b');
    expect([del.status, del.json.warnings]).toEqual([
      200,
      [
        `Deleted issuer ${b.issuer_id} (via issuer_ref root-b); this was configured as the default issuer. Operations without an explicit issuer will not work until a new default is configured.`,
      ],
    ]);
    expect((await call('GET', 'multi/config/issuers')).json.data.default).toBe('');
    expect((await call('DELETE', 'multi/issuer/root-b')).status).toBe(204);
    const roleWithoutDefault = await call('PUT', 'multi/roles/any', { allow_any_name: true, key_type: 'ec', key_bits: 256 });
    expect([roleWithoutDefault.status, roleWithoutDefault.json.warnings]).toEqual([
      200,
      ['Issuing Certificate was set to default, but no default issuing certificate (configurable at /config/issuers) is currently set'],
    ]);
    const noDefault = await call('PUT', 'multi/issue/any', { common_name: 'x.example.com' });
    expect([noDefault.status, noDefault.json.errors]).toEqual([400, ['no default issuer currently configured (generate or import a CA first)']]);
    expect((await call('POST', 'multi/config/issuers', { default: a.issuer_id })).status).toBe(200);

    // Keys: listed by id with names; read gives id, name and type only; renames; a key in use cannot be deleted.
    const keys = (await call('GET', 'multi/keys?list=true')).json.data;
    expect(keys.key_info).toEqual({ [a.key_id]: { key_name: 'key-a' }, [b.key_id]: { key_name: '' } });
    const read = await call('GET', 'multi/key/key-a');
    expect(read.json.data).toEqual({ key_id: a.key_id, key_name: 'key-a', key_type: 'ec' });
    expect(read.body).not.toMatch(/PRIVATE|BEGIN/);
    expect((await call('POST', `multi/key/${b.key_id}`, { key_name: 'spare' })).json.data).toEqual({ key_id: b.key_id, key_name: 'spare', key_type: 'ec' });
    await refused('POST', 'multi/key/spare', { key_name: 'bad name' }, 'new key name outside of valid character limits');
    await refused('POST', 'multi/key/spare', { key_name: 'key-a' }, 'key name already in use');
    await refused('DELETE', 'multi/key/key-a', undefined, `Failed to Delete Key.  Key in Use by Issuer: ${a.issuer_id}`);
    await refused('GET', 'multi/key/nope', undefined, 'unable to find PKI key for reference: nope');
    expect((await call('DELETE', 'multi/key/spare')).status).toBe(204);
    expect((await call('GET', 'multi/keys?list=true')).json.data.keys).toEqual([a.key_id]);
  });

  it("imports: config/ca and issuers/import/bundle match keys to certificates; the same again adds nothing; chains are built from the mount's issuers", async () => {
    const refusedImport = async (path: string, body: Record<string, string>, message: string) => {
      const res = await call('PUT', path, body);
      expect([path, res.status, res.json.errors]).toEqual([path, 400, [message]]);
    };
    const root = opensslCa('ImpRoot');
    const int = opensslCa('ImpInt', root);
    // Two imports of one bundle at once: one issuer and one key (unique indexes decide), the other finds them.
    const [first, second] = await Promise.all([
      call('PUT', 'imp/config/ca', { pem_bundle: `${root.keyPem}${root.certPem}` }),
      call('PUT', 'imp/config/ca', { pem_bundle: `${root.keyPem}${root.certPem}` }),
    ]);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.json.data.mapping).toEqual(first.json.data.mapping);
    expect((await call('GET', 'imp/issuers?list=true', undefined, '')).json.data.keys).toHaveLength(1);
    const [[rootId, rootKey]] = Object.entries(first.json.data.mapping as Record<string, string>);
    // Each of the issuer and the key was imported by exactly one of the two; the other found it.
    const both = [first.json.data, second.json.data];
    expect(both.flatMap((d) => d.imported_issuers ?? [])).toEqual([rootId]);
    expect(both.flatMap((d) => d.existing_issuers ?? [])).toEqual([rootId]);
    expect(both.flatMap((d) => d.imported_keys ?? [])).toEqual([rootKey]);
    expect(both.flatMap((d) => d.existing_keys ?? [])).toEqual([rootKey]);
    expect(rootId).toMatch(UUID);
    expect((await call('GET', 'imp/config/issuers')).json.data.default).toBe(rootId);
    // The same bundle again: nothing new.
    const again = await call('PUT', 'imp/issuers/import/bundle', { pem_bundle: `${root.certPem}\n${root.keyPem}` });
    expect(again.json.data).toEqual({
      imported_issuers: null,
      imported_keys: null,
      mapping: { [rootId]: rootKey },
      existing_issuers: [rootId],
      existing_keys: [rootKey],
    });
    // A certificate without its key: an issuer without key_id; its chain is found among the mount's issuers.
    const cert = await call('PUT', 'imp/issuers/import/cert', { pem_bundle: int.certPem });
    const [intId] = cert.json.data.imported_issuers as string[];
    expect(cert.json.data.mapping).toEqual({ [intId]: '' });
    const intIssuer = (await call('GET', `imp/issuer/${intId}`)).json.data;
    expect(intIssuer).toMatchObject({ key_id: '', ca_chain: [int.certPem, root.certPem] });
    expect((await call('PUT', 'imp/roles/any', { allow_any_name: true, key_type: 'ec', key_bits: 256 })).status).toBe(204);
    expect((await call('PUT', `imp/issuer/${intId}/issue/any`, { common_name: 'a.example.com' })).json.errors).toEqual([
      `unable to fetch corresponding key for issuer ${intId}; unable to use this issuer for signing`,
    ]);
    // Its key, imported later, is matched to it.
    const imported = await call('PUT', 'imp/keys/import', { pem_bundle: int.keyPem, key_name: 'int-key' });
    expect(imported.json.data).toMatchObject({ key_name: 'int-key', key_type: 'ec' });
    expect((await call('GET', `imp/issuer/${intId}`)).json.data.key_id).toBe(imported.json.data.key_id);
    const again2 = await call('PUT', 'imp/keys/import', { pem_bundle: int.keyPem, key_name: 'other' });
    expect([again2.json.data, again2.json.warnings]).toEqual([
      { key_id: imported.json.data.key_id, key_name: 'int-key', key_type: 'ec' },
      ['Key already imported, use key/ endpoint to update name.'],
    ]);
    await refusedImport(
      'imp/keys/import',
      { pem_bundle: `${int.keyPem}${root.keyPem}` },
      'only a single key can be present within the pem_bundle for importing',
    );
    await refusedImport(
      'imp/keys/import',
      { pem_bundle: '/etc/ssl/private/ca.key' },
      'provided data for import was too short; perhaps a path was passed to the API rather than the contents of a PEM file',
    );
    // default_follows_latest_issuer: one new issuer with a key becomes the default; two at once leave it, with Vault's warning.
    expect((await call('POST', 'imp/config/issuers', { default_follows_latest_issuer: true })).json.data).toEqual({
      default: rootId,
      default_follows_latest_issuer: true,
    });
    const [r2, r3] = [opensslCa('ImpRoot2'), opensslCa('ImpRoot3')];
    const two = await call('PUT', 'imp/issuers/import/bundle', { pem_bundle: `${r2.keyPem}${r2.certPem}${r3.keyPem}${r3.certPem}` });
    expect(two.json.warnings).toContain(
      'Default issuer left unchanged: could not select new issuer automatically as multiple imported issuers had key material in Vault.',
    );
    expect((await call('GET', 'imp/config/issuers')).json.data.default).toBe(rootId);
    const r4 = opensslCa('ImpRoot4');
    const one = await call('PUT', 'imp/issuers/import/bundle', { pem_bundle: `${r4.certPem}${r4.keyPem}` });
    expect((await call('GET', 'imp/config/issuers')).json.data.default).toBe(one.json.data.imported_issuers[0]);
    expect((await call('POST', 'imp/config/issuers', { default: rootId, default_follows_latest_issuer: false })).status).toBe(200);
    // Refusals, none echoing the key.
    await refusedImport(
      'imp/issuers/import/cert',
      { pem_bundle: `${int.keyPem}${int.certPem}` },
      'private keys found in the PEM bundle but not allowed by the path; use /issuers/import/bundle',
    );
    await refusedImport('imp/config/ca', { pem_bundle: '' }, "'pem_bundle' and 'certificate' parameters were empty");
    const leaf = (await call('PUT', 'multi/issue/any', { common_name: 'leaf.example.com', ttl: '1h' })).json.data.certificate as string;
    await refusedImport('imp/issuers/import/cert', { pem_bundle: leaf }, 'Error parsing issuer 0: Refusing to import non-CA certificate');
    await refusedImport(
      'imp/config/ca',
      { pem_bundle: '/etc/ssl/ca.pem' },
      'provided data for import was too short; perhaps a path was passed to the API rather than the contents of a PEM file',
    );
    const broken = int.keyPem.replace(/\n([A-Za-z0-9+/]{10})/, '\n$1@@');
    const bad = await call('PUT', 'imp/config/ca', { pem_bundle: broken });
    expect(bad.status).toBe(400);
    expect(bad.body).not.toContain(int.keyPem.split('\n')[1].slice(0, 20));
    const notKey = await call('PUT', 'imp/config/ca', {
      pem_bundle: `-----BEGIN PRIVATE KEY-----\n${Buffer.from('not a key at all, just some bytes here').toString('base64')}\n-----END PRIVATE KEY-----\n`,
    });
    expect([notKey.status, notKey.json.errors]).toEqual([400, ['Error parsing key 0: the block is not an unencrypted private key']]);
  });

  it('issue and sign pick the issuer (path, then role; never the body); each issuer has its own CRL and OCSP answers', async () => {
    const a = (await call('GET', 'multi/issuer/root-a')).json.data;
    const c = (await call('PUT', 'multi/root/generate/internal', { common_name: 'Root C', issuer_name: 'root-c', key_type: 'ec', ttl: '720h' })).json.data;
    expect((await call('PUT', 'multi/roles/by-c', { allow_any_name: true, key_type: 'ec', key_bits: 256, issuer_ref: 'root-c' })).status).toBe(204);
    expect((await call('GET', 'multi/roles/by-c')).json.data.issuer_ref).toBe('root-c');
    expect((await call('GET', 'multi/roles/any')).json.data.issuer_ref).toBe('default');
    expect((await call('PUT', 'multi/roles/later', { allow_any_name: true, issuer_ref: 'root-z' })).json.warnings).toEqual([
      'Issuing Certificate was set to root-z but no issuing certificate currently has that name',
    ]);
    const byRole = (await call('PUT', 'multi/issue/by-c', { common_name: 'c.example.com', ttl: '1h' })).json.data;
    expect([byRole.issuing_ca, verifies(c.certificate, byRole.certificate, 'by-role')]).toEqual([c.certificate, true]);
    const byPath = (await call('PUT', 'multi/issuer/root-a/issue/by-c', { common_name: 'a.example.com', ttl: '1h' })).json.data;
    expect(verifies(a.certificate, byPath.certificate, 'by-path')).toBe(true);
    // issuer_ref in the body chooses nothing (Vault's): the ACL on issuer/:ref/... decides who picks an issuer.
    const byBody = (await call('PUT', 'multi/issue/any', { common_name: 'b.example.com', ttl: '1h', issuer_ref: c.issuer_id })).json;
    expect([verifies(a.certificate, byBody.data.certificate, 'by-body'), byBody.warnings]).toEqual([
      true,
      ['Endpoint ignored these unrecognized parameters: [issuer_ref]'],
    ]);
    const csrKey = file('multi-csr.key', execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']));
    const csr = execFileSync('openssl', ['req', '-new', '-key', csrKey, '-subj', '/CN=s.example.com'], { encoding: 'utf8' });
    expect(verifies(c.certificate, (await call('PUT', 'multi/issuer/root-c/sign/any', { csr, ttl: '1h' })).json.data.certificate, 'sign-path')).toBe(true);
    expect(verifies(c.certificate, (await call('PUT', 'multi/issuer/root-c/sign-verbatim', { csr, ttl: '1h' })).json.data.certificate, 'verbatim-path')).toBe(
      true,
    );
    expect(verifies(a.certificate, (await call('PUT', 'multi/sign-verbatim', { csr, ttl: '1h' })).json.data.certificate, 'verbatim-default')).toBe(true);
    const unknown = await call('PUT', 'multi/issue/later', { common_name: 'x.example.com' });
    expect([unknown.status, unknown.json.errors]).toEqual([400, ['unable to find PKI issuer for reference: root-z']]);

    // leaf_not_after_behavior: truncate cuts a leaf to the issuer; usage without issuing-certificates refuses to issue.
    expect(
      (
        await call('PATCH', 'multi/issuer/root-c', { leaf_not_after_behavior: 'truncate' }, undefined, {
          headers: { 'content-type': 'application/merge-patch+json' },
        })
      ).status,
    ).toBe(200);
    const cut = (await call('PUT', 'multi/issue/by-c', { common_name: 'long.example.com', ttl: '8000h' })).json.data;
    expect(new X509Certificate(cut.certificate).validTo).toBe(new X509Certificate(c.certificate).validTo);
    expect(
      (
        await call('PATCH', 'multi/issuer/root-c', { usage: 'crl-signing,ocsp-signing' }, undefined, {
          headers: { 'content-type': 'application/merge-patch+json' },
        })
      ).status,
    ).toBe(200);
    const noIssuing = await call('PUT', 'multi/issue/by-c', { common_name: 'c.example.com' });
    expect([noIssuing.status, noIssuing.json.errors]).toEqual([
      400,
      [`error while attempting to use issuer ${c.issuer_id}: requested usage issuing-certificates but only had usage crl-signing,ocsp-signing,read-only`],
    ]);

    // An issuer is not revoked through revoke (Vault's message), default or not.
    const info = (await call('GET', 'multi/issuers?list=true', undefined, '')).json.data.key_info as Record<string, { serial_number: string }>;
    for (const id of [a.issuer_id, c.issuer_id])
      expect((await call('PUT', 'multi/revoke', { serial_number: info[id].serial_number })).json.errors).toEqual([
        `adding issuer (id: ${id}) to its own CRL is not allowed`,
      ]);
    // Revocations land in their own issuer's CRL, each signed by its issuer; the mount's crl is the default issuer's.
    await call('PUT', 'multi/revoke', { serial_number: byRole.serial_number });
    await call('PUT', 'multi/revoke', { serial_number: byPath.serial_number });
    const crlText = async (path: string, caPem: string, name: string) => {
      const crl = file(`${name}.crl.pem`, (await call('GET', path, undefined, '')).body as string);
      const out = openssl('crl', '-in', crl, '-CAfile', file(`${name}-ca.pem`, caPem), '-noout', '-text');
      expect(out.out).toContain('verify OK');
      return out.out.toLowerCase();
    };
    const hex = (s: string) => s.replace(/:/g, '');
    const cCrl = await crlText('multi/issuer/root-c/crl/pem', c.certificate, 'c');
    expect([cCrl.includes(hex(byRole.serial_number)), cCrl.includes(hex(byPath.serial_number))]).toEqual([true, false]);
    const aCrl = await crlText('multi/crl/pem', a.certificate, 'a');
    expect([aCrl.includes(hex(byRole.serial_number)), aCrl.includes(hex(byPath.serial_number))]).toEqual([false, true]);
    expect((await call('GET', 'multi/issuer/root-c/crl', undefined, '')).json.data.crl).toMatch(/^-----BEGIN X509 CRL-----/);
    const der = await call('GET', 'multi/issuer/root-c/crl/der', undefined, '');
    expect(der.headers['content-type']).toBe('application/pkix-crl');
    // OCSP: answered (and signed) by the issuer of the certificate asked about.
    for (const [cert, caPem, state] of [
      [byRole.certificate, c.certificate, 'revoked'],
      [byBody.data.certificate, a.certificate, 'good'],
      [byPath.certificate, a.certificate, 'revoked'],
    ] as const) {
      const caFile = file('ocsp-ca.pem', caPem);
      const certFile = file('ocsp-cert.pem', cert);
      const reqFile = join(dir, 'multi.ocsp-req');
      execFileSync('openssl', ['ocsp', '-issuer', caFile, '-cert', certFile, '-reqout', reqFile], { stdio: 'ignore' });
      const res = await call('POST', 'multi/ocsp', readFileSync(reqFile), '', { headers: { 'content-type': 'application/ocsp-request' } });
      const status = openssl(
        'ocsp',
        '-respin',
        file('multi.ocsp-resp', res.bytes as Buffer),
        '-issuer',
        caFile,
        '-cert',
        certFile,
        '-CAfile',
        caFile,
        '-no_nonce',
      );
      expect(status.out).toContain(`: ${state}`);
      expect(status.out).toContain('Response verify OK');
    }
  });

  it('root/rotate, root/replace, intermediate/cross-sign, keys/generate and DELETE root', async () => {
    const old = (await call('PUT', 'rot/root/generate/internal', { common_name: 'Rot Root', issuer_name: 'root-2025', key_type: 'ec' })).json.data;
    const next = await call('PUT', 'rot/root/rotate/internal', { common_name: 'Rot Root', key_type: 'ec' });
    expect(next.json.data).toMatchObject({ issuer_name: 'next', issuer_id: expect.stringMatching(UUID) });
    expect((await call('GET', 'rot/config/issuers')).json.data.default).toBe(old.issuer_id);
    expect((await call('PUT', 'rot/root/rotate/internal', { common_name: 'Again', key_type: 'ec' })).json.errors).toEqual(['issuer name already in use']);
    expect((await call('PUT', 'rot/root/replace', {})).json.data).toEqual({ default: next.json.data.issuer_id, default_follows_latest_issuer: false });
    expect((await call('PUT', 'rot/root/replace', { default: 'nope' })).json.errors).toEqual([
      'Error resolving issuer reference: unable to find PKI issuer for reference: nope',
    ]);

    // Cross-sign: a CSR for the new root's key, signed by the old root, installed as another issuer on that key.
    const cross = await call('PUT', 'rot/intermediate/cross-sign', { common_name: 'Rot Root', key_ref: next.json.data.key_id });
    expect(cross.json.data.key_id).toBe(next.json.data.key_id);
    const signed = await call('PUT', 'rot/issuer/root-2025/sign-intermediate', { csr: cross.json.data.csr, common_name: 'Rot Root', ttl: '24h' });
    expect(verifies(old.certificate, signed.json.data.certificate, 'cross')).toBe(true);
    const set = (await call('PUT', 'rot/intermediate/set-signed', { certificate: signed.json.data.certificate })).json.data;
    const [crossId] = set.imported_issuers as string[];
    expect(set.mapping).toEqual({ [crossId]: next.json.data.key_id });
    expect((await call('GET', `rot/issuer/${crossId}`)).json.data.ca_chain).toEqual([signed.json.data.certificate, old.certificate]);
    expect((await call('PUT', 'rot/intermediate/cross-sign', { common_name: 'x', key_ref: 'nope' })).json.errors).toEqual([
      'unable to find PKI key for reference: nope',
    ]);
    // The new root and its cross-signed copy are one CA (same key and subject): a revocation under either is in both CRLs and over OCSP.
    expect((await call('PUT', 'rot/roles/any', { allow_any_name: true, key_type: 'ec', key_bits: 256 })).status).toBe(204);
    const leaf = (await call('PUT', 'rot/issuer/next/issue/any', { common_name: 'l.example.com', ttl: '1h' })).json.data;
    await call('PUT', 'rot/revoke', { serial_number: leaf.serial_number });
    for (const ref of ['next', crossId]) {
      const crl = file(`rot-${ref}.crl.pem`, (await call('GET', `rot/issuer/${ref}/crl/pem`, undefined, '')).body as string);
      const text = openssl('crl', '-in', crl, '-CAfile', file('rot-next.pem', next.json.data.certificate), '-noout', '-text');
      expect([ref, text.out.includes('verify OK'), text.out.toLowerCase().includes(leaf.serial_number.replace(/:/g, ''))]).toEqual([ref, true, true]);
    }
    const nextFile = file('rot-next.pem', next.json.data.certificate);
    const leafFile = file('rot-leaf.pem', leaf.certificate);
    const reqFile = join(dir, 'rot.ocsp-req');
    execFileSync('openssl', ['ocsp', '-issuer', nextFile, '-cert', leafFile, '-reqout', reqFile], { stdio: 'ignore' });
    const ocsp = await call('POST', 'rot/ocsp', readFileSync(reqFile), '', { headers: { 'content-type': 'application/ocsp-request' } });
    const status = openssl(
      'ocsp',
      '-respin',
      file('rot.ocsp-resp', ocsp.bytes as Buffer),
      '-issuer',
      nextFile,
      '-cert',
      leafFile,
      '-CAfile',
      nextFile,
      '-no_nonce',
    ).out;
    expect([status.includes(': revoked'), status.includes('Response verify OK')]).toEqual([true, true]);

    // keys/generate: internal keeps the key inside; exported returns it once; existing roots on it.
    const internal = (await call('PUT', 'rot/keys/generate/internal', { key_name: 'spare', key_type: 'ec', key_bits: 384 })).json.data;
    expect(internal).toEqual({ key_id: expect.stringMatching(UUID), key_name: 'spare', key_type: 'ec' });
    const exported = (await call('PUT', 'rot/keys/generate/exported', { key_type: 'rsa', key_bits: 2048 })).json.data;
    expect(createPrivateKey(exported.private_key).asymmetricKeyType).toBe('rsa');
    const onSpare = (await call('PUT', 'rot/root/generate/existing', { common_name: 'On Spare', key_ref: 'spare' })).json.data;
    expect(onSpare.key_id).toBe(internal.key_id);
    expect((await call('PUT', 'rot/keys/generate/internal', { key_name: 'spare' })).json.errors).toEqual(['key name already in use']);

    // default_follows_latest_issuer: a new root becomes the default at once.
    expect((await call('POST', 'rot/config/issuers', { default_follows_latest_issuer: true })).status).toBe(200);
    const latest = (await call('PUT', 'rot/root/generate/internal', { common_name: 'Latest', key_type: 'ec' })).json.data;
    expect((await call('GET', 'rot/config/issuers')).json.data).toEqual({ default: latest.issuer_id, default_follows_latest_issuer: true });

    // DELETE root: every issuer and key goes; issued certificates stay in the store.
    expect((await call('DELETE', 'rot/root')).status).toBe(204);
    expect((await call('GET', 'rot/issuers?list=true', undefined, '')).status).toBe(404);
    expect((await call('GET', 'rot/keys?list=true')).status).toBe(404);
    expect((await call('GET', 'rot/config/issuers')).json.data).toEqual({ default: '', default_follows_latest_issuer: true });
    expect((await call('GET', 'rot/config/keys')).json.data).toEqual({ default: '' });
    expect((await call('GET', `rot/cert/${signed.json.data.serial_number}`, undefined, '')).status).toBe(200);
  });

  it('two nodes: a change to an issuer on one is what the other signs with, once the bus has told it', async () => {
    const other = await openTestKernel({ dataSource: k.dataSource, url: k.url });
    try {
      await other.seal.submitUnsealKey(unsealKey, false);
      const callOther = auditedPipeline(other, rootToken);
      const a = (await call('PUT', 'nodes/root/generate/internal', { common_name: 'Node A', issuer_name: 'a', key_type: 'ec' })).json.data;
      const b = (await call('PUT', 'nodes/root/generate/internal', { common_name: 'Node B', issuer_name: 'b', key_type: 'ec' })).json.data;
      expect((await call('PUT', 'nodes/roles/any', { allow_any_name: true, key_type: 'ec', key_bits: 256 })).status).toBe(204);
      const issuingCa = async () => (await callOther('PUT', 'nodes/issue/any', { common_name: 'n.example.com', ttl: '1h' })).json.data?.issuing_ca;
      expect(await issuingCa()).toBe(a.certificate);
      expect((await call('POST', 'nodes/config/issuers', { default: 'b' })).status).toBe(200);
      const waitFor = async (check: () => Promise<boolean>) => {
        for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
        expect(await check()).toBe(true);
      };
      await waitFor(async () => (await issuingCa()) === b.certificate);
      expect(
        (await call('PATCH', 'nodes/issuer/b', { usage: 'read-only' }, undefined, { headers: { 'content-type': 'application/merge-patch+json' } })).status,
      ).toBe(200);
      await waitFor(async () => (await callOther('PUT', 'nodes/issue/any', { common_name: 'n.example.com' })).status === 400);
    } finally {
      // Sealing is this process's own (its keys and caches); the data source is k's, closed with k.
      await other.seal.seal();
      await other.bus.stop();
    }
  });
});
