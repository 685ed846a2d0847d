/**
 * Two server processes on one database (two nodes): a change on A is in force on B within the
 * bus window (policy change, token revocation, mount disable, rotation settings: polled on B,
 * bounded at 1 s); a value A writes under a term it just rotated to reads on B at once; rekey
 * shares sent to A and B count toward one operation.
 */
import { createTestDatabase } from '../support/database';
import { decodeRootToken } from '../../src/crypto/root-token-otp';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(180_000);

/** Bound on "in force on the other node" (the bus window measured is a few ms; this leaves room for a loaded machine). */
const WINDOW_MS = 1000;

/** Polls `check` on B every 5 ms; gives the milliseconds until it held (throws past 5 × WINDOW_MS). */
async function inForceAfter(check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > 5 * WINDOW_MS) throw new Error('change not in force on the other node');
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - start;
}

describe('several nodes (e2e)', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let root: string;
  let keys: string[];

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    a = await startServerProcess({ databaseUrl });
    b = await startServerProcess({ databaseUrl });
    const init = await call(a.address, 'PUT', 'sys/init', { body: { secret_shares: 2, secret_threshold: 2 } });
    root = init.body.root_token as string;
    keys = init.body.keys as string[];
    for (const node of [a, b]) for (const key of keys) await call(node.address, 'PUT', 'sys/unseal', { body: { key } });
    expect((await call(b.address, 'GET', 'sys/seal-status')).body.sealed).toBe(false);
    expect((await call(a.address, 'POST', 'sys/mounts/kv', { token: root, body: { type: 'kv' } })).status).toBe(204);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('a policy change, a token revocation and a mount disable on A are in force on B within the window', async () => {
    const policy = (paths: string) => call(a.address, 'PUT', 'sys/policies/acl/reader', { token: root, body: { policy: paths } });
    expect((await policy('path "kv/*" { capabilities = ["read"] }')).status).toBe(204);
    expect((await call(a.address, 'PUT', 'kv/app', { token: root, body: { v: '1' } })).status).toBe(204);
    const token = (await call(a.address, 'POST', 'auth/token/create', { token: root, body: { policies: ['reader'] } })).body.auth.client_token as string;
    // B has the token, the policy and the mount cached.
    expect((await call(b.address, 'GET', 'kv/app', { token })).status).toBe(200);

    expect((await policy('path "other/*" { capabilities = ["read"] }')).status).toBe(204);
    const policyMs = await inForceAfter(async () => (await call(b.address, 'GET', 'kv/app', { token })).status === 403);

    const revoked = (await call(a.address, 'POST', 'auth/token/create', { token: root, body: { policies: ['default'] } })).body.auth.client_token as string;
    expect((await call(b.address, 'GET', 'auth/token/lookup-self', { token: revoked })).status).toBe(200);
    expect((await call(a.address, 'POST', 'auth/token/revoke', { token: root, body: { token: revoked } })).status).toBe(204);
    const revokeMs = await inForceAfter(async () => (await call(b.address, 'GET', 'auth/token/lookup-self', { token: revoked })).status === 403);

    expect((await call(a.address, 'POST', 'sys/mounts/gone', { token: root, body: { type: 'kv' } })).status).toBe(204);
    expect((await call(a.address, 'PUT', 'gone/x', { token: root, body: { v: '1' } })).status).toBe(204);
    expect((await call(b.address, 'GET', 'gone/x', { token: root })).status).toBe(200);
    expect((await call(a.address, 'DELETE', 'sys/mounts/gone', { token: root })).status).toBe(204);
    const mountMs = await inForceAfter(async () => (await call(b.address, 'GET', 'gone/x', { token: root })).status !== 200);

    process.stdout.write(`in force on the other node after: policy ${policyMs} ms, token revoke ${revokeMs} ms, mount disable ${mountMs} ms\n`);
    for (const ms of [policyMs, revokeMs, mountMs]) expect(ms).toBeLessThan(WINDOW_MS);
  });

  it('a value written on A right after A rotated the keyring reads on B at once; B moves to the new term within the window', async () => {
    const term = (node: ServerProcess) => call(node.address, 'GET', 'sys/key-status', { token: root }).then((r) => r.body.term as number);
    const before = await term(b);
    expect((await call(a.address, 'PUT', 'sys/rotate', { token: root })).status).toBe(204);
    expect((await call(a.address, 'PUT', 'kv/rotated', { token: root, body: { v: 'new term' } })).status).toBe(204);
    const read = await call(b.address, 'GET', 'kv/rotated', { token: root });
    expect(read.status).toBe(200);
    expect(read.body.data).toEqual({ v: 'new term' });
    expect(await inForceAfter(async () => (await term(b)) === before + 1)).toBeLessThan(WINDOW_MS);
    // sys/rotate/config set on A is in force on B within the window too.
    expect((await call(a.address, 'PUT', 'sys/rotate/config', { token: root, body: { max_operations: 5000000 } })).status).toBe(204);
    const configMs = await inForceAfter(async () => (await call(b.address, 'GET', 'sys/rotate/config', { token: root })).body.data.max_operations === 5000000);
    expect(configMs).toBeLessThan(WINDOW_MS);
    // B now writes under the new term, which A reads.
    expect((await call(b.address, 'PUT', 'kv/from-b', { token: root, body: { v: 'b' } })).status).toBe(204);
    expect((await call(a.address, 'GET', 'kv/from-b', { token: root })).body.data).toEqual({ v: 'b' });
  });

  it('a mount enabled on A serves on B at once, before B heard of it: a path with no mount reads the table again', async () => {
    for (let i = 0; i < 10; i++) {
      expect((await call(a.address, 'POST', `sys/mounts/fresh-${i}`, { token: root, body: { type: 'kv' } })).status).toBe(204);
      const write = await call(b.address, 'PUT', `fresh-${i}/x`, { token: root, body: { v: String(i) } });
      expect([write.status, write.body]).toEqual([204, null]);
    }
    expect((await call(b.address, 'GET', 'no-such-mount/x', { token: root })).status).toBe(404);
  });

  it('root generation: shares sent to A and B count toward one attempt, and two at once complete it exactly once', async () => {
    for (const [first, second] of [
      [a, b],
      [b, a],
    ]) {
      const started = await call(first.address, 'PUT', 'sys/generate-root/attempt', { body: {} });
      expect(started.status).toBe(200);
      const { nonce, otp } = started.body as { nonce: string; otp: string };
      expect((await call(second.address, 'GET', 'sys/generate-root/attempt')).body).toMatchObject({ nonce, started: true, progress: 0, required: 2 });
      const answers = await Promise.all([
        call(first.address, 'PUT', 'sys/generate-root/update', { body: { key: keys[0], nonce } }),
        call(second.address, 'PUT', 'sys/generate-root/update', { body: { key: keys[1], nonce } }),
      ]);
      expect(answers.map((r) => r.status)).toEqual([200, 200]);
      const done = answers.filter((r) => r.body.complete === true);
      expect(done).toHaveLength(1);
      const token = decodeRootToken(done[0].body.encoded_token as string, otp, 28);
      expect((await call(second.address, 'GET', 'auth/token/lookup-self', { token })).body.data.policies).toEqual(['root']);
      expect((await call(first.address, 'GET', 'sys/generate-root/attempt')).body).toMatchObject({ started: false, progress: 0 });
    }
  });

  it('rekey shares sent to A and B count toward one operation', async () => {
    const started = await call(a.address, 'PUT', 'sys/rekey/init', { token: root, body: { secret_shares: 3, secret_threshold: 2 } });
    expect(started.status).toBe(200);
    const nonce = started.body.nonce as string;
    expect((await call(b.address, 'GET', 'sys/rekey/init')).body).toMatchObject({ nonce, started: true, progress: 0, required: 2 });
    expect((await call(b.address, 'PUT', 'sys/rekey/update', { body: { key: keys[0], nonce } })).body).toMatchObject({ progress: 1 });
    const duplicate = await call(a.address, 'PUT', 'sys/rekey/update', { body: { key: keys[0], nonce } });
    expect(duplicate.status).toBe(400);
    const done = await call(a.address, 'PUT', 'sys/rekey/update', { body: { key: keys[1], nonce } });
    expect(done.body).toMatchObject({ nonce, complete: true });
    expect(done.body.keys).toHaveLength(3);
    expect((await call(b.address, 'GET', 'sys/rekey/init')).body).toMatchObject({ started: false });
  });
});
