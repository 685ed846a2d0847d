/**
 * Numbers and durations out of range (issue 22, item 3), each listed case over the real pipeline:
 * a 400 naming the field (never echoing the value), nothing stored, and the largest accepted value
 * leaves the mount working. Ints are int4 unless a field declares otherwise; durations at most
 * 2^31-1 seconds (596523h14m7s); durations Go cannot hold are not durations at all, as in Vault.
 */
import { X509Certificate } from 'node:crypto';
import { openAuditedKernel, kernelPipeline, type Call } from '../support/audit';
import { openTestKernel, type TestKernel } from '../support/kernel';

jest.setTimeout(60_000);

const MAX_INT = 'invalid value for field "%s": must be at most 2147483647';
const tooBig = (field: string) => [MAX_INT.replace('%s', field)];
const tooLong = (field: string) => [`invalid value for field "${field}": must be at most 596523h14m7s`];
const notDuration = (field: string) => [`error converting input for field "${field}": expected a duration`];
const MAX_DURATION = '596523h14m7s';

describe('numbers and durations out of range (medium)', () => {
  let k: TestKernel;
  let call: Call;

  /** A 400 with exactly `errors`, whose body does not carry `value`. */
  const refused = async (res: Promise<Awaited<ReturnType<Call>>>, errors: string[], value: string) => {
    const r = await res;
    expect([r.status, r.json.errors]).toEqual([400, errors]);
    expect(r.body).not.toContain(value);
  };

  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel());
    expect((await call('POST', 'sys/auth/approle', { type: 'approle' })).status).toBe(204);
    expect((await call('POST', 'sys/auth/userpass', { type: 'userpass' })).status).toBe(204);
    expect((await call('POST', 'auth/userpass/users/alice', { password: 'pw-alice' })).status).toBe(204);
  });
  afterAll(async () => k?.close());

  it('auth/token/create: num_uses above int4 and an explicit_max_ttl Go cannot hold are 400s; the maxima make tokens', async () => {
    await refused(call('POST', 'auth/token/create', { num_uses: 2147483648 }), tooBig('num_uses'), '2147483648');
    await refused(call('POST', 'auth/token/create', '{"num_uses":9223372036854775807}'), tooBig('num_uses'), '9223372036854775807');
    await refused(call('POST', 'auth/token/create', { explicit_max_ttl: '9223372036854775807s' }), notDuration('explicit_max_ttl'), '9223372036854775807');
    await refused(call('POST', 'auth/token/create', { period: '596523h14m8s' }), tooLong('period'), '596523h14m8s');
    const most = await call('POST', 'auth/token/create', { num_uses: 2147483647, explicit_max_ttl: MAX_DURATION, period: MAX_DURATION });
    expect(most.status).toBe(200);
    const lookup = await call('GET', 'auth/token/lookup-self', undefined, most.json.auth.client_token);
    expect([lookup.status, lookup.json.data.num_uses, lookup.json.data.explicit_max_ttl, lookup.json.data.period]).toEqual([
      200, 2147483646, 2147483647, 2147483647,
    ]);
  });

  it('X-Vault-Wrap-TTL: beyond Go is not a duration, beyond the maximum a 400; at the maximum it wraps', async () => {
    const wrapped = (ttl: string) => call('GET', 'auth/token/lookup-self', undefined, undefined, { headers: { 'x-vault-wrap-ttl': ttl } });
    await refused(wrapped('999999999999h'), ['error parsing wrap TTL: not a duration'], '999999999999h');
    await refused(wrapped('596523h14m8s'), ['error parsing wrap TTL: must be at most 596523h14m7s'], '596523h14m8s');
    const most = await wrapped(MAX_DURATION);
    expect([most.status, most.json.wrap_info?.ttl]).toEqual([200, 2147483647]);
  });

  it('KV v2: a version above int4 in a query or a versions list is a 400, and no listed version is touched', async () => {
    expect((await call('POST', 'secret/data/k', { data: { a: 1 } })).status).toBe(200);
    await refused(call('GET', 'secret/data/k?version=1099511627776'), tooBig('version'), '1099511627776');
    await refused(call('GET', 'secret/subkeys/k?version=1099511627776'), tooBig('version'), '1099511627776');
    await refused(call('DELETE', 'secret/data/k?version=1099511627776'), tooBig('version'), '1099511627776');
    for (const op of ['delete', 'undelete', 'destroy'])
      await refused(call('POST', `secret/${op}/k`, { versions: [1, 1099511627776] }), tooBig('versions'), '1099511627776');
    const read = await call('GET', 'secret/data/k?version=1');
    expect([read.status, read.json.data.data, read.json.data.metadata.destroyed, read.json.data.metadata.deletion_time]).toEqual([200, { a: 1 }, false, '']);
  });

  it('AppRole: secret_id_num_uses ≥ 2^31 and token_ttl=9999999999999h are 400s that change nothing; the maxima still log in', async () => {
    expect((await call('POST', 'auth/approle/role/r', { token_ttl: '1h' })).status).toBe(204);
    await refused(call('POST', 'auth/approle/role/r', { secret_id_num_uses: 2147483648, token_ttl: '2h' }), tooBig('secret_id_num_uses'), '2147483648');
    await refused(call('POST', 'auth/approle/role/r', { token_ttl: '9999999999999h' }), notDuration('token_ttl'), '9999999999999h');
    await refused(call('POST', 'auth/approle/role/r/secret-id', { ttl: '596523h14m8s' }), tooLong('ttl'), '596523h14m8s');
    let role = await call('GET', 'auth/approle/role/r');
    expect([role.json.data.secret_id_num_uses, role.json.data.token_ttl]).toEqual([0, 3600]);

    const most = {
      secret_id_num_uses: 2147483647,
      secret_id_ttl: MAX_DURATION,
      token_ttl: MAX_DURATION,
      token_max_ttl: MAX_DURATION,
      token_explicit_max_ttl: MAX_DURATION,
      token_num_uses: 2147483647,
      token_period: MAX_DURATION,
    };
    expect((await call('POST', 'auth/approle/role/r', most)).status).toBe(204);
    role = await call('GET', 'auth/approle/role/r');
    expect(role.json.data).toMatchObject({
      secret_id_num_uses: 2147483647,
      secret_id_ttl: 2147483647,
      token_ttl: 2147483647,
      token_num_uses: 2147483647,
      token_period: 2147483647,
    });
    const roleId = (await call('GET', 'auth/approle/role/r/role-id')).json.data.role_id;
    const secret = await call('POST', 'auth/approle/role/r/secret-id', { num_uses: 2147483647, ttl: MAX_DURATION });
    expect([secret.status, secret.json.data.secret_id_num_uses, secret.json.data.secret_id_ttl]).toEqual([200, 2147483647, 2147483647]);
    const login = await call('POST', 'auth/approle/login', { role_id: roleId, secret_id: secret.json.data.secret_id });
    expect([login.status, login.json.auth.lease_duration]).toEqual([200, 2147483647]);
  });

  it('KV v2 delete_version_after: 9999999999h is a 400 in config and metadata; at the maximum later writes still work', async () => {
    await refused(call('POST', 'secret/config', { delete_version_after: '9999999999h' }), notDuration('delete_version_after'), '9999999999h');
    await refused(call('POST', 'secret/config', { delete_version_after: 2147483648 }), tooLong('delete_version_after'), '2147483648');
    await refused(call('POST', 'secret/metadata/dva', { delete_version_after: '9999999999h' }), notDuration('delete_version_after'), '9999999999h');
    await refused(call('POST', 'secret/metadata/dva', { delete_version_after: '596523h14m8s' }), tooLong('delete_version_after'), '596523h14m8s');
    expect((await call('GET', 'secret/metadata/dva')).status).toBe(404);
    expect((await call('POST', 'secret/config', { delete_version_after: MAX_DURATION, max_versions: 2147483647 })).status).toBe(204);
    expect((await call('POST', 'secret/metadata/dva', { delete_version_after: MAX_DURATION })).status).toBe(204);
    const write = await call('POST', 'secret/data/dva', { data: { a: 1 } });
    expect(write.status).toBe(200);
    expect(new Date(write.json.data.deletion_time).getUTCFullYear()).toBeGreaterThan(2090);
    expect((await call('GET', 'secret/config')).json.data).toEqual({ cas_required: false, delete_version_after: MAX_DURATION, max_versions: 2147483647 });
    expect((await call('POST', 'secret/config', { delete_version_after: 0, max_versions: 0 })).status).toBe(204);
  });

  it('user_lockout_config.lockout_threshold 4294967296 is a 400 and is not stored; logins on the mount keep working', async () => {
    await refused(
      call('POST', 'sys/auth/userpass/tune', { user_lockout_config: { lockout_threshold: 4294967296 } }),
      tooBig('user_lockout_config.lockout_threshold'),
      '4294967296',
    );
    await refused(
      call('POST', 'sys/auth/userpass/tune', { user_lockout_config: { lockout_duration: '9999999999h' } }),
      notDuration('user_lockout_config.lockout_duration'),
      '9999999999h',
    );
    expect((await call('GET', 'sys/auth/userpass/tune')).json.data.user_lockout_config).toBeUndefined();
    expect((await call('POST', 'auth/userpass/login/alice', { password: 'pw-alice' })).status).toBe(200);
    const most = { lockout_threshold: 2147483647, lockout_duration: MAX_DURATION, lockout_counter_reset_duration: MAX_DURATION };
    expect((await call('POST', 'sys/auth/userpass/tune', { user_lockout_config: most })).status).toBe(204);
    expect((await call('POST', 'auth/userpass/login/alice', { password: 'wrong' })).status).toBe(400);
    expect((await call('POST', 'auth/userpass/login/alice', { password: 'pw-alice' })).status).toBe(200);
  });

  it('mount TTLs: 99999999999999h is a 400; above the system max is kept as in Vault, and up to the maximum the mount works', async () => {
    await refused(call('POST', 'sys/mounts/secret/tune', { max_lease_ttl: '99999999999999h' }), notDuration('max_lease_ttl'), '99999999999999h');
    await refused(call('POST', 'sys/mounts/secret/tune', { max_lease_ttl: '596523h14m8s' }), tooLong('max_lease_ttl'), '596523h14m8s');
    await refused(call('POST', 'sys/mounts/fresh', { type: 'kv', config: { default_lease_ttl: 2147483648 } }), tooLong('default_lease_ttl'), '2147483648');
    expect((await call('GET', 'sys/mounts/fresh/tune')).status).toBe(400);
    expect((await call('GET', 'sys/mounts/secret/tune')).json.data.max_lease_ttl).toBe(768 * 3600);
    // Vault lets a mount's max exceed the system max (decision: PKI mounts are tuned to 87600h).
    expect((await call('POST', 'sys/mounts/secret/tune', { max_lease_ttl: '87600h' })).status).toBe(204);
    expect((await call('GET', 'sys/mounts/secret/tune')).json.data.max_lease_ttl).toBe(87600 * 3600);
    expect((await call('POST', 'sys/auth/userpass/tune', { max_lease_ttl: MAX_DURATION, default_lease_ttl: MAX_DURATION })).status).toBe(204);
    const login = await call('POST', 'auth/userpass/login/alice', { password: 'pw-alice' });
    expect(login.status).toBe(200);
    expect((await call('GET', 'auth/token/lookup-self', undefined, login.json.auth.client_token)).status).toBe(200);
  });

  it('PKI at the maximum TTLs: a root, a certificate and a CRL that end after 2049', async () => {
    expect((await call('POST', 'sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: MAX_DURATION } })).status).toBe(204);
    await refused(
      call('POST', 'pki/root/generate/internal', { common_name: 'Root', key_type: 'ec', key_bits: 256, ttl: '596523h14m8s' }),
      tooLong('ttl'),
      '596523h14m8s',
    );
    await refused(call('POST', 'pki/root/generate/internal', { common_name: 'Root', key_type: 'ec', key_bits: 4294967296 }), tooBig('key_bits'), '4294967296');
    await refused(
      call('POST', 'pki/root/generate/internal', { common_name: 'Root', key_type: 'ec', key_bits: 256, max_path_length: -2 }),
      ['invalid value for field "max_path_length": must be at least -1'],
      '-2',
    );
    await refused(
      call('POST', 'pki/roles/web', { key_type: 'ec', key_bits: -2147483648 }),
      ['invalid key_bits for key_type ec: use one of 224, 256, 384, 521'],
      '2147483648',
    );
    const root = await call('POST', 'pki/root/generate/internal', { common_name: 'Root', key_type: 'ec', key_bits: 256, ttl: MAX_DURATION });
    expect(root.status).toBe(200);
    expect(
      (await call('POST', 'pki/roles/web', { allow_any_name: true, key_type: 'ec', key_bits: 256, max_ttl: MAX_DURATION, not_before_duration: '3600s' }))
        .status,
    ).toBe(204);
    const issued = await call('POST', 'pki/issue/web', { common_name: 'a.example.com', ttl: '438000h' });
    expect(issued.status).toBe(200);
    expect(new Date(new X509Certificate(issued.json.data.certificate).validTo).getUTCFullYear()).toBeGreaterThan(2070);
    expect((await call('POST', 'pki/config/crl', { expiry: MAX_DURATION })).status).toBe(204);
    expect((await call('GET', 'pki/crl/rotate')).status).toBe(200);
    expect((await call('GET', 'pki/crl/pem')).status).toBe(200);
  });

  it('sys/leases?limit beyond int64 lists everything instead of overflowing the query', async () => {
    const res = await call('GET', 'sys/leases?type=irrevocable&limit=99999999999999999999');
    expect([res.status, res.json.data?.lease_count]).toEqual([200, 0]);
  });
});

describe('raw sys bodies: share counts out of range (medium)', () => {
  let k: TestKernel;
  afterEach(async () => k?.close());

  it('sys/init and sys/rekey/init: a share count above int4 is a 400 and nothing is initialised or started', async () => {
    k = await openTestKernel();
    const pipeline = kernelPipeline(k);
    const put = async (url: string, body: string, token?: string) => {
      const res = await pipeline.handle({
        method: 'PUT',
        url,
        headers: { 'content-type': 'application/json', ...(token ? { 'x-vault-token': token } : {}) },
        body: Buffer.from(body),
        remoteAddress: '192.0.2.10',
      });
      return { status: res.status, text: String(res.body ?? ''), json: JSON.parse(String(res.body ?? '{}')) };
    };
    const init = await put('sys/init', '{"secret_shares":2147483648,"secret_threshold":1}');
    expect([init.status, init.json.errors]).toEqual([400, tooBig('secret_shares')]);
    const hugeThreshold = await put('sys/init', '{"secret_shares":1,"secret_threshold":9223372036854775807}');
    expect([hugeThreshold.status, hugeThreshold.json.errors, hugeThreshold.text.includes('9223372036854775807')]).toEqual([
      400,
      tooBig('secret_threshold'),
      false,
    ]);
    expect(await k.seal.isInitialized()).toBe(false);

    const done = await put('sys/init', '{"secret_shares":1,"secret_threshold":1}');
    expect(done.status).toBe(200);
    await k.seal.submitUnsealKey(done.json.keys[0], false);
    const rekey = await put('sys/rekey/init', '{"secret_shares":3,"secret_threshold":2147483648}', done.json.root_token);
    expect([rekey.status, rekey.json.errors]).toEqual([400, tooBig('secret_threshold')]);
    expect((await k.rekey.status()).started).toBe(false);
  });
});
