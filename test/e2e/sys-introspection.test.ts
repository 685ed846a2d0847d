/**
 * sys endpoints about the server itself, over HTTP: host-info, in-flight-req, internal/counters/tokens,
 * version-history, config/state/sanitized, rotate/config. Shapes, sudo, bad input, nothing secret.
 */
import { createTestDatabase } from '../support/database';
import { call, initAndUnseal } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(180_000);

describe('sys introspection endpoints (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  let databaseUrl: string;
  let root: string;
  let unsealKey: string;
  /** sys/* with every capability but sudo. */
  let plain: string;
  /** The same with sudo. */
  let sudoer: string;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    server = await startServerProcess({ databaseUrl });
    a = server.address;
    ({ rootToken: root, key: unsealKey } = await initAndUnseal(a));
    const policy = (caps: string[]) => ({ policy: `path "sys/*" { capabilities = ${JSON.stringify(caps)} }` });
    expect((await call(a, 'PUT', 'sys/policies/acl/plain', { token: root, body: policy(['create', 'read', 'update', 'delete', 'list']) })).status).toBe(204);
    expect(
      (await call(a, 'PUT', 'sys/policies/acl/sudoer', { token: root, body: policy(['create', 'read', 'update', 'delete', 'list', 'sudo']) })).status,
    ).toBe(204);
    plain = (await call(a, 'POST', 'auth/token/create', { token: root, body: { policies: ['plain'] } })).body.auth.client_token;
    sudoer = (await call(a, 'POST', 'auth/token/create', { token: root, body: { policies: ['sudoer'] } })).body.auth.client_token;
  });
  afterAll(async () => server?.stop());

  /** Nothing that names the storage or its credentials. */
  const expectNoStorageSecrets = (text: string) => {
    const url = new URL(databaseUrl);
    expect(text).not.toContain(databaseUrl);
    if (url.password) expect(text).not.toContain(decodeURIComponent(url.password));
    expect(text).not.toContain('postgres://');
    expect(text).not.toContain('postgresql://');
  };

  it('host-info: gopsutil field names in Vault’s envelope; sudo only', async () => {
    const res = await call(a, 'GET', 'sys/host-info', { token: sudoer });
    expect(res.status).toBe(200);
    const d = res.body.data;
    expect(new Date(d.timestamp).toISOString()).toBe(d.timestamp);
    expect(Object.keys(d.host).sort()).toEqual(
      [
        'bootTime',
        'hostid',
        'hostname',
        'kernelArch',
        'kernelVersion',
        'os',
        'platform',
        'platformFamily',
        'platformVersion',
        'procs',
        'uptime',
        'virtualizationRole',
        'virtualizationSystem',
      ].sort(),
    );
    expect(d.host.procs).toBeGreaterThan(0);
    expect(d.host.os).toBe(process.platform);
    for (const k of ['total', 'available', 'used', 'usedPercent', 'free', 'buffers', 'cached', 'swaptotal', 'swapfree', 'committedas', 'hugepagesize'])
      expect(typeof d.memory[k]).toBe('number');
    expect(d.memory.total).toBeGreaterThan(0);
    expect(d.cpu.length).toBeGreaterThan(0);
    expect(Object.keys(d.cpu[0]).sort()).toEqual(
      ['cacheSize', 'coreId', 'cores', 'cpu', 'family', 'flags', 'mhz', 'microcode', 'model', 'modelName', 'physicalId', 'stepping', 'vendorId'].sort(),
    );
    expect(Object.keys(d.cpu_times[0]).sort()).toEqual(
      ['cpu', 'guest', 'guestNice', 'idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user'].sort(),
    );
    expect(d.disk.some((x: { path: string }) => x.path === '/')).toBe(true);
    expect(Object.keys(d.disk[0]).sort()).toEqual(
      ['free', 'fstype', 'inodesFree', 'inodesTotal', 'inodesUsed', 'inodesUsedPercent', 'path', 'total', 'used', 'usedPercent'].sort(),
    );
    expectNoStorageSecrets(res.text);
    expect((await call(a, 'GET', 'sys/host-info', { token: root })).status).toBe(200);
    expect((await call(a, 'GET', 'sys/host-info', { token: plain })).body).toEqual({ errors: ['permission denied'] });
    expect((await call(a, 'GET', 'sys/host-info')).status).toBe(403);
  });

  it('in-flight-req: a bare map of the requests being handled, this one included; sudo only', async () => {
    const res = await call(a, 'GET', 'sys/in-flight-req?x=secret-query-value', { token: sudoer });
    expect(res.status).toBe(200);
    const entries = Object.entries(res.body as Record<string, Record<string, string>>);
    const self = entries.find(([id]) => id === res.headers.get('x-request-id'));
    expect(self?.[1]).toEqual({
      start_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      client_remote_address: '127.0.0.1',
      request_path: '/v1/sys/in-flight-req',
      request_method: 'GET',
      client_id: '',
    });
    expect(res.text).not.toContain('secret-query-value');
    // Answered requests are gone from the map.
    const again = await call(a, 'GET', 'sys/in-flight-req', { token: root });
    expect(Object.keys(again.body)).not.toContain(res.headers.get('x-request-id'));
    expect((await call(a, 'GET', 'sys/in-flight-req', { token: plain })).status).toBe(403);
  });

  it('internal/counters/tokens: Vault’s shape, counting service tokens', async () => {
    const before = await call(a, 'GET', 'sys/internal/counters/tokens', { token: plain });
    expect(before.status).toBe(200);
    const total = before.body.data.counters.service_tokens.total;
    expect(total).toBeGreaterThanOrEqual(3);
    await call(a, 'POST', 'auth/token/create', { token: root, body: { policies: ['default'] } });
    await call(a, 'POST', 'auth/token/create', { token: root, body: { policies: ['default'], type: 'batch' } });
    expect((await call(a, 'GET', 'sys/internal/counters/tokens', { token: plain })).body.data).toEqual({ counters: { service_tokens: { total: total + 1 } } });
  });

  it('version-history: LIST keys and key_info with build_date, previous_version, timestamp_installed', async () => {
    const res = await call(a, 'LIST', 'sys/version-history', { token: plain });
    expect(res.status).toBe(200);
    const version = (await call(a, 'GET', 'sys/seal-status')).body.version;
    expect(res.body.data.keys).toEqual([version]);
    expect(res.body.data.key_info[version]).toEqual({
      build_date: expect.any(String),
      previous_version: null,
      timestamp_installed: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect((await call(a, 'GET', 'sys/version-history?list=true', { token: plain })).body.data).toEqual(res.body.data);
  });

  it('config/state/sanitized: Vault’s names, no storage URL or credentials; sudo only', async () => {
    const res = await call(a, 'GET', 'sys/config/state/sanitized', { token: sudoer });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      storage: { type: 'postgresql' },
      max_lease_ttl: 2764800,
      default_lease_ttl: 2764800,
      disable_mlock: true,
      storage_embedded: false,
    });
    expect(res.body.data.listeners[0]).toMatchObject({ type: 'tcp', config: { address: `127.0.0.1:${server.port}`, tls_disable: true } });
    expectNoStorageSecrets(res.text);
    expect((await call(a, 'GET', 'sys/config/state/sanitized', { token: plain })).status).toBe(403);
  });

  it('rotate/config: Vault’s defaults, writes within Vault’s bounds, 400s without the value, kept across restarts', async () => {
    expect((await call(a, 'GET', 'sys/rotate/config', { token: plain })).body.data).toEqual({ max_operations: 3865470566, enabled: true, interval: 0 });
    expect((await call(a, 'POST', 'sys/rotate/config', { token: plain, body: { max_operations: 2000000, interval: '24h' } })).status).toBe(204);
    expect((await call(a, 'GET', 'sys/rotate/keyring/config', { token: plain })).body.data).toEqual({
      max_operations: 2000000,
      enabled: true,
      interval: '24h0m0s',
    });
    const refused = async (body: Record<string, unknown>, errors: string[] | RegExp, echo?: string) => {
      const res = await call(a, 'POST', 'sys/rotate/config', { token: plain, body });
      expect(res.status).toBe(400);
      if (Array.isArray(errors)) expect(res.body).toEqual({ errors });
      else expect(res.body.errors.join(' ')).toMatch(errors);
      if (echo) expect(res.text).not.toContain(echo);
    };
    await refused({ max_operations: 999999 }, ['max_operations must be in the range [1000000,3865470566]'], '999999');
    await refused({ max_operations: 38654705670 }, ['max_operations must be in the range [1000000,3865470566]'], '38654705670');
    await refused({ max_operations: 'many-operations-please' }, /max_operations/, 'many-operations-please');
    await refused({ interval: '23h59m59s' }, ['interval must be greater or equal to 24h0m0s'], '23h59m59s');
    await refused({ interval: 'every-other-tuesday' }, /interval/, 'every-other-tuesday');
    await refused({ enabled: 'perhaps-later-on' }, /enabled/, 'perhaps-later-on');
    await refused({ max_operations: 1 }, ['max_operations must be in the range [1000000,3865470566]']);
    // Nothing refused was stored.
    expect((await call(a, 'GET', 'sys/rotate/config', { token: plain })).body.data).toEqual({ max_operations: 2000000, enabled: true, interval: '24h0m0s' });
    expect((await call(a, 'POST', 'sys/rotate/config', { token: plain, body: { enabled: false, interval: 0 } })).status).toBe(204);
    expect((await call(a, 'GET', 'sys/rotate/config')).status).toBe(403);

    await server.stop();
    server = await startServerProcess({ databaseUrl, port: server.port });
    expect((await call(a, 'PUT', 'sys/unseal', { body: { key: unsealKey } })).body.sealed).toBe(false);
    expect((await call(a, 'GET', 'sys/rotate/config', { token: plain })).body.data).toEqual({ max_operations: 2000000, enabled: false, interval: 0 });
    // The same version unsealing again adds no history entry.
    expect((await call(a, 'LIST', 'sys/version-history', { token: plain })).body.data.keys).toHaveLength(1);
  });
});
