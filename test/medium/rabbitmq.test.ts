/**
 * The `rabbitmq` engine against the machine's RabbitMQ (AMQP 127.0.0.1:5672, management API
 * http://127.0.0.1:15672, guest/guest): created users log in over AMQP with their password and
 * have the role's tags and permissions; revocation and expiry delete them; bad input is refused.
 * Without a management API the tests skip with a reason, except under CI=true (test/support/rabbitmq.ts).
 */
import { randomBytes } from 'node:crypto';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';
import { ADMIN, amqpLogin, deleteUsers, management, MANAGEMENT_URI, userExists } from '../support/rabbitmq';
import { describeWithService } from '../support/services';
import { until } from '../support/wait';

jest.setTimeout(120_000);

const APP_VHOSTS = { '/': { configure: '^app\\..*', write: '.*', read: '.*' } };
const APP_TOPICS = { '/': { 'amq.topic': { write: '^app\\.', read: '.*' } } };
/** A vhost whose name needs encoding in a management API path (space and slash). */
const ODD_VHOST = `sh test/${randomBytes(4).toString('hex')}`;

type Creds = { username: string; password: string };

function tagsOf(user: { tags: string | string[] }): string[] {
  return Array.isArray(user.tags) ? user.tags : user.tags.split(',').filter((t) => t !== '');
}

describeWithService('rabbitmq', 'rabbitmq engine (medium)', () => {
  let k: TestKernel | undefined;
  let call: Call;
  const created = new Set<string>();

  /** Reads creds and remembers the user for cleanup. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function creds(path: string): Promise<{ status: number; json: Record<string, any>; data: Creds }> {
    const res = await call('GET', path);
    const data = res.json.data as Creds;
    if (data?.username) created.add(data.username);
    return { status: res.status, json: res.json, data };
  }

  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    for (const mount of ['rabbitmq', 'rabbitmq-short']) {
      expect((await call('PUT', `sys/mounts/${mount}`, { type: 'rabbitmq' })).status).toBe(204);
      expect(
        (await call('PUT', `${mount}/config/connection`, { connection_uri: MANAGEMENT_URI, username: ADMIN.username, password: ADMIN.password })).status,
      ).toBe(204);
    }
    expect((await call('PUT', 'rabbitmq/config/lease', { ttl: '1h', max_ttl: '2h' })).status).toBe(204);
    expect((await call('PUT', 'rabbitmq-short/config/lease', { ttl: 1, max_ttl: 1 })).status).toBe(204);
    expect(
      (await call('PUT', 'rabbitmq/roles/app', { tags: 'management', vhosts: JSON.stringify(APP_VHOSTS), vhost_topics: JSON.stringify(APP_TOPICS) })).status,
    ).toBe(204);
    expect((await call('PUT', 'rabbitmq-short/roles/brief', { vhosts: JSON.stringify(APP_VHOSTS) })).status).toBe(204);
  });

  afterAll(async () => {
    await deleteUsers(created);
    await management('DELETE', `api/vhosts/${encodeURIComponent(ODD_VHOST)}`).catch(() => undefined);
    await k?.close();
  });

  it('creds log in over AMQP with the role tags and permissions; revoke deletes the user, twice is fine', async () => {
    const { status, json, data } = await creds('rabbitmq/creds/app');
    expect(status).toBe(200);
    expect(json).toMatchObject({ renewable: true, lease_duration: 3600, lease_id: expect.stringMatching(/^rabbitmq\/creds\/app\//) });
    expect(data.username).toMatch(/^v-app-[a-z0-9]{24}$/);
    expect(data.password).toMatch(/^[A-Za-z0-9]{32}$/);

    expect(await amqpLogin(data.username, data.password)).toBe(true);
    expect(await amqpLogin(data.username, `${data.password}x`)).toBe(false);

    const user = await management('GET', `api/users/${data.username}`);
    expect(tagsOf(user.json)).toEqual(['management']);
    const permissions = await management('GET', `api/permissions/%2F/${data.username}`);
    expect(permissions.json).toMatchObject({ vhost: '/', user: data.username, ...APP_VHOSTS['/'] });
    const topics = await management('GET', `api/topic-permissions/%2F/${data.username}`);
    expect(topics.json).toEqual([expect.objectContaining({ vhost: '/', user: data.username, exchange: 'amq.topic', write: '^app\\.', read: '.*' })]);

    expect((await call('PUT', 'sys/leases/revoke', { lease_id: json.lease_id })).status).toBe(204);
    expect(await amqpLogin(data.username, data.password)).toBe(false);
    expect(await userExists(data.username)).toBe(false);
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: json.lease_id })).status).toBe(204);
  });

  it('password_policy: generated passwords follow the sys/policies/password policy', async () => {
    const policy = JSON.stringify({
      length: 20,
      rule: [{ charset: { charset: 'abcdefghij', 'min-chars': 1 } }, { charset: { charset: '!#%&*+=?', 'min-chars': 3 } }],
    });
    expect((await call('PUT', 'sys/policies/password/rabbit', { policy })).status).toBe(204);
    const config = { connection_uri: MANAGEMENT_URI, username: ADMIN.username, password: ADMIN.password };
    expect((await call('PUT', 'rabbitmq-short/config/connection', { ...config, password_policy: 'rabbit' })).status).toBe(204);
    expect((await call('GET', 'rabbitmq-short/config/connection')).json.data.password_policy).toBe('rabbit');
    const { data } = await creds('rabbitmq-short/creds/brief');
    expect(data.password).toMatch(/^[a-j!#%&*+=?]{20}$/);
    expect(data.password.replace(/[a-j]/g, '').length).toBeGreaterThanOrEqual(3);
    expect(await amqpLogin(data.username, data.password)).toBe(true);
    expect((await call('PUT', 'rabbitmq-short/config/connection', config)).status).toBe(204);
  });

  it("username_template: Vault's template language names the users; bad templates and existing users are refused", async () => {
    const config = { connection_uri: MANAGEMENT_URI, username: ADMIN.username, password: ADMIN.password };
    const template = '{{ printf "t-%s-%s-%s" (.DisplayName) (.RoleName | uppercase) (random 8) | lowercase }}';
    expect((await call('PUT', 'rabbitmq-short/config/connection', { ...config, username_template: template })).status).toBe(204);
    expect((await call('GET', 'rabbitmq-short/config/connection')).json.data.username_template).toBe(template);
    const { status, data } = await creds('rabbitmq-short/creds/brief');
    expect(status).toBe(200);
    expect(data.username).toMatch(/^t-root-brief-[a-z0-9]{8}$/);
    expect(await amqpLogin(data.username, data.password)).toBe(true);
    const refused = async (body: Record<string, unknown>, message: string) => {
      const res = await call('PUT', 'rabbitmq-short/config/connection', { ...config, ...body });
      expect(res.status).toBe(400);
      expect(res.json.errors).toEqual([message]);
    };
    await refused(
      { username_template: '{{ if .RoleName }}x-secretish{{ end }}' },
      'unable to initialize username template: unknown function or keyword in an action',
    );
    await refused({ username_template: '{{ .Password }}' }, 'invalid username template: unknown field in an action');
    await refused({ username_template: '{{ random 5000 }}' }, 'invalid username template: random: the length must be from 1 to 1024');
    // A template naming an existing user (here the administrator) never takes it over.
    expect((await call('PUT', 'rabbitmq-short/config/connection', { ...config, username_template: `{{ "${ADMIN.username}" }}` })).status).toBe(204);
    const taken = await call('GET', 'rabbitmq-short/creds/brief');
    expect([taken.status, taken.json.errors]).toEqual([400, ['failed to create the user: the username template gave the name of an existing user']]);
    expect(await amqpLogin(ADMIN.username, ADMIN.password)).toBe(true);
    expect((await call('PUT', 'rabbitmq-short/config/connection', config)).status).toBe(204);
    expect((await call('GET', 'rabbitmq-short/config/connection')).json.data.username_template).toBe('');
  });

  it('revoking the lease of a user already deleted by hand succeeds', async () => {
    const { json, data } = await creds('rabbitmq/creds/app');
    expect((await management('DELETE', `api/users/${data.username}`)).status).toBe(204);
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: json.lease_id })).status).toBe(204);
    const lookup = await call('PUT', 'sys/leases/lookup', { lease_id: json.lease_id });
    expect(lookup.json.data).toMatchObject({ revoked: true });
  });

  it('renewal extends the lease but never past max_ttl; config/lease reads back in seconds', async () => {
    expect((await call('GET', 'rabbitmq/config/lease')).json.data).toEqual({ ttl: 3600, max_ttl: 7200 });
    const { json } = await creds('rabbitmq/creds/app');
    const renewed = await call('PUT', 'sys/leases/renew', { lease_id: json.lease_id, increment: '10h' });
    expect(renewed.status).toBe(200);
    expect(renewed.json.lease_duration).toBeGreaterThan(7100);
    expect(renewed.json.lease_duration).toBeLessThanOrEqual(7200);
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: json.lease_id })).status).toBe(204);
  });

  it('a lease with a 1 s TTL is revoked by expiry', async () => {
    const { status, json, data } = await creds('rabbitmq-short/creds/brief');
    expect(status).toBe(200);
    expect(json.lease_duration).toBe(1);
    expect(await userExists(data.username)).toBe(true);
    await until(async () => !(await userExists(data.username)));
    expect(await amqpLogin(data.username, data.password)).toBe(false);
  });

  it('vhost names are encoded in management paths (a vhost with a space and a slash)', async () => {
    expect((await management('PUT', `api/vhosts/${encodeURIComponent(ODD_VHOST)}`)).status).toBeLessThan(300);
    expect((await call('PUT', 'rabbitmq/roles/odd', { vhosts: { [ODD_VHOST]: { configure: '', write: '', read: '.*' } } })).status).toBe(204);
    expect((await call('GET', 'rabbitmq/roles/odd')).json.data).toEqual({
      tags: '',
      vhosts: { [ODD_VHOST]: { configure: '', write: '', read: '.*' } },
      vhost_topics: null,
    });
    const { status, json, data } = await creds('rabbitmq/creds/odd');
    expect(status).toBe(200);
    const perms = await management('GET', `api/permissions/${encodeURIComponent(ODD_VHOST)}/${data.username}`);
    expect(perms.json).toMatchObject({ vhost: ODD_VHOST, configure: '', write: '', read: '.*' });
    expect((await call('PUT', 'sys/leases/revoke', { lease_id: json.lease_id })).status).toBe(204);
    expect(await userExists(data.username)).toBe(false);
  });

  it('a permission step that fails deletes the user again and answers 400', async () => {
    const missing = `no-such-vhost-${randomBytes(4).toString('hex')}`;
    expect((await call('PUT', 'rabbitmq/roles/badvhost', { vhosts: JSON.stringify({ [missing]: { configure: '.*', write: '.*', read: '.*' } }) })).status).toBe(
      204,
    );
    const res = await call('GET', 'rabbitmq/creds/badvhost');
    expect(res.status).toBe(400);
    expect(res.json.errors[0]).toContain("failed to set the user's permissions");
    const users = (await management('GET', 'api/users')).json as { name: string }[];
    expect(users.filter((u) => u.name.startsWith('v-badvhost-'))).toEqual([]);
  });

  it('bad role input is refused with 400', async () => {
    const bad: Record<string, unknown>[] = [
      { vhosts: 'not json {' },
      { vhosts: '["/"]' },
      { vhosts: '{"/": "all"}' },
      { vhosts: '{"/": {"configure": ".*", "reed": ".*"}}' },
      { vhosts: '{"/": {"read": 5}}' },
      { vhosts: '{"..": {"read": ".*"}}' },
      { vhosts: '{"": {"read": ".*"}}' },
      { tags: 'management', vhost_topics: '{"/": {"amq.topic": "x"}}' },
      { tags: 'management', vhost_topics: 'nope' },
      { vhost_topics: JSON.stringify(APP_TOPICS) },
      {},
    ];
    for (const body of bad) {
      const res = await call('PUT', 'rabbitmq/roles/bad', body);
      expect([res.status, body]).toEqual([400, body]);
      expect(res.body).not.toContain('not json {');
    }
    expect((await call('GET', 'rabbitmq/roles/bad')).status).toBe(404);
  });

  it('creds for an unknown role → 400', async () => {
    const res = await call('GET', 'rabbitmq/creds/nope');
    expect(res.status).toBe(400);
    expect(res.json.errors).toEqual(['unknown role: nope']);
  });

  it('roles are listed; injection-like role names are refused', async () => {
    for (const path of ['rabbitmq/roles/../x', 'rabbitmq/roles/a%20b', 'rabbitmq/roles/x%2F..%2Fy', 'rabbitmq/roles/-x', 'rabbitmq/roles/a%22b']) {
      const res = await call('PUT', path, { tags: 'management' });
      expect([path, res.status]).toEqual([path, 400]);
    }
    expect((await call('GET', 'rabbitmq/creds/a%20b')).status).toBe(400);
    const keys = (await call('GET', 'rabbitmq/roles?list=true')).json.data.keys as string[];
    expect(keys).toEqual(expect.arrayContaining(['app', 'badvhost']));
    expect(keys.every((name) => /^\w[\w.-]*$/.test(name))).toBe(true);
  });

  it('config/connection: read never shows the password; bad credentials or URI → 400 without the password', async () => {
    const read = await call('GET', 'rabbitmq/config/connection');
    expect(read.json.data).toEqual({ connection_uri: MANAGEMENT_URI, username: ADMIN.username, password_policy: '', username_template: '' });
    expect(read.body).not.toContain('"password"');

    const wrong = 'Wr0ng-Passw0rd-7f3a';
    const refused = await call('PUT', 'rabbitmq-short/config/connection', { connection_uri: MANAGEMENT_URI, username: ADMIN.username, password: wrong });
    expect(refused.status).toBe(400);
    expect(refused.json.errors[0]).toMatch(/^failed to validate the connection: .*401/);
    expect(refused.body).not.toContain(wrong);

    const unreachable = await call('PUT', 'rabbitmq-short/config/connection', {
      connection_uri: 'http://127.0.0.1:1',
      username: ADMIN.username,
      password: wrong,
    });
    expect(unreachable.status).toBe(400);
    expect(unreachable.json.errors[0]).toContain('cannot reach the RabbitMQ management API');
    expect(unreachable.body).not.toContain(wrong);

    for (const body of [
      { connection_uri: `http://guest:${wrong}@127.0.0.1:15672`, username: ADMIN.username, password: wrong },
      { connection_uri: 'amqp://127.0.0.1:5672', username: ADMIN.username, password: wrong },
      { connection_uri: MANAGEMENT_URI, username: ADMIN.username },
      { connection_uri: MANAGEMENT_URI, username: ADMIN.username, password: wrong, password_policy: 'strict' },
    ]) {
      const res = await call('PUT', 'rabbitmq-short/config/connection', body);
      expect(res.status).toBe(400);
      expect(res.body).not.toContain(wrong);
    }
    // Nothing above replaced the stored connection.
    expect((await call('GET', 'rabbitmq-short/config/connection')).json.data).toMatchObject({ connection_uri: MANAGEMENT_URI });
  });
});
