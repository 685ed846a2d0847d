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

  it('refuses a non-loopback listener without TLS unless tls_disable is set', () => {
    expect(() => buildConfig({}, {}, { listen: '0.0.0.0:8200' })).toThrow(ConfigError);
    expect(() => buildConfig({}, {}, { listen: '127.0.0.1:8200' })).not.toThrow();
  });

  it('reports HCL syntax errors with a position', () => {
    expect(() => parseHcl('listener "tcp" {')).toThrow(/1:/);
  });

  it('accepts JSON config with the same shape', () => {
    const c = buildConfig({ listener: { tcp: { address: '127.0.0.1:9999' } }, storage: { postgresql: { connection_url: 'postgres://j/x' } } }, {}, {});
    expect(c.listener.port).toBe(9999);
    expect(c.databaseUrl).toBe('postgres://j/x');
  });
});
