/**
 * AppRole through the real audited pipeline on PostgreSQL: role CRUD, secret IDs (pull, push,
 * lookup, destroy, tidy), login and its refusals (all the same 400), exact use counts under
 * concurrency, CIDRs from the request's source address, and secret IDs stored only as HMACs.
 */
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';

const INVALID = { status: 400, body: JSON.stringify({ errors: ['invalid role or secret ID'] }) };

describe('AppRole (medium)', () => {
  let k: TestKernel;
  let call: Call;

  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    expect((await call('POST', 'sys/auth/approle', { type: 'approle' })).status).toBe(204);
  });
  afterAll(async () => k?.close());

  const login = (body: Record<string, unknown>, remoteAddress?: string) => call('POST', 'auth/approle/login', body, '', { remoteAddress });
  const refused = (res: { status: number; body?: string }) => ({ status: res.status, body: res.body });
  async function roleId(name: string): Promise<string> {
    return (await call('GET', `auth/approle/role/${name}/role-id`)).json.data.role_id as string;
  }
  async function newSecretId(
    name: string,
    body: Record<string, unknown> = {},
  ): Promise<{ secret_id: string; secret_id_accessor: string; secret_id_ttl: number; secret_id_num_uses: number }> {
    const res = await call('POST', `auth/approle/role/${name}/secret-id`, body);
    expect(res.status).toBe(200);
    return res.json.data;
  }

  it("role CRUD in Vault's shapes; names are case-insensitive; LIST names roles", async () => {
    expect(
      (
        await call('POST', 'auth/approle/role/Web', {
          token_policies: 'a, b',
          token_ttl: '20m',
          token_max_ttl: '30m',
          secret_id_ttl: '10m',
          secret_id_num_uses: 40,
          period: 0,
        })
      ).status,
    ).toBe(204);
    const read = await call('GET', 'auth/approle/role/web');
    expect(read.status).toBe(200);
    expect(read.json.data).toEqual({
      bind_secret_id: true,
      local_secret_ids: false,
      secret_id_bound_cidrs: [],
      secret_id_num_uses: 40,
      secret_id_ttl: 600,
      token_bound_cidrs: [],
      token_explicit_max_ttl: 0,
      token_max_ttl: 1800,
      token_no_default_policy: false,
      token_num_uses: 0,
      token_period: 0,
      token_policies: ['a', 'b'],
      token_ttl: 1200,
      token_type: 'default',
      policies: ['a', 'b'],
      period: 0,
    });
    // A write changes only what it names; the legacy `policies` sets token_policies.
    expect((await call('POST', 'auth/approle/role/web', { policies: ['c'] })).status).toBe(204);
    expect((await call('GET', 'auth/approle/role/web')).json.data).toMatchObject({ token_policies: ['c'], token_ttl: 1200, secret_id_num_uses: 40 });
    expect((await call('GET', 'auth/approle/role?list=true')).json.data.keys).toContain('web');
    expect((await call('GET', 'auth/approle/role/web/role-id')).json.data.role_id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await call('GET', 'auth/approle/role/nope')).status).toBe(404);
    expect((await call('DELETE', 'auth/approle/role/web')).status).toBe(204);
    expect((await call('GET', 'auth/approle/role/web')).status).toBe(404);
  });

  it('bad role writes are clear 400s and change nothing', async () => {
    const bad = async (body: Record<string, unknown>, message: RegExp) => {
      const res = await call('POST', 'auth/approle/role/bad', body);
      expect(res.status).toBe(400);
      expect(res.json.errors[0]).toMatch(message);
    };
    await bad({ bind_secret_id: false }, /at least one constraint/);
    await bad({ token_policies: [' root'] }, /invalid policy name/);
    await bad({ token_policies: ['root'] }, /root policy/);
    await bad({ secret_id_bound_cidrs: ['10.0.0.0/33'] }, /invalid CIDR/);
    await bad({ secret_id_num_uses: -1 }, /cannot be negative/);
    await bad({ token_ttl: '2h', token_max_ttl: '1h' }, /token_ttl/);
    await bad({ token_type: 'batch', token_num_uses: 2 }, /batch tokens/);
    await bad({ token_ttl: 'soon' }, /token_ttl/);
    expect((await call('GET', 'auth/approle/role/bad')).status).toBe(404);
    // A custom role_id already used by another role of the mount is refused.
    await call('POST', 'auth/approle/role/first', { role_id: 'shared-id' });
    const dup = await call('POST', 'auth/approle/role/second', { role_id: 'shared-id' });
    expect(dup.status).toBe(400);
    expect(dup.json.errors).toEqual(['role_id already in use']);
    expect((await call('GET', 'auth/approle/role/second')).status).toBe(404);
  });

  it('per-field role paths: read, set and reset one setting, with the whole-role checks', async () => {
    expect((await call('POST', 'auth/approle/role/fields', { token_policies: 'a', token_ttl: '20m', token_max_ttl: '30m' })).status).toBe(204);
    const get = async (segment: string) => (await call('GET', `auth/approle/role/fields/${segment}`)).json.data;
    expect(await get('policies')).toEqual({ policies: ['a'], token_policies: ['a'] });
    expect((await call('POST', 'auth/approle/role/fields/policies', { policies: 'b,c' })).status).toBe(204);
    expect(await get('policies')).toEqual({ policies: ['b', 'c'], token_policies: ['b', 'c'] });
    expect((await call('POST', 'auth/approle/role/fields/secret-id-num-uses', { secret_id_num_uses: 7 })).status).toBe(204);
    expect(await get('secret-id-num-uses')).toEqual({ secret_id_num_uses: 7 });
    expect((await call('POST', 'auth/approle/role/fields/secret-id-ttl', { secret_id_ttl: '1h' })).status).toBe(204);
    expect(await get('secret-id-ttl')).toEqual({ secret_id_ttl: 3600 });
    expect((await call('POST', 'auth/approle/role/fields/period', { period: '1h' })).status).toBe(204);
    expect(await get('period')).toEqual({ period: 3600, token_period: 3600 });
    expect((await call('POST', 'auth/approle/role/fields/token-bound-cidrs', { token_bound_cidrs: '10.0.0.0/8' })).status).toBe(204);
    expect(await get('token-bound-cidrs')).toEqual({ token_bound_cidrs: ['10.0.0.0/8'] });
    expect((await call('POST', 'auth/approle/role/fields/bound-cidr-list', { bound_cidr_list: '10.1.0.0/16' })).status).toBe(204);
    expect(await get('secret-id-bound-cidrs')).toEqual({ secret_id_bound_cidrs: ['10.1.0.0/16'] });
    expect(await get('local-secret-ids')).toEqual({ local_secret_ids: false });
    expect(await get('token-ttl')).toEqual({ token_ttl: 1200 });
    expect(await get('token-max-ttl')).toEqual({ token_max_ttl: 1800 });
    // The whole-role read agrees.
    expect((await call('GET', 'auth/approle/role/fields')).json.data).toMatchObject({
      token_policies: ['b', 'c'],
      secret_id_num_uses: 7,
      secret_id_ttl: 3600,
      token_period: 3600,
      token_bound_cidrs: ['10.0.0.0/8'],
      secret_id_bound_cidrs: ['10.1.0.0/16'],
    });
    // Refusals: the whole-role checks, a missing value, an unknown role, a read-only path.
    const refused = async (segment: string, body: Record<string, unknown>, message: RegExp, method = 'POST') => {
      const res = await call(method, `auth/approle/role/fields/${segment}`, body);
      expect(res.status).toBe(400);
      expect(res.json.errors.join(' ')).toMatch(message);
    };
    await refused('token-ttl', { token_ttl: '2h' }, /'token_ttl' cannot be greater than 'token_max_ttl'/);
    await refused('token-num-uses', { token_num_uses: -1 }, /cannot be negative/);
    await refused('policies', { token_policies: 'root' }, /root policy/);
    await refused('token-ttl', {}, /^missing token_ttl$/);
    await refused('secret-id-ttl', { secret_id_ttl: 'whenever-you-like' }, /secret_id_ttl/);
    expect((await call('POST', 'auth/approle/role/fields/local-secret-ids', { local_secret_ids: true })).status).toBe(405);
    expect((await call('GET', 'auth/approle/role/no-such-role/token-ttl')).json).toEqual({ errors: ['role "no-such-role" does not exist'] });
    // DELETE resets to the default.
    expect((await call('DELETE', 'auth/approle/role/fields/policies')).status).toBe(204);
    expect(await get('policies')).toEqual({ policies: [], token_policies: [] });
    expect((await call('DELETE', 'auth/approle/role/fields/secret-id-num-uses')).status).toBe(204);
    expect(await get('secret-id-num-uses')).toEqual({ secret_id_num_uses: 0 });
    expect((await call('POST', 'auth/approle/role/fields/bind-secret-id', { bind_secret_id: false })).status).toBe(204);
    expect((await call('DELETE', 'auth/approle/role/fields/bind-secret-id')).status).toBe(204);
    expect(await get('bind-secret-id')).toEqual({ bind_secret_id: true });
    expect((await call('DELETE', 'auth/approle/role/fields')).status).toBe(204);
  });

  it("pull and push secret IDs; login gives a token with the role's policies and metadata role_name", async () => {
    await call('POST', 'auth/approle/role/app', { token_policies: ['app'], token_ttl: '1h', secret_id_num_uses: 5, secret_id_ttl: '1h' });
    await call('POST', 'auth/approle/role/app/role-id', { role_id: 'app-role-id' });
    expect(await roleId('app')).toBe('app-role-id');

    const pulled = await newSecretId('app', { metadata: JSON.stringify({ team: 'payments' }) });
    expect(pulled).toEqual({
      secret_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      secret_id_accessor: expect.any(String),
      secret_id_ttl: 3600,
      secret_id_num_uses: 5,
    });
    const res = await login({ role_id: 'app-role-id', secret_id: pulled.secret_id });
    expect(res.status).toBe(200);
    expect(res.json.auth).toMatchObject({
      policies: ['app', 'default'],
      token_policies: ['app', 'default'],
      metadata: { role_name: 'app', team: 'payments' },
      renewable: true,
      token_type: 'service',
      orphan: true,
    });
    expect(res.json.auth.lease_duration).toBeGreaterThan(3590);
    expect(res.json.auth.lease_duration).toBeLessThanOrEqual(3600);
    const self = await call('GET', 'auth/token/lookup-self', undefined, res.json.auth.client_token);
    expect(self.json.data).toMatchObject({
      display_name: 'approle',
      path: 'auth/approle/login',
      policies: ['app', 'default'],
      meta: { role_name: 'app', team: 'payments' },
    });

    const pushed = await call('POST', 'auth/approle/role/app/custom-secret-id', { secret_id: 'my-chosen-secret', num_uses: 2, ttl: '10m' });
    expect(pushed.status).toBe(200);
    expect(pushed.json.data).toMatchObject({ secret_id: 'my-chosen-secret', secret_id_num_uses: 2, secret_id_ttl: 600 });
    expect((await call('POST', 'auth/approle/role/app/custom-secret-id', { secret_id: 'my-chosen-secret' })).json.errors).toEqual([
      'SecretID is already registered',
    ]);
    expect((await login({ role_id: 'app-role-id', secret_id: 'my-chosen-secret' })).status).toBe(200);
    expect((await login({ role_id: 'app-role-id', secret_id: 'my-chosen-secret' })).status).toBe(200);
    expect(refused(await login({ role_id: 'app-role-id', secret_id: 'my-chosen-secret' }))).toEqual(INVALID);

    const listed = await call('GET', 'auth/approle/role/app/secret-id?list=true');
    expect(listed.json.data.keys).toEqual([pulled.secret_id_accessor]);
  });

  it('secret ID ttl and uses are bounded by the role', async () => {
    await call('POST', 'auth/approle/role/bounded', { secret_id_num_uses: 3, secret_id_ttl: '10m' });
    const bad = async (body: Record<string, unknown>, message: string) => {
      const res = await call('POST', 'auth/approle/role/bounded/secret-id', body);
      expect(res.status).toBe(400);
      expect(res.json.errors).toEqual([message]);
    };
    await bad({ num_uses: 4 }, "num_uses cannot be higher than the role's secret_id_num_uses");
    await bad({ num_uses: 0 }, "num_uses cannot be higher than the role's secret_id_num_uses");
    await bad({ ttl: '11m' }, "ttl cannot be longer than the role's secret_id_ttl");
    await bad({ metadata: '{"a":1}' }, 'failed to parse metadata: it must be a JSON object of strings');
    expect(await newSecretId('bounded', { num_uses: 1, ttl: '1m' })).toMatchObject({ secret_id_num_uses: 1, secret_id_ttl: 60 });
    expect((await call('GET', 'auth/approle/role/bounded/secret-id?list=true')).json.data.keys).toHaveLength(1);
  });

  it("role A's secret ID with role B's role_id, unknown role_id, wrong secret ID: the same 400", async () => {
    await call('POST', 'auth/approle/role/role-a', { token_policies: ['a'] });
    await call('POST', 'auth/approle/role/role-b', { token_policies: ['b'] });
    const a = await newSecretId('role-a');
    const b = await newSecretId('role-b');
    const answers = [
      await login({ role_id: await roleId('role-b'), secret_id: a.secret_id }),
      await login({ role_id: 'no-such-role-id', secret_id: a.secret_id }),
      await login({ role_id: await roleId('role-a'), secret_id: 'wrong' }),
      await login({ role_id: await roleId('role-a') }),
    ];
    for (const res of answers) expect(refused(res)).toEqual(INVALID);
    // Role B's paths do not reach role A's secret ID either (lookup and destroy by secret ID and accessor).
    expect((await call('POST', 'auth/approle/role/role-b/secret-id/lookup', { secret_id: a.secret_id })).status).toBe(204);
    expect((await call('POST', 'auth/approle/role/role-b/secret-id/destroy', { secret_id: a.secret_id })).status).toBe(204);
    expect((await call('POST', 'auth/approle/role/role-b/secret-id-accessor/destroy', { secret_id_accessor: a.secret_id_accessor })).status).toBe(404);
    const ok = await login({ role_id: await roleId('role-a'), secret_id: a.secret_id });
    expect(ok.status).toBe(200);
    expect(ok.json.auth.policies).toEqual(['a', 'default']);
    expect((await login({ role_id: await roleId('role-b'), secret_id: b.secret_id })).status).toBe(200);
  });

  it('user lockout keyed on the role_id counts failures only: 5 lock it (same answer, no use spent), 20 concurrent good logins never do; sys/locked-users unlocks', async () => {
    await call('POST', 'auth/approle/role/fleet', {});
    const id = await roleId('fleet');
    const good = await Promise.all(Array.from({ length: 20 }, () => newSecretId('fleet')));
    const results = await Promise.all(good.map((g) => login({ role_id: id, secret_id: g.secret_id })));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));

    for (let i = 0; i < 5; i++) expect(refused(await login({ role_id: id, secret_id: `guess-${i}` }))).toEqual(INVALID);
    const limited = await newSecretId('fleet', { num_uses: 1 });
    expect(refused(await login({ role_id: id, secret_id: limited.secret_id }))).toEqual(INVALID);
    expect((await call('POST', 'auth/approle/role/fleet/secret-id/lookup', { secret_id: limited.secret_id })).json.data.secret_id_num_uses).toBe(1);
    const accessor = (await call('GET', 'sys/auth')).json.data['approle/'].accessor as string;
    const locked = (await call('GET', 'sys/locked-users')).json.data;
    expect(JSON.stringify(locked)).toContain(accessor);
    expect((await call('POST', `sys/locked-users/${accessor}/unlock/${id}`)).status).toBe(204);
    expect((await login({ role_id: id, secret_id: limited.secret_id })).status).toBe(200);
  });

  it('secret_id_num_uses=3 under 50 concurrent logins: exactly 3 succeed, then the secret ID is gone', async () => {
    await call('POST', 'auth/approle/role/three', { secret_id_num_uses: 3 });
    const id = await roleId('three');
    const { secret_id } = await newSecretId('three');
    const results = await Promise.all(Array.from({ length: 50 }, () => login({ role_id: id, secret_id })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    for (const r of results.filter((x) => x.status !== 200)) expect(refused(r)).toEqual(INVALID);
    const rows: { n: string }[] = await k.dataSource.query(
      "SELECT count(*) AS n FROM secret_ids s JOIN roles r ON r.id = s.role_pk WHERE r.role_name = 'three'",
    );
    expect(rows[0].n).toBe('0');
    // The 47 refusals were of a secret ID the role had issued, not guesses: the role_id is not locked.
    expect((await login({ role_id: id, secret_id: (await newSecretId('three')).secret_id })).status).toBe(200);
  });

  it('refusals of a used-up or expired secret ID never lock the role_id, before or after tidy; unknown secret IDs still do; tidy forgets tombstones after a day', async () => {
    await call('POST', 'auth/approle/role/herd', { secret_id_num_uses: 3 });
    const id = await roleId('herd');
    const accessor = (await call('GET', 'sys/auth')).json.data['approle/'].accessor as string;
    // A fleet's 50 logins with one 3-use secret ID, arriving over 50 ms: most come after it is used up.
    const usedUp = await newSecretId('herd');
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => new Promise((r) => setTimeout(r, i)).then(() => login({ role_id: id, secret_id: usedUp.secret_id }))),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    for (const r of results.filter((x) => x.status !== 200)) expect(refused(r)).toEqual(INVALID);
    const fresh = async () => (await login({ role_id: id, secret_id: (await newSecretId('herd')).secret_id })).status;
    expect(await fresh()).toBe(200);
    const expired = await newSecretId('herd');
    await k.dataSource.query("UPDATE secret_ids SET expires_at = now() - interval '1 hour' WHERE id = (SELECT max(id) FROM secret_ids)");
    /** Six stragglers with each dead secret ID: more than the threshold (5) of each. */
    const stragglers = async () => {
      for (let i = 0; i < 6; i++) for (const s of [usedUp, expired]) expect(refused(await login({ role_id: id, secret_id: s.secret_id }))).toEqual(INVALID);
    };
    await stragglers();
    expect(await fresh()).toBe(200);
    // Tidy deletes both rows and keeps a tombstone of each: still not counted.
    expect((await call('POST', 'auth/approle/tidy/secret-id')).status).toBe(202);
    await stragglers();
    expect(await fresh()).toBe(200);
    const tombstones: Record<string, unknown>[] = await k.dataSource.query(
      "SELECT t.*, encode(t.secret_id_hmac, 'escape') AS h FROM secret_id_tombstones t JOIN roles r ON r.id = t.role_pk WHERE r.role_name = 'herd'",
    );
    expect(tombstones).toHaveLength(2);
    for (const s of [usedUp, expired]) expect(JSON.stringify(tombstones)).not.toContain(s.secret_id);

    // Secret IDs the role never issued are guesses: five lock the role_id, then a valid one is refused too.
    const lockedOut = async (guess: (i: number) => string) => {
      for (let i = 0; i < 5; i++) expect(refused(await login({ role_id: id, secret_id: guess(i) }))).toEqual(INVALID);
      const valid = await newSecretId('herd');
      expect(refused(await login({ role_id: id, secret_id: valid.secret_id }))).toEqual(INVALID);
      expect((await call('POST', `sys/locked-users/${accessor}/unlock/${id}`)).status).toBe(204);
      expect((await login({ role_id: id, secret_id: valid.secret_id })).status).toBe(200);
    };
    await lockedOut((i) => `never-issued-${i}`);
    // A day after the secret ID died, tidy drops its tombstone: it is then as unknown as any guess.
    await k.dataSource.query(
      "UPDATE secret_id_tombstones SET retired_at = now() - interval '25 hours' WHERE role_pk = (SELECT id FROM roles WHERE role_name = 'herd')",
    );
    expect((await call('POST', 'auth/approle/tidy/secret-id')).status).toBe(202);
    expect(
      (await k.dataSource.query("SELECT count(*) AS n FROM secret_id_tombstones t JOIN roles r ON r.id = t.role_pk WHERE r.role_name = 'herd'"))[0].n,
    ).toBe('0');
    await lockedOut(() => usedUp.secret_id);
  });

  it('an expired secret ID is refused; tidy removes expired and used-up ones', async () => {
    await call('POST', 'auth/approle/role/short', {});
    const id = await roleId('short');
    const expiring = await newSecretId('short', { ttl: 1 });
    const lasting = await newSecretId('short');
    await new Promise((r) => setTimeout(r, 1100));
    expect(refused(await login({ role_id: id, secret_id: expiring.secret_id }))).toEqual(INVALID);
    expect((await call('POST', 'auth/approle/role/short/secret-id/lookup', { secret_id: expiring.secret_id })).status).toBe(204);
    // One more expired through storage, and one used up (left at 0, as a crash between consuming and deleting would leave it).
    const past = await newSecretId('short');
    await k.dataSource.query("UPDATE secret_ids SET expires_at = now() - interval '1 hour' WHERE id = (SELECT max(id) FROM secret_ids)");
    expect(refused(await login({ role_id: id, secret_id: past.secret_id }))).toEqual(INVALID);
    const spent = await newSecretId('short');
    await k.dataSource.query('UPDATE secret_ids SET uses_remaining = 0 WHERE id = (SELECT max(id) FROM secret_ids)');
    expect(refused(await login({ role_id: id, secret_id: spent.secret_id }))).toEqual(INVALID);
    const count = async () =>
      Number((await k.dataSource.query("SELECT count(*) AS n FROM secret_ids s JOIN roles r ON r.id = s.role_pk WHERE r.role_name = 'short'"))[0].n);
    expect(await count()).toBe(4);
    const tidy = await call('POST', 'auth/approle/tidy/secret-id');
    expect(tidy.status).toBe(202);
    expect(tidy.json.warnings[0]).toMatch(/Tidy operation successfully started/);
    expect(await count()).toBe(1);
    expect((await login({ role_id: id, secret_id: lasting.secret_id })).status).toBe(200);
  });

  it('bound CIDRs of the role and of the secret ID are checked against the source address; token_bound_cidrs bind the token', async () => {
    await call('POST', 'auth/approle/role/net', { secret_id_bound_cidrs: ['10.1.0.0/16'], token_bound_cidrs: ['10.1.2.0/24'] });
    const id = await roleId('net');
    const wide = await newSecretId('net');
    expect(refused(await login({ role_id: id, secret_id: wide.secret_id }, '192.0.2.10'))).toEqual(INVALID);
    const narrow = await newSecretId('net', { cidr_list: '10.1.5.0/24', token_bound_cidrs: ['10.1.2.7/32'] });
    expect(refused(await login({ role_id: id, secret_id: narrow.secret_id }, '10.1.6.1'))).toEqual(INVALID);
    const ok = await login({ role_id: id, secret_id: narrow.secret_id }, '10.1.5.9');
    expect(ok.status).toBe(200);
    const token = ok.json.auth.client_token as string;
    expect((await call('GET', 'auth/token/lookup-self', undefined, token, { remoteAddress: '10.1.2.7' })).json.data.bound_cidrs).toEqual(['10.1.2.7/32']);
    expect((await call('GET', 'auth/token/lookup-self', undefined, token, { remoteAddress: '10.1.2.8' })).status).toBe(403);
    // Secret ID CIDRs must lie within the role's.
    const outside = await call('POST', 'auth/approle/role/net/secret-id', { cidr_list: ['10.2.0.0/24'] });
    expect(outside.status).toBe(400);
    expect(outside.json.errors[0]).toMatch(/failed to verify the CIDR restrictions/);
    // bind_secret_id=false: role_id alone, from inside the CIDRs only.
    await call('POST', 'auth/approle/role/open', { bind_secret_id: false, secret_id_bound_cidrs: ['10.9.0.0/16'], token_policies: ['o'] });
    const openId = await roleId('open');
    expect((await login({ role_id: openId }, '10.9.1.1')).json.auth.policies).toEqual(['o', 'default']);
    expect(refused(await login({ role_id: openId }, '10.8.1.1'))).toEqual(INVALID);
    expect((await call('POST', 'auth/approle/role/open/secret-id', {})).json.errors).toEqual(['bind_secret_id is not set on the role']);
  });

  it('lookup and destroy by secret ID and by accessor', async () => {
    await call('POST', 'auth/approle/role/look', { secret_id_num_uses: 4 });
    const s = await newSecretId('look', { metadata: '{"env":"prod"}', num_uses: 2 });
    const bySecret = await call('POST', 'auth/approle/role/look/secret-id/lookup', { secret_id: s.secret_id });
    expect(bySecret.status).toBe(200);
    expect(bySecret.json.data).toEqual({
      cidr_list: [],
      creation_time: expect.any(String),
      expiration_time: '0001-01-01T00:00:00Z',
      last_updated_time: expect.any(String),
      metadata: { env: 'prod' },
      secret_id_accessor: s.secret_id_accessor,
      secret_id_num_uses: 2,
      secret_id_ttl: 0,
      token_bound_cidrs: [],
    });
    expect(JSON.stringify(bySecret.json)).not.toContain(s.secret_id);
    const byAccessor = await call('POST', 'auth/approle/role/look/secret-id-accessor/lookup', { secret_id_accessor: s.secret_id_accessor });
    expect(byAccessor.json.data).toEqual(bySecret.json.data);
    expect((await call('POST', 'auth/approle/role/look/secret-id-accessor/destroy', { secret_id_accessor: s.secret_id_accessor })).status).toBe(204);
    expect((await call('POST', 'auth/approle/role/look/secret-id/lookup', { secret_id: s.secret_id })).status).toBe(204);
    expect((await call('POST', 'auth/approle/role/look/secret-id-accessor/lookup', { secret_id_accessor: s.secret_id_accessor })).status).toBe(404);

    const t = await newSecretId('look');
    expect((await call('POST', 'auth/approle/role/look/secret-id/destroy', { secret_id: t.secret_id })).status).toBe(204);
    expect(refused(await login({ role_id: await roleId('look'), secret_id: t.secret_id }))).toEqual(INVALID);
  });

  it('deleting a role deletes its secret IDs; the same role name on another mount is another role', async () => {
    await call('POST', 'auth/approle/role/gone', {});
    await newSecretId('gone');
    await newSecretId('gone');
    const pk: { id: string }[] = await k.dataSource.query("SELECT id::text AS id FROM roles WHERE role_name = 'gone'");
    expect((await call('DELETE', 'auth/approle/role/gone')).status).toBe(204);
    expect((await k.dataSource.query('SELECT count(*) AS n FROM secret_ids WHERE role_pk = $1', [pk[0].id]))[0].n).toBe('0');

    expect((await call('POST', 'sys/auth/other', { type: 'approle' })).status).toBe(204);
    await call('POST', 'auth/approle/role/twin', { token_policies: ['one'] });
    await call('POST', 'auth/other/role/twin', { token_policies: ['two'] });
    const s = await newSecretId('twin');
    const otherId = (await call('GET', 'auth/other/role/twin/role-id')).json.data.role_id as string;
    expect(refused(await call('POST', 'auth/other/login', { role_id: otherId, secret_id: s.secret_id }, ''))).toEqual(INVALID);
    expect((await call('GET', 'auth/other/role/twin')).json.data.token_policies).toEqual(['two']);
    expect((await call('POST', 'auth/other/role/twin/role-id', { role_id: ' ' })).json.errors).toEqual(['missing role_id']);
    // Disabling the mount takes its roles and secret IDs with it; the other mount's stay.
    await call('POST', 'auth/other/role/twin/secret-id', {});
    expect((await call('DELETE', 'sys/auth/other')).status).toBe(204);
    const left: { mount: string; n: string }[] = await k.dataSource.query(
      "SELECT m.path AS mount, count(s.id) AS n FROM roles r JOIN mounts m ON m.uuid = r.mount_uuid LEFT JOIN secret_ids s ON s.role_pk = r.id WHERE r.role_name = 'twin' GROUP BY m.path",
    );
    expect(left).toEqual([{ mount: 'auth/approle/', n: '1' }]);
  });

  it('secret IDs and accessors are stored only as HMACs; the audit log holds neither', async () => {
    await call('POST', 'auth/approle/role/stored', {});
    const s = await newSecretId('stored');
    const custom = await call('POST', 'auth/approle/role/stored/custom-secret-id', { secret_id: 'custom-canary-secret-0042' });
    expect(custom.status).toBe(200);
    const dump = JSON.stringify(
      await k.dataSource.query("SELECT s.*, encode(s.secret_id_hmac, 'escape') AS h, encode(s.accessor_ciphertext, 'escape') AS c FROM secret_ids s"),
    );
    for (const clear of [s.secret_id, s.secret_id_accessor, 'custom-canary-secret-0042']) expect(dump).not.toContain(clear);
    const hmacs: { n: string }[] = await k.dataSource.query(
      'SELECT count(*) AS n FROM secret_ids WHERE length(secret_id_hmac) = 32 AND length(accessor_hmac) = 32',
    );
    expect(Number(hmacs[0].n)).toBeGreaterThanOrEqual(2);
    expect((await login({ role_id: await roleId('stored'), secret_id: 'custom-canary-secret-0042' })).status).toBe(200);
    expect(refused(await login({ role_id: await roleId('stored'), secret_id: 'wrong-canary-secret-0043' }))).toEqual(INVALID);
    const audit: { text: string }[] = await k.dataSource.query("SELECT string_agg(encode(entry_bytes, 'escape'), '') AS text FROM audit_logs");
    expect(audit[0].text).toContain('auth/approle/role/stored/custom-secret-id');
    for (const clear of [s.secret_id, 'custom-canary-secret-0042', 'wrong-canary-secret-0043']) expect(audit[0].text).not.toContain(clear);
  });

  it("the mount's tuned max TTL bounds the token; batch roles issue batch tokens", async () => {
    expect((await call('POST', 'sys/auth/approle/tune', { max_lease_ttl: '30m' })).status).toBe(204);
    await call('POST', 'auth/approle/role/capped', { token_ttl: '2h', token_type: 'batch' });
    const res = await login({ role_id: await roleId('capped'), secret_id: (await newSecretId('capped')).secret_id });
    expect(res.status).toBe(200);
    expect(res.json.auth).toMatchObject({ token_type: 'batch', renewable: false });
    expect(res.json.auth.lease_duration).toBeLessThanOrEqual(1800);
    expect(res.json.auth.client_token).toMatch(/^hvb\./);
  });

  it("renewal needs the role to exist still (as Vault's login renew)", async () => {
    expect(
      (await call('POST', 'auth/approle/role/renewing', { token_policies: ['p1'], bind_secret_id: false, secret_id_bound_cidrs: ['192.0.2.0/24'] })).status,
    ).toBe(204);
    const token = (await login({ role_id: await roleId('renewing') })).json.auth.client_token as string;
    expect((await call('POST', 'auth/token/renew-self', {}, token)).status).toBe(200);
    expect((await call('DELETE', 'auth/approle/role/renewing')).status).toBe(204);
    expect((await call('POST', 'auth/token/renew-self', {}, token)).status).toBe(403);
  });
});
