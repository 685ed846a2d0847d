/** userpass and user lockout through the real pipeline on a real database. */
import { buildConfig } from '../../src/config/config';
import { RequestPipeline } from '../../src/application/request-pipeline';
import { createLogger } from '../../src/logger';
import { Argon2Hasher, type PasswordHasher } from '../../src/auth/userpass/password-hasher';
import { openTestKernel, type TestKernel } from '../support/kernel';

jest.setTimeout(60_000);

/** The real argon2id hasher, counting verifications (the work a login does, not its clock). */
class CountingHasher implements PasswordHasher {
  verifies = 0;
  private readonly inner = new Argon2Hasher();
  hash(password: string): Promise<string> {
    return this.inner.hash(password);
  }
  verify(digest: string, password: string): Promise<boolean> {
    this.verifies++;
    return this.inner.verify(digest, password);
  }
}

interface Answer {
  status: number;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('userpass and user lockout (medium)', () => {
  let k: TestKernel;
  let pipeline: RequestPipeline;
  let root: string;
  const hasher = new CountingHasher();

  const call = async (method: string, url: string, body?: unknown, token: string | undefined = root): Promise<Answer> => {
    const res = await pipeline.handle({
      method,
      url,
      headers: token ? { 'x-vault-token': token } : {},
      body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      remoteAddress: '127.0.0.1',
    });
    return { status: res.status, body: res.body ? JSON.parse(res.body.toString()) : {} };
  };
  const login = (name: string, password: string, mount = 'userpass') =>
    call('POST', `auth/${mount}/login/${encodeURIComponent(name)}`, { password }, undefined);
  const INVALID = { status: 400, body: { errors: ['invalid username or password'] } };

  beforeAll(async () => {
    k = await openTestKernel({ backends: { passwordHasher: hasher } });
    const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await k.seal.submitUnsealKey(init.keys[0].toString('hex'), false);
    root = init.rootToken;
    pipeline = new RequestPipeline({
      mounts: k.mounts,
      seal: k.seal,
      tokens: k.tokenStore,
      policies: k.policies,
      listener: buildConfig({}, {}, {}).listener,
      log: createLogger(process.env.UP_DEBUG ? 'debug' : 'error'),
    });
    expect((await call('POST', 'sys/auth/userpass', { type: 'userpass' })).status).toBe(204);
  });
  afterAll(async () => k?.close());

  it('creates, reads (never the password), lists, updates and deletes users with case-insensitive names', async () => {
    expect(
      (await call('POST', 'auth/userpass/users/Bob', { password: 'pw-bob-1', token_policies: 'dev,ops', token_ttl: '1h', token_max_ttl: '2h' })).status,
    ).toBe(204);
    const read = await call('GET', 'auth/userpass/users/bob');
    expect(read.status).toBe(200);
    expect(read.body.data).toEqual({
      token_bound_cidrs: [],
      token_explicit_max_ttl: 0,
      token_max_ttl: 7200,
      token_no_default_policy: false,
      token_num_uses: 0,
      token_period: 0,
      token_policies: ['dev', 'ops'],
      token_ttl: 3600,
      token_type: 'default',
    });
    expect(JSON.stringify(read.body)).not.toContain('pw-bob-1');
    expect((await call('GET', 'auth/userpass/users?list=true')).body.data).toEqual({ keys: ['bob'] });
    expect((await call('POST', 'auth/userpass/users/BOB/policies', { policies: ['audit'] })).status).toBe(204);
    expect((await call('GET', 'auth/userpass/users/bob')).body.data).toMatchObject({ token_policies: ['audit'], policies: ['audit'], token_ttl: 3600 });
    expect((await call('POST', 'auth/userpass/users/bob', { token_num_uses: 3 })).status).toBe(204);
    expect((await call('GET', 'auth/userpass/users/bob')).body.data).toMatchObject({ token_policies: ['audit'], token_num_uses: 3 });
    expect((await call('DELETE', 'auth/userpass/users/Bob')).status).toBe(204);
    expect(await call('GET', 'auth/userpass/users/bob')).toEqual({ status: 404, body: { errors: [] } });
  });

  it('refuses bad input with a clear 400 and writes nothing', async () => {
    expect(await call('POST', 'auth/userpass/users/carol', { token_policies: 'dev' })).toEqual({ status: 400, body: { errors: ['missing password'] } });
    expect((await call('POST', 'auth/userpass/users/carol', { password: 'x', token_policies: [' root'] })).status).toBe(400);
    expect((await call('POST', 'auth/userpass/users/carol', { password: 'x', token_ttl: '2h', token_max_ttl: '1h' })).body.errors).toEqual([
      "'token_ttl' cannot be greater than 'token_max_ttl'",
    ]);
    expect((await call('POST', 'auth/userpass/users/carol', { password: 'x', token_bound_cidrs: 'nope' })).status).toBe(400);
    expect((await call('POST', 'auth/userpass/users/-carol', { password: 'x' })).status).toBe(400);
    expect((await call('POST', 'auth/userpass/users/nobody/password', { password: 'x' })).body.errors).toEqual(['username does not exist']);
    expect(await call('GET', 'auth/userpass/users/carol')).toEqual({ status: 404, body: { errors: [] } });
  });

  it('login gives a token with the user policies, display name userpass-<name> and metadata username', async () => {
    await call('POST', 'auth/userpass/users/dave', { password: 'pw-dave', token_policies: ['dev'], token_ttl: '30m' });
    const res = await login('Dave', 'pw-dave');
    expect(res.status).toBe(200);
    expect(res.body.auth).toMatchObject({
      policies: ['dev', 'default'],
      token_policies: ['dev', 'default'],
      metadata: { username: 'dave' },
      lease_duration: 1800,
      renewable: true,
      token_type: 'service',
      orphan: true,
    });
    const self = await call('GET', 'auth/token/lookup-self', undefined, res.body.auth.client_token);
    expect(self.body.data).toMatchObject({
      display_name: 'userpass-dave',
      meta: { username: 'dave' },
      path: 'auth/userpass/login/dave',
      policies: ['dev', 'default'],
    });
    // A changed password: the old one fails, the new one works.
    expect((await call('POST', 'auth/userpass/users/dave/password', { password: 'pw-dave-2' })).status).toBe(204);
    expect(await login('dave', 'pw-dave')).toEqual(INVALID);
    expect((await login('dave', 'pw-dave-2')).status).toBe(200);
    expect(await call('POST', 'auth/userpass/login/dave', {}, undefined)).toEqual({ status: 400, body: { errors: ['missing password'] } });
  });

  it('wrong password and unknown user: identical status and body, one argon2 verification each', async () => {
    await call('POST', 'auth/userpass/users/erin', { password: 'pw-erin' });
    hasher.verifies = 0;
    const wrong = await login('erin', 'nope');
    expect(hasher.verifies).toBe(1);
    const unknown = await login('nobody-here', 'nope');
    expect(hasher.verifies).toBe(2);
    const invalidName = await login('-not a name-', 'nope');
    expect(hasher.verifies).toBe(3);
    expect(wrong).toEqual(INVALID);
    expect(unknown).toEqual(INVALID);
    expect(invalidName).toEqual(INVALID);
  });

  it('locks after 5 failures shared by alice, Alice and " alice"; locked answers like a wrong password; unlock through sys/locked-users', async () => {
    await call('POST', 'auth/userpass/users/alice', { password: 'pw-alice' });
    const accessor = (await call('GET', 'sys/auth')).body.data['userpass/'].accessor as string;
    for (const name of ['alice', 'Alice', ' alice', 'ALICE ', 'ａｌｉｃｅ']) expect(await login(name, 'wrong')).toEqual(INVALID);
    hasher.verifies = 0;
    expect(await login('alice', 'pw-alice')).toEqual(INVALID);
    expect(hasher.verifies).toBe(1);
    expect((await call('GET', 'sys/locked-users')).body.data).toEqual({
      by_namespace: [
        { namespace_id: 'root', namespace_path: '', counts: 1, mount_accessors: [{ mount_accessor: accessor, counts: 1, alias_identifiers: ['alice'] }] },
      ],
      total: 1,
    });
    expect((await call('GET', `sys/locked-users?mount_accessor=${accessor}`)).body.data.total).toBe(1);
    expect((await call('POST', `sys/locked-users/${accessor}/unlock/Alice`)).status).toBe(204);
    expect((await call('GET', 'sys/locked-users')).body.data).toEqual({ by_namespace: [], total: 0 });
    expect((await login('alice', 'pw-alice')).status).toBe(200);
  });

  it('sys/locked-users needs sudo; an unknown accessor is a 400', async () => {
    const res = await call('POST', 'auth/token/create', { policies: ['default'] });
    expect((await call('GET', 'sys/locked-users', undefined, res.body.auth.client_token)).status).toBe(403);
    expect((await call('POST', 'sys/locked-users/auth_nope_1/unlock/alice')).status).toBe(400);
  });

  it('a success resets the counter', async () => {
    await call('POST', 'auth/userpass/users/frank', { password: 'pw-frank' });
    for (let i = 0; i < 4; i++) await login('frank', 'wrong');
    expect((await login('frank', 'pw-frank')).status).toBe(200);
    for (let i = 0; i < 4; i++) await login('frank', 'wrong');
    expect((await login('frank', 'pw-frank')).status).toBe(200);
  });

  it('tune user_lockout_config round-trips; counters reset after lockout_counter_reset; the lock ends after lockout_duration', async () => {
    expect(
      (
        await call('POST', 'sys/auth/userpass/tune', {
          user_lockout_config: { lockout_threshold: 2, lockout_duration: '2s', lockout_counter_reset_duration: '1s' },
        })
      ).status,
    ).toBe(204);
    const tune = await call('GET', 'sys/auth/userpass/tune');
    expect(tune.body.data).toMatchObject({
      user_lockout_threshold: 2,
      user_lockout_duration: 2,
      user_lockout_counter_reset_duration: 1,
      user_lockout_disable: false,
    });
    expect((await call('GET', 'sys/auth')).body.data['userpass/'].config.user_lockout_config).toEqual({
      user_lockout_threshold: 2,
      user_lockout_duration: 2,
      user_lockout_counter_reset_duration: 1,
    });
    expect((await call('POST', 'sys/auth/userpass/tune', { user_lockout_config: { lockout_threshold: 'many' } })).status).toBe(400);
    expect((await call('POST', 'sys/mounts/secret/tune', { user_lockout_config: { lockout_threshold: 2 } })).status).toBe(400);

    await call('POST', 'auth/userpass/users/gina', { password: 'pw-gina' });
    await login('gina', 'wrong');
    await new Promise((r) => setTimeout(r, 1100));
    await login('gina', 'wrong'); // the first failure is forgotten: 1 of 2
    expect((await login('gina', 'pw-gina')).status).toBe(200);

    await login('gina', 'wrong');
    await login('gina', 'wrong');
    expect(await login('gina', 'pw-gina')).toEqual(INVALID);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await login('gina', 'pw-gina')).status).toBe(200);
  });

  it('disable_lockout: no counter at all', async () => {
    expect((await call('POST', 'sys/auth/userpass/tune', { user_lockout_config: { lockout_disable: true } })).status).toBe(204);
    expect((await call('GET', 'sys/auth/userpass/tune')).body.data.user_lockout_disable).toBe(true);
    await call('POST', 'auth/userpass/users/hal', { password: 'pw-hal' });
    for (let i = 0; i < 6; i++) expect(await login('hal', 'wrong')).toEqual(INVALID);
    expect((await login('hal', 'pw-hal')).status).toBe(200);
  });

  it('concurrent wrong passwords: each verified once, all refused alike, the name locked', async () => {
    await call('POST', 'sys/auth/second', { type: 'userpass' });
    await call('POST', 'auth/second/users/ivan', { password: 'pw-ivan' });
    hasher.verifies = 0;
    const answers = await Promise.all(Array.from({ length: 12 }, () => login('ivan', 'wrong', 'second')));
    for (const a of answers) expect(a).toEqual(INVALID);
    expect(hasher.verifies).toBe(12);
    expect(await login('ivan', 'pw-ivan', 'second')).toEqual(INVALID);
    const locked = (await call('GET', 'sys/locked-users')).body.data;
    expect(locked.total).toBe(1);
    expect(locked.by_namespace[0].mount_accessors[0].alias_identifiers).toEqual(['ivan']);
  });

  it('the stored row holds neither the password nor a readable hash; disabling the mount removes users and counters', async () => {
    const rows: { password_ciphertext: Buffer; token_params: unknown }[] = await k.dataSource.query(
      "SELECT password_ciphertext, token_params FROM userpass_users WHERE username = 'dave'",
    );
    const bytes = rows[0].password_ciphertext.toString('latin1');
    expect(bytes).not.toContain('pw-dave');
    expect(bytes).not.toContain('$argon2id$');
    expect((await call('DELETE', 'sys/auth/second')).status).toBe(204);
    expect(await k.dataSource.query("SELECT 1 FROM login_lockouts WHERE login_name = 'ivan'")).toEqual([]);
  });

  it("renewal re-checks the user: policies changed → 400, user deleted → 403 (as Vault's login renew)", async () => {
    expect((await call('POST', 'auth/userpass/users/renewer', { password: 'renewer-password-1', token_policies: ['p1'] })).status).toBe(204);
    const token = (await login('renewer', 'renewer-password-1')).body.auth.client_token as string;
    expect((await call('POST', 'auth/token/renew-self', {}, token)).status).toBe(200);
    expect((await call('POST', 'auth/userpass/users/renewer/policies', { token_policies: ['p1', 'p2'] })).status).toBe(204);
    expect(await call('POST', 'auth/token/renew-self', {}, token)).toEqual({ status: 400, body: { errors: ['policies have changed, not renewing'] } });
    expect((await call('POST', 'auth/userpass/users/renewer/policies', { token_policies: ['p1'] })).status).toBe(204);
    expect((await call('POST', 'auth/token/renew-self', {}, token)).status).toBe(200);
    expect((await call('DELETE', 'auth/userpass/users/renewer')).status).toBe(204);
    expect((await call('POST', 'auth/token/renew-self', {}, token)).status).toBe(403);
  });
});
