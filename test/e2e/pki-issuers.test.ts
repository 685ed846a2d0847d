/**
 * Several pki issuers over HTTP against the built server: Vault's rotation flow (root/rotate,
 * cross-sign, root/replace), PATCH with a merge-patch body, LIST issuers and each issuer's CRL
 * without a token, a PEM bundle import, and references that resolve to nothing.
 */
import { X509Certificate } from 'node:crypto';
import { createTestDatabase } from '../support/database';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('pki issuers over HTTP (e2e)', () => {
  let server: ServerProcess;
  const root = 'hvs.pkiissuersroot';
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.address}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': root, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json');
    return { status: res.status, type: res.headers.get('content-type'), text, json: isJson && text ? JSON.parse(text) : {} };
  };

  beforeAll(async () => {
    server = await startServerProcess({
      databaseUrl: await createTestDatabase(),
      args: ['--dev', '--dev-root-token-id', root],
      readyText: 'should NOT be used',
    });
    expect((await api('POST', 'sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: '87600h' } })).status).toBe(204);
  });
  afterAll(async () => server?.stop());

  it("Vault's rotation: a new root next to the old one, cross-signed by it, then made the default; leaves follow the role's issuer_ref", async () => {
    const old = (await api('POST', 'pki/root/generate/internal', { common_name: 'example.com', issuer_name: 'root-2024', key_type: 'ec', ttl: '8760h' })).json
      .data;
    expect((await api('POST', 'pki/roles/web', { allow_any_name: true, key_type: 'ec', key_bits: 256, issuer_ref: 'root-2024' })).status).toBe(204);
    const next = (await api('POST', 'pki/root/rotate/internal', { common_name: 'example.com', issuer_name: 'root-2025', key_type: 'ec', ttl: '8760h' })).json
      .data;
    const csr = (await api('POST', 'pki/intermediate/cross-sign', { common_name: 'example.com', key_ref: next.key_id })).json.data.csr;
    const cross = (await api('POST', 'pki/issuer/root-2024/sign-intermediate', { csr, common_name: 'example.com', ttl: '4380h' })).json.data;
    const set = await api('POST', 'pki/intermediate/set-signed', { certificate: cross.certificate });
    expect(Object.values(set.json.data.mapping)).toEqual([next.key_id]);
    expect((await api('POST', 'pki/root/replace', { default: 'root-2025' })).json.data.default).toBe(next.issuer_id);

    // The role still names root-2024; the path overrides it; the default serves `ca`.
    const byRole = (await api('POST', 'pki/issue/web', { common_name: 'a.example.com', ttl: '1h' })).json.data;
    expect(new X509Certificate(byRole.certificate).checkIssued(new X509Certificate(old.certificate))).toBe(true);
    const byPath = (await api('POST', 'pki/issuer/root-2025/issue/web', { common_name: 'b.example.com', ttl: '1h' })).json.data;
    expect(new X509Certificate(byPath.certificate).checkIssued(new X509Certificate(next.certificate))).toBe(true);
    expect((await api('GET', 'pki/ca/pem', undefined, { 'x-vault-token': '' })).text).toBe(next.certificate);

    // Without a token: LIST issuers and each issuer's CRL.
    const list = await fetch(`${server.address}/v1/pki/issuers`, { method: 'LIST' });
    const keys = ((await list.json()) as { data: { keys: string[]; key_info: Record<string, { issuer_name: string }> } }).data;
    expect(
      Object.values(keys.key_info)
        .map((i) => i.issuer_name)
        .sort(),
    ).toEqual(['', 'root-2024', 'root-2025']);
    await api('POST', 'pki/revoke', { serial_number: byRole.serial_number });
    const crl = await fetch(`${server.address}/v1/pki/issuer/root-2024/crl/der`);
    expect(crl.headers.get('content-type')).toBe('application/pkix-crl');
    expect(Buffer.from(await crl.arrayBuffer()).toString('hex')).toContain(byRole.serial_number.replace(/:/g, ''));
  });

  it("PATCH with application/merge-patch+json changes what it is sent; unknown references are 4xx with Vault's messages", async () => {
    const patched = await api(
      'PATCH',
      'pki/issuer/root-2024',
      { leaf_not_after_behavior: 'truncate', usage: ['read-only', 'issuing-certificates', 'crl-signing'] },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(patched.json.data).toMatchObject({
      issuer_name: 'root-2024',
      leaf_not_after_behavior: 'truncate',
      usage: 'crl-signing,issuing-certificates,read-only',
    });
    const bad = await api('PATCH', 'pki/issuer/root-2024', { usage: 'signing' }, { 'content-type': 'application/merge-patch+json' });
    expect([bad.status, bad.json.errors]).toEqual([
      400,
      ['Unable to parse specified usages: [signing] - valid values are crl-signing,issuing-certificates,ocsp-signing,read-only'],
    ]);
    expect((await api('GET', 'pki/issuer/nope')).status).toBe(404);
    const issue = await api('POST', 'pki/issuer/nope/issue/web', { common_name: 'a.example.com' });
    expect([issue.status, issue.json.errors]).toEqual([400, ['unable to find PKI issuer for reference: nope']]);
    const key = await api('GET', 'pki/key/nope');
    expect([key.status, key.json.errors]).toEqual([400, ['unable to find PKI key for reference: nope']]);
  });
});
