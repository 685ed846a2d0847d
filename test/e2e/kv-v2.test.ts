/** KV version 2 over HTTP against Vault's documented semantics; values bound to their row. */
import { Client } from 'pg';
import { createTestDatabase } from '../support/database';
import { call, rawRequest } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

const MERGE_PATCH = { 'Content-Type': 'application/merge-patch+json' };

describe('KV v2 (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  let databaseUrl: string;
  const token = 'hvs.kvtestroot';
  const put = (path: string, data: unknown, options?: unknown) =>
    call(a, 'POST', `secret/data/${path}`, { token, body: options === undefined ? { data } : { data, options } });

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    server = await startServerProcess({ databaseUrl, args: ['--dev', '--dev-root-token-id', token], readyText: 'should NOT be used' });
    a = server.address;
  });
  afterAll(async () => server?.stop());

  it('dev mode mounts KV v2 at secret/; the CLI preflight sees version 2', async () => {
    const m = await call(a, 'GET', 'sys/internal/ui/mounts/secret/x', { token });
    expect(m.body.data).toMatchObject({ path: 'secret/', type: 'kv', options: { version: '2' } });
  });

  it('writes versions, reads latest and by version, with Vault shapes', async () => {
    const w1 = await put('app/db', { user: 'u1', pw: 'p1' });
    expect(w1.body.data).toEqual({ created_time: expect.stringMatching(/Z$/), custom_metadata: null, deletion_time: '', destroyed: false, version: 1 });
    expect((await put('app/db', { user: 'u2' })).body.data.version).toBe(2);
    const latest = await call(a, 'GET', 'secret/data/app/db', { token });
    expect(latest.body).toMatchObject({ data: { data: { user: 'u2' }, metadata: { version: 2, destroyed: false, deletion_time: '' } }, mount_type: 'kv' });
    expect((await call(a, 'GET', 'secret/data/app/db?version=1', { token })).body.data.data).toEqual({ user: 'u1', pw: 'p1' });
    expect(await call(a, 'GET', 'secret/data/app/db?version=9', { token })).toMatchObject({ status: 404, body: { errors: [] } });
    expect(await call(a, 'GET', 'secret/data/app/none', { token })).toMatchObject({ status: 404, body: { errors: [] } });
    expect((await call(a, 'POST', 'secret/data/app/db', { token, body: { user: 'no-data-wrapper' } })).body.errors).toEqual(['no data provided']);
  });

  it('check-and-set: mismatch, cas=0 on existing keys, cas_required on the mount and on the key', async () => {
    await put('cas/k', { v: 1 });
    expect((await put('cas/k', { v: 2 }, { cas: 0 })).body.errors).toEqual(['check-and-set parameter did not match the current version']);
    expect((await put('cas/k', { v: 2 }, { cas: 5 })).status).toBe(400);
    expect((await put('cas/k', { v: 2 }, { cas: 1 })).body.data.version).toBe(2);
    expect((await put('cas/new', { v: 1 }, { cas: 0 })).body.data.version).toBe(1);
    expect((await put('cas/k', { v: 3 }, { cas: 'x' })).body.errors).toEqual(['error parsing check-and-set parameter']);
    expect((await call(a, 'POST', 'secret/metadata/cas/k', { token, body: { cas_required: true } })).status).toBe(204);
    expect((await put('cas/k', { v: 3 })).body.errors).toEqual(['check-and-set parameter required for this call']);
    expect((await put('cas/other', { v: 1 })).status).toBe(200);
    await call(a, 'POST', 'sys/mounts/strict', { token, body: { type: 'kv-v2' } });
    await call(a, 'POST', 'strict/config', { token, body: { cas_required: true } });
    expect((await call(a, 'GET', 'strict/config', { token })).body.data).toEqual({ cas_required: true, delete_version_after: '0s', max_versions: 0 });
    expect((await call(a, 'POST', 'strict/data/k', { token, body: { data: { a: 1 } } })).body.errors).toEqual([
      'check-and-set parameter required for this call',
    ]);
    expect((await call(a, 'POST', 'strict/data/k', { token, body: { data: { a: 1 }, options: { cas: 0 } } })).status).toBe(200);
  });

  it('50 concurrent writes with the same cas: exactly one wins', async () => {
    await put('race/k', { v: 0 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => put('race/k', { v: i + 1 }, { cas: 1 })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400)).toHaveLength(49);
  });

  it('prunes beyond max_versions (key, then mount) and reports oldest_version', async () => {
    await call(a, 'POST', 'secret/metadata/prune/k', { token, body: { max_versions: 2 } });
    for (let i = 1; i <= 4; i++) await put('prune/k', { i });
    const meta = (await call(a, 'GET', 'secret/metadata/prune/k', { token })).body.data;
    expect(Object.keys(meta.versions)).toEqual(['3', '4']);
    expect(meta).toMatchObject({ current_version: 4, oldest_version: 3, max_versions: 2 });
    expect((await call(a, 'GET', 'secret/data/prune/k?version=1', { token })).status).toBe(404);
    await call(a, 'POST', 'sys/mounts/three', { token, body: { type: 'kv', options: { version: '2' } } });
    await call(a, 'POST', 'three/config', { token, body: { max_versions: 3 } });
    for (let i = 1; i <= 5; i++) await call(a, 'POST', 'three/data/k', { token, body: { data: { i } } });
    expect(Object.keys((await call(a, 'GET', 'three/metadata/k', { token })).body.data.versions)).toEqual(['3', '4', '5']);
  });

  it('delete, undelete and destroy; deleted and destroyed versions read as 404 with metadata', async () => {
    for (let i = 1; i <= 3; i++) await put('life/k', { i });
    expect((await call(a, 'DELETE', 'secret/data/life/k', { token })).status).toBe(204);
    const deleted = await call(a, 'GET', 'secret/data/life/k', { token });
    expect(deleted.status).toBe(404);
    expect(deleted.body.data.data).toBeNull();
    expect(deleted.body.data.metadata).toMatchObject({ version: 3, destroyed: false, deletion_time: expect.stringMatching(/Z$/) });
    expect((await call(a, 'POST', 'secret/undelete/life/k', { token, body: { versions: [3] } })).status).toBe(204);
    expect((await call(a, 'GET', 'secret/data/life/k', { token })).body.data.data).toEqual({ i: 3 });
    expect((await call(a, 'POST', 'secret/delete/life/k', { token, body: { versions: [1, 2] } })).status).toBe(204);
    expect((await call(a, 'GET', 'secret/data/life/k?version=2', { token })).status).toBe(404);
    expect((await call(a, 'PUT', 'secret/destroy/life/k', { token, body: { versions: [1] } })).status).toBe(204);
    const destroyed = await call(a, 'GET', 'secret/data/life/k?version=1', { token });
    expect(destroyed).toMatchObject({ status: 404, body: { data: { data: null, metadata: { destroyed: true, version: 1 } } } });
    expect((await call(a, 'POST', 'secret/undelete/life/k', { token, body: { versions: [1] } })).body.errors).toEqual([
      'cannot undelete destroyed versions: 1',
    ]);
    expect((await call(a, 'POST', 'secret/undelete/life/k', { token, body: {} })).body.errors).toEqual(['no versions provided']);
    // The destroyed value is gone from storage, not just hidden.
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const rows = await db.query(
      `SELECT v.encrypted_data FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.secret_path = 'life/k' AND v.version = 1`,
    );
    await db.end();
    expect(rows.rows[0].encrypted_data).toBeNull();
  });

  it('PATCH merges into the latest version, needs an existing live secret', async () => {
    await put('patch/k', { a: 'x', nested: { b: 1, c: 2 } });
    const plainJson = await call(a, 'PATCH', 'secret/data/patch/k', { token, body: { data: { a: 'z' } } });
    expect(plainJson.status).toBe(415);
    expect(plainJson.body.errors[0]).toContain('PATCH requires Content-Type of application/merge-patch+json');
    const patched = await call(a, 'PATCH', 'secret/data/patch/k', { token, body: { data: { a: 'y', nested: { c: null } } }, headers: MERGE_PATCH });
    expect(patched.body.data.version).toBe(2);
    expect((await call(a, 'GET', 'secret/data/patch/k', { token })).body.data.data).toEqual({ a: 'y', nested: { b: 1 } });
    expect((await call(a, 'PATCH', 'secret/data/patch/missing', { token, body: { data: { a: 1 } }, headers: MERGE_PATCH })).status).toBe(404);
    await call(a, 'DELETE', 'secret/data/patch/k', { token });
    expect((await call(a, 'PATCH', 'secret/data/patch/k', { token, body: { data: { a: 1 } }, headers: MERGE_PATCH })).status).toBe(404);
  });

  it('metadata: custom_metadata write and patch, list with folders, empty prefix 404, delete removes every version', async () => {
    await put('meta/a', { v: 1 });
    await put('meta/dir/b', { v: 1 });
    expect(
      (await call(a, 'POST', 'secret/metadata/meta/a', { token, body: { custom_metadata: { owner: 'ops', tier: '1' }, delete_version_after: '1h' } })).status,
    ).toBe(204);
    expect(
      (await call(a, 'PATCH', 'secret/metadata/meta/a', { token, body: { custom_metadata: { tier: null, team: 'x' } }, headers: MERGE_PATCH })).status,
    ).toBe(204);
    const meta = (await call(a, 'GET', 'secret/metadata/meta/a', { token })).body.data;
    expect(meta).toMatchObject({ custom_metadata: { owner: 'ops', team: 'x' }, delete_version_after: '1h0m0s' });
    expect((await put('meta/a', { v: 2 })).body.data).toMatchObject({
      custom_metadata: { owner: 'ops', team: 'x' },
      deletion_time: expect.stringMatching(/Z$/),
    });
    expect((await call(a, 'LIST', 'secret/metadata/meta', { token })).body.data.keys).toEqual(['a', 'dir/']);
    expect((await call(a, 'LIST', 'secret/metadata/nothing', { token })).status).toBe(404);
    expect((await call(a, 'PATCH', 'secret/metadata/meta/none', { token, body: { max_versions: 1 }, headers: MERGE_PATCH })).status).toBe(404);
    expect((await call(a, 'GET', 'secret/subkeys/meta/dir/b', { token })).body.data.subkeys).toEqual({ v: null });
    expect((await call(a, 'DELETE', 'secret/metadata/meta/a', { token })).status).toBe(204);
    expect((await call(a, 'GET', 'secret/metadata/meta/a', { token })).status).toBe(404);
    expect((await call(a, 'GET', 'secret/data/meta/a', { token })).status).toBe(404);
  });

  it('delete_version_after: a version reads until its deletion time, then as a deleted version; the shorter of key and mount wins', async () => {
    await call(a, 'POST', 'secret/metadata/short/k', { token, body: { delete_version_after: '1s' } });
    const written = (await put('short/k', { v: 1 })).body.data;
    const lifetime = Date.parse(written.deletion_time) - Date.parse(written.created_time);
    expect(lifetime).toBeGreaterThanOrEqual(900);
    expect(lifetime).toBeLessThanOrEqual(1100);
    expect((await call(a, 'GET', 'secret/data/short/k', { token })).body.data.data).toEqual({ v: 1 });
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(written.deletion_time) - Date.now()) + 200));
    const expired = await call(a, 'GET', 'secret/data/short/k', { token });
    expect(expired.status).toBe(404);
    expect(expired.body.data).toMatchObject({ data: null, metadata: { version: 1, deletion_time: written.deletion_time, destroyed: false } });
    // Undelete brings the version back for good (Vault clears its deletion time).
    await call(a, 'POST', 'secret/undelete/short/k', { token, body: { versions: [1] } });
    expect((await call(a, 'GET', 'secret/data/short/k', { token })).body.data).toMatchObject({ data: { v: 1 }, metadata: { deletion_time: '' } });

    // The mount's setting applies when the key's is longer or unset.
    await call(a, 'POST', 'sys/mounts/shortmount', { token, body: { type: 'kv', options: { version: '2' } } });
    await call(a, 'POST', 'shortmount/config', { token, body: { delete_version_after: '2s' } });
    await call(a, 'POST', 'shortmount/metadata/k', { token, body: { delete_version_after: '1h' } });
    const onMount = (await call(a, 'POST', 'shortmount/data/k', { token, body: { data: { v: 1 } } })).body.data;
    expect(Date.parse(onMount.deletion_time) - Date.parse(onMount.created_time)).toBeLessThanOrEqual(2100);
  });

  it('ACL tells data/, metadata/, delete/ and destroy/ apart; `..` in a KV path is refused', async () => {
    await put('acl/k', { v: 1 });
    await call(a, 'PUT', 'sys/policies/acl/kv-reader', {
      token,
      body: { policy: 'path "secret/data/acl/*" { capabilities = ["read"] }\npath "secret/metadata/acl/*" { capabilities = ["list"] }' },
    });
    const t = (await call(a, 'POST', 'auth/token/create', { token, body: { policies: ['kv-reader'] } })).body.auth.client_token;
    expect((await call(a, 'GET', 'secret/data/acl/k', { token: t })).status).toBe(200);
    expect((await call(a, 'LIST', 'secret/metadata/acl', { token: t })).body.data.keys).toEqual(['k']);
    expect((await call(a, 'LIST', 'secret/metadata', { token: t })).status).toBe(403);
    expect((await call(a, 'GET', 'secret/metadata/acl/k', { token: t })).status).toBe(403);
    expect((await call(a, 'POST', 'secret/data/acl/k', { token: t, body: { data: { v: 2 } } })).status).toBe(403);
    expect((await call(a, 'POST', 'secret/delete/acl/k', { token: t, body: { versions: [1] } })).status).toBe(403);
    expect((await call(a, 'POST', 'secret/destroy/acl/k', { token: t, body: { versions: [1] } })).status).toBe(403);
    expect((await call(a, 'DELETE', 'secret/data/acl/k', { token: t })).status).toBe(403);
    // fetch would resolve `..` itself: send the bytes as written.
    expect(
      (await rawRequest(server.port, `GET /v1/secret/data/acl/../other HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${t}\r\nConnection: close\r\n\r\n`)).status,
    ).toBe(400);
    expect(
      (await rawRequest(server.port, `GET /v1/secret/data/acl/%2e%2e/other HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${token}\r\nConnection: close\r\n\r\n`))
        .status,
    ).toBe(400);
  });

  it('create and update are told apart by whether the key exists: a create-only policy writes a key once', async () => {
    await call(a, 'PUT', 'sys/policies/acl/kv-once', {
      token,
      body: { policy: 'path "secret/data/once/*" { capabilities = ["create"] }\npath "secret/data/upd/*" { capabilities = ["update"] }' },
    });
    const t = (await call(a, 'POST', 'auth/token/create', { token, body: { policies: ['kv-once'] } })).body.auth.client_token;
    expect((await call(a, 'POST', 'secret/data/once/k', { token: t, body: { data: { v: 1 } } })).status).toBe(200);
    expect((await call(a, 'POST', 'secret/data/once/k', { token: t, body: { data: { v: 2 } } })).status).toBe(403);
    expect((await call(a, 'POST', 'secret/data/upd/k', { token: t, body: { data: { v: 1 } } })).status).toBe(403);
    await put('upd/k', { v: 1 });
    expect((await call(a, 'POST', 'secret/data/upd/k', { token: t, body: { data: { v: 2 } } })).status).toBe(200);
    expect((await call(a, 'GET', 'secret/data/once/k', { token })).body.data.data).toEqual({ v: 1 });
  });
  it('a value copied to another key fails to decrypt (500), and the clear value never reaches the log', async () => {
    await put('bind/one', { secret: 'value-one-1234' });
    await put('bind/two', { secret: 'value-two-5678' });
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    await db.query(`UPDATE secret_versions SET encrypted_data = (SELECT v.encrypted_data FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.secret_path = 'bind/one')
                    WHERE secret_id = (SELECT id FROM secrets WHERE secret_path = 'bind/two')`);
    await db.end();
    const res = await call(a, 'GET', 'secret/data/bind/two', { token });
    expect(res).toMatchObject({ status: 500, body: { errors: ['internal error'] } });
    expect(server.output()).not.toContain('value-one-1234');
  });
});
