import { availableParallelism } from 'node:os';
import { buildConfig, ConfigError } from './config';
import { parseHcl } from './hcl';

const hcl = `
listener "tcp" {
  address     = "0.0.0.0:8300"
  tls_disable = true
  max_request_size = 1024
}
storage "postgresql" {
  connection_url = "postgres://file@db/x"
}
cluster_name = "prod"
`;

describe('config', () => {
  it('reads Vault-style HCL: listener, storage, cluster name', () => {
    const c = buildConfig(parseHcl(hcl), {}, {});
    expect(c.listener).toMatchObject({ host: '0.0.0.0', port: 8300, tlsDisable: true, maxRequestBytes: 1024 });
    expect(c.databaseUrl).toBe('postgres://file@db/x');
    expect(c.clusterName).toBe('prod');
  });

  it('DATABASE_URL wins over the file; without either, the embedded server is used', () => {
    expect(buildConfig(parseHcl(hcl), { DATABASE_URL: 'postgres://env/x' }, {}).databaseUrl).toBe('postgres://env/x');
    const c = buildConfig({}, {}, { dataDir: '/tmp/shdata' });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toBe('/tmp/shdata');
    expect(c.listener.address).toBe('127.0.0.1:8200');
  });

  it('reads ha_connection_url and prepared_statements (file or environment; the environment wins)', () => {
    const file = parseHcl(`storage "postgresql" {
  connection_url    = "postgres://bouncer:6432/x"
  ha_connection_url = "postgres://direct:5432/x"
  prepared_statements = false
}`);
    expect(buildConfig(file, {}, {})).toMatchObject({ haDatabaseUrl: 'postgres://direct:5432/x', databasePreparedStatements: false });
    const env = { SECRETHUB_HA_DATABASE_URL: 'postgres://env-direct/x', SECRETHUB_DATABASE_PREPARED_STATEMENTS: 'true' };
    expect(buildConfig(file, env, {})).toMatchObject({ haDatabaseUrl: 'postgres://env-direct/x', databasePreparedStatements: true });
    expect(buildConfig(parseHcl(hcl), {}, {})).toMatchObject({ haDatabaseUrl: undefined, databasePreparedStatements: true });
    expect(() => buildConfig(parseHcl(hcl), { SECRETHUB_DATABASE_PREPARED_STATEMENTS: 'no' }, {})).toThrow(/SECRETHUB_DATABASE_PREPARED_STATEMENTS/);
    expect(() => buildConfig(parseHcl(hcl), { SECRETHUB_DATABASE_PREPARED_STATEMENTS: 'false' }, {})).toThrow(/needs ha_connection_url/);
    // The embedded PostgreSQL has no pooler to go around.
    expect(() => buildConfig({}, { SECRETHUB_HA_DATABASE_URL: 'postgres://direct/x' }, {})).toThrow(/needs connection_url/);
  });

  it('refuses a non-loopback listener without TLS unless tls_disable is set', () => {
    expect(() => buildConfig({}, {}, { listen: '0.0.0.0:8200' })).toThrow(ConfigError);
    expect(() => buildConfig({}, {}, { listen: '127.0.0.1:8200' })).not.toThrow();
  });

  it('api_addr, cluster_addr, ha_lease_ttl and ha_renew_interval: defaults, file, environment, refusals', () => {
    expect(buildConfig({}, {}, { listen: '127.0.0.1:8201' }).ha).toEqual({
      apiAddr: 'http://127.0.0.1:8201',
      clusterAddr: '',
      leaseTtlSeconds: 15,
      renewIntervalSeconds: 5,
    });
    const file = parseHcl(
      'api_addr = "https://node1.example:8200"\ncluster_addr = "https://node1.example:8201"\nha_lease_ttl = "30s"\nha_renew_interval = "10s"\n',
    );
    expect(buildConfig(file, {}, {}).ha).toEqual({
      apiAddr: 'https://node1.example:8200',
      clusterAddr: 'https://node1.example:8201',
      leaseTtlSeconds: 30,
      renewIntervalSeconds: 10,
    });
    const env = { SECRETHUB_API_ADDR: 'http://10.0.0.2:8200', SECRETHUB_HA_LEASE_TTL: '3s', SECRETHUB_HA_RENEW_INTERVAL: '1s' };
    expect(buildConfig(file, env, {}).ha).toMatchObject({ apiAddr: 'http://10.0.0.2:8200', leaseTtlSeconds: 3, renewIntervalSeconds: 1 });
    expect(() => buildConfig(parseHcl('ha_lease_ttl = "10s"\nha_renew_interval = "6s"\n'), {}, {})).toThrow(
      'ha_renew_interval (6s) must be at most half of ha_lease_ttl (10s)',
    );
    expect(() => buildConfig(parseHcl('ha_lease_ttl = "soon"\n'), {}, {})).toThrow(ConfigError);
    expect(() => buildConfig(parseHcl('api_addr = "node1:8200"\n'), {}, {})).toThrow('api_addr "node1:8200" must be a URL');
  });

  it('reports HCL syntax errors with a position', () => {
    expect(() => parseHcl('listener "tcp" {')).toThrow(/1:/);
  });

  it('accepts JSON config with the same shape', () => {
    const c = buildConfig({ listener: { tcp: { address: '127.0.0.1:9999' } }, storage: { postgresql: { connection_url: 'postgres://j/x' } } }, {}, {});
    expect(c.listener.port).toBe(9999);
    expect(c.databaseUrl).toBe('postgres://j/x');
  });

  it('reads the audit anomalies block (HCL and JSON) with Vault-style durations, and refuses bad values', () => {
    const defaults = buildConfig({}, {}, {}).audit.anomalies;
    expect(defaults).toMatchObject({
      enabled: true,
      intervalSeconds: 60,
      windowSeconds: 300,
      requestRate: 600,
      loginFailures: 5,
      sourceIps: 10,
      unusualHoursLookbackSeconds: 14 * 86400,
    });
    const fromHcl = buildConfig(
      parseHcl('audit {\n  checkpoint_entries = 5\n  anomalies {\n    enabled = false\n    window = "10m"\n    error_rate_min_share = 0.25\n  }\n}\n'),
      {},
      {},
    ).audit;
    expect(fromHcl.checkpointEntries).toBe(5);
    expect(fromHcl.anomalies).toMatchObject({ enabled: false, windowSeconds: 600, errorMinShare: 0.25, intervalSeconds: 60 });
    expect(buildConfig({ audit: { anomalies: { interval: '30s', login_failures_threshold: 3 } } }, {}, {}).audit.anomalies).toMatchObject({
      intervalSeconds: 30,
      loginFailures: 3,
    });
    expect(() => buildConfig({ audit: { anomalies: { window: 'soon' } } }, {}, {})).toThrow(/audit\.anomalies\.window: expected a duration/);
    expect(() => buildConfig({ audit: { anomalies: { window: '0s' } } }, {}, {})).toThrow(/at least 1s/);
    expect(() => buildConfig({ audit: { anomalies: { error_rate_min_share: 2 } } }, {}, {})).toThrow(/error_rate_min_share/);
    expect(() => buildConfig({ audit: { anomalies: 'yes' } }, {}, {})).toThrow(/audit\.anomalies: expected a block/);
  });

  it('user_lockout stanzas: "all" and per method type, HCL as Vault writes them; bad labels and settings fail', () => {
    const doc = parseHcl(
      'user_lockout "all" {\n  lockout_threshold = 7\n  lockout_duration = "10m"\n}\nuser_lockout "userpass" {\n  lockout_counter_reset = "1h"\n  disable_lockout = true\n}\n',
    );
    expect(buildConfig(doc, {}, {}).userLockout).toEqual({
      all: { threshold: 7, durationSeconds: 600 },
      userpass: { counterResetSeconds: 3600, disabled: true },
    });
    expect(buildConfig({}, {}, {}).userLockout).toEqual({});
    expect(() => buildConfig(parseHcl('user_lockout "kv" {\n  lockout_threshold = 3\n}\n'), {}, {})).toThrow(ConfigError);
    // Logins compare attempts with the threshold as an int4.
    expect(() => buildConfig(parseHcl('user_lockout "all" {\n  lockout_threshold = "4294967296"\n}\n'), {}, {})).toThrow(
      'user_lockout "all".lockout_threshold: expected an integer from 1 to 2147483647',
    );
    expect(() => buildConfig(parseHcl('user_lockout "all" {\n  lockout_treshold = 3\n}\n'), {}, {})).toThrow(/lockout_treshold: unknown setting/);
    expect(() => buildConfig(parseHcl('user_lockout "all" {\n  lockout_duration = "0s"\n}\n'), {}, {})).toThrow(/at least 1s/);
  });

  it('workers: the flag, then SECRETHUB_WORKERS, then the file; auto is the usable CPUs; bad values fail', () => {
    expect(buildConfig({}, {}, {}).workers).toBe(1);
    expect(buildConfig(parseHcl('workers = 3\n'), {}, {}).workers).toBe(3);
    expect(buildConfig(parseHcl('workers = 3\n'), { SECRETHUB_WORKERS: '2' }, {}).workers).toBe(2);
    expect(buildConfig(parseHcl('workers = 3\n'), { SECRETHUB_WORKERS: '2' }, { workers: '4' }).workers).toBe(4);
    expect(buildConfig({}, {}, { workers: 'auto' }).workers).toBe(availableParallelism());
    expect(buildConfig(parseHcl('workers = "AUTO"\n'), {}, {}).workers).toBe(availableParallelism());
    expect(() => buildConfig({}, {}, { workers: '0' })).toThrow('--workers: expected "auto" or an integer from 1 to 256');
    expect(() => buildConfig({}, { SECRETHUB_WORKERS: 'two' }, {})).toThrow(ConfigError);
    expect(() => buildConfig(parseHcl('workers = 1.5\n'), {}, {})).toThrow('config.workers: expected "auto" or an integer from 1 to 256');
  });
});
