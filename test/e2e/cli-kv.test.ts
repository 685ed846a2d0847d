/** `secrethub kv ...` against a dev server: the same commands, flags, output and exit codes as `vault kv`. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

describe('CLI: kv (e2e)', () => {
  let server: ServerProcess;
  const root = 'hvs.clikvroot';
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-kv-'));
  const kv = (args: string[], stdin = '') => runCli(['kv', ...args], { VAULT_ADDR: server.address, VAULT_TOKEN: root }, stdin);
  const json = async (args: string[]) => {
    const res = await kv([...args, '-format=json']);
    expect(res.stderr).toBe('');
    return JSON.parse(res.stdout);
  };

  beforeAll(async () => {
    server = await startServerProcess({
      databaseUrl: await createTestDatabase(),
      args: ['--dev', '--dev-root-token-id', root],
      readyText: 'should NOT be used',
    });
    await call(server.address, 'POST', 'sys/mounts/old', { token: root, body: { type: 'kv', options: { version: '1' } } });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('put and get: key=value, @file, stdin, -mount, -version, -field, tables and JSON', async () => {
    writeFileSync(join(dir, 'cert.pem'), 'PEM-BYTES\n');
    const put = await kv(['put', 'secret/app/db', 'user=u1', `cert=@${join(dir, 'cert.pem')}`]);
    expect(put.code).toBe(0);
    expect(put.stdout).toMatch(/^=+ Secret Path =+\nsecret\/data\/app\/db\n\n=+ Metadata =+\nKey +Value\n---/);
    expect(put.stdout).toMatch(/custom_metadata +<nil>\ndeletion_time +n\/a\ndestroyed +false\nversion +1/);
    expect((await json(['put', '-mount=secret', 'app/db', 'user=u2', 'pw=-'])).data.version).toBe(2);
    await kv(['put', '-mount=secret', 'app/db', 'pw=from-stdin'], 'from-stdin\n');

    const got = await kv(['get', 'secret/app/db']);
    expect(got.stdout).toMatch(/=+ Data =+\nKey +Value\n---  +-----\npw +from-stdin\n/);
    expect((await kv(['get', '-version=1', '-field=cert', 'secret/app/db'])).stdout).toBe('PEM-BYTES\n');
    expect((await kv(['get', '-mount=secret', '-version=2', '-field=user', 'app/db'])).stdout).toBe('u2');
    const full = await json(['get', 'secret/app/db']);
    expect(full.data).toMatchObject({ data: { pw: 'from-stdin' }, metadata: { version: 3 } });

    const missing = await kv(['get', 'secret/app/none']);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toContain('No value found at secret/data/app/none');
    expect((await kv(['put', 'secret/app/empty'])).code).toBe(1);
    expect((await kv(['get', '-field=nope', 'secret/app/db'])).stderr).toContain('Field "nope" not present in secret');
  });

  it('check-and-set, patch (merge patch and read-write), rollback', async () => {
    await kv(['put', 'secret/cas/k', 'a=1', 'b=2']);
    const conflict = await kv(['put', '-cas=0', 'secret/cas/k', 'a=3']);
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toContain('check-and-set parameter did not match the current version');
    expect((await json(['put', '-cas=1', 'secret/cas/k', 'a=3'])).data.version).toBe(2);

    expect((await json(['patch', 'secret/cas/k', 'c=4'])).data.version).toBe(3);
    expect((await json(['patch', '-method=rw', '-remove=b', 'secret/cas/k', 'a=5'])).data.version).toBe(4);
    expect((await json(['get', 'secret/cas/k'])).data.data).toEqual({ a: '5', c: '4' });
    expect((await kv(['patch', '-cas=1', 'secret/cas/k', 'a=6'])).code).toBe(2);
    expect((await kv(['patch', 'secret/cas/none', 'a=1'])).code).toBe(2);

    const rolled = await json(['rollback', '-version=1', 'secret/cas/k']);
    expect(rolled.data.version).toBe(5);
    expect((await json(['get', 'secret/cas/k'])).data.data).toEqual({ a: '1', b: '2' });
    await kv(['destroy', '-versions=2', 'secret/cas/k']);
    const refused = await kv(['rollback', '-version=2', 'secret/cas/k']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Cannot roll back to a version that has been destroyed');
  });

  it('delete, undelete, destroy, list; a deleted version still shows its metadata', async () => {
    await kv(['put', 'secret/life/a', 'v=1']);
    await kv(['put', 'secret/life/a', 'v=2']);
    await kv(['put', 'secret/life/dir/b', 'v=1']);
    expect((await kv(['delete', 'secret/life/a'])).stdout).toBe('Success! Data deleted (if it existed) at: secret/data/life/a\n');
    const deleted = await kv(['get', 'secret/life/a']);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toMatch(/deletion_time +\d{4}-/);
    expect(deleted.stdout).not.toContain('== Data ==');
    expect((await kv(['get', '-field=v', 'secret/life/a'])).code).toBe(2);
    expect((await kv(['undelete', '-versions=2', 'secret/life/a'])).stdout).toBe('Success! Data written to: secret/undelete/life/a\n');
    expect((await json(['get', 'secret/life/a'])).data.data).toEqual({ v: '2' });
    expect((await kv(['delete', '-versions=1', 'secret/life/a'])).stdout).toContain('secret/delete/life/a');
    expect((await kv(['destroy', 'secret/life/a'])).code).toBe(1);
    expect((await kv(['destroy', '-versions=2', 'secret/life/a'])).code).toBe(0);
    expect((await json(['get', 'secret/life/a'])).data.metadata).toMatchObject({ version: 2, destroyed: true });

    expect((await kv(['list', 'secret/life'])).stdout).toBe('Keys\n----\na\ndir/\n');
    expect(await json(['list', '-mount=secret', 'life/dir'])).toEqual(['b']);
    const empty = await kv(['list', 'secret/nothing']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('No value found at secret/metadata/nothing');
  });

  it('metadata get, put, patch and delete', async () => {
    await kv(['put', 'secret/meta/k', 'v=1']);
    const put = await kv([
      'metadata',
      'put',
      '-max-versions=2',
      '-cas-required',
      '-delete-version-after=1h',
      '-custom-metadata=owner=ops',
      '-custom-metadata=tier=1',
      'secret/meta/k',
    ]);
    expect(put.stdout).toBe('Success! Data written to: secret/metadata/meta/k\n');
    const meta = await kv(['metadata', 'get', 'secret/meta/k']);
    expect(meta.stdout).toMatch(/=+ Metadata Path =+\nsecret\/metadata\/meta\/k\n\n=+ Metadata =+\n/);
    expect(meta.stdout).toMatch(/cas_required +true\n/);
    expect(meta.stdout).toMatch(/delete_version_after +1h0m0s\n/);
    expect(meta.stdout).toMatch(/=+ Version 1 =+\nKey +Value\n/);
    expect((await kv(['put', 'secret/meta/k', 'v=2'])).stderr).toContain('check-and-set parameter required');
    await kv(['metadata', 'patch', '-cas-required=false', '-custom-metadata=tier=2', 'secret/meta/k']);
    const after = (await json(['metadata', 'get', 'secret/meta/k'])).data;
    expect(after).toMatchObject({ cas_required: false, max_versions: 2, custom_metadata: { owner: 'ops', tier: '2' } });
    expect((await kv(['metadata', 'delete', 'secret/meta/k'])).stdout).toBe('Success! Data deleted (if it existed) at: secret/metadata/meta/k\n');
    expect((await kv(['metadata', 'get', 'secret/meta/k'])).code).toBe(2);
  });

  it('KV version 1 mounts: put, get, list, delete; version-2-only commands refused', async () => {
    expect((await kv(['put', 'old/app', 'user=u1'])).stdout).toBe('Success! Data written to: old/app\n');
    expect((await kv(['get', 'old/app'])).stdout).toMatch(/=+ Data =+\nKey +Value\n--- +-----\nuser +u1\n/);
    expect((await kv(['get', '-mount=old', '-field=user', 'app'])).stdout).toBe('u1');
    expect(await json(['list', 'old'])).toEqual(['app']);
    const refused = await kv(['metadata', 'get', 'old/app']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Metadata not supported on KV Version 1');
    expect((await kv(['delete', 'old/app'])).code).toBe(0);
    expect((await kv(['get', 'old/app'])).code).toBe(2);
  });

  it('the preflight is checked: an unknown or forbidden mount is a 403 (exit 2)', async () => {
    const res = await kv(['get', 'nowhere/x']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('preflight capability check returned 403');
  });
});
