import { buildConfig } from './config';
import { sanitizedConfig } from './sanitized';

describe('sanitized configuration (sys/config/state/sanitized)', () => {
  const doc = {
    listener: [{ tcp: [{ address: '127.0.0.1:8200', max_request_size: 1024, x_forwarded_for_authorized_addrs: '10.0.0.0/8' }] }],
    storage: [{ postgresql: [{ connection_url: 'postgres://secrethub:Pa55-storage-w0rd@db:5432/secrethub' }] }],
    cluster_name: 'prod',
    barrier_max_encryptions_per_term: 5000000,
  };

  it('shows Vault’s names and SecretHub’s settings, never the storage URL', () => {
    const env = { DATABASE_URL: 'postgres://u:env-Secret-9@db/x', SECRETHUB_HA_DATABASE_URL: 'postgres://u:ha-Secret-7@db:5432/x' };
    const config = buildConfig(doc, env, { dataDir: '/tmp/sh' });
    const s = sanitizedConfig(config);
    expect(s).toMatchObject({
      cluster_name: 'prod',
      max_lease_ttl: 2764800,
      default_lease_ttl: 2764800,
      log_level: 'info',
      storage: { type: 'postgresql' },
      barrier_max_encryptions_per_term: 5000000,
      storage_embedded: false,
      storage_ha_connection: true,
      storage_prepared_statements: true,
      listeners: [
        {
          type: 'tcp',
          config: {
            address: '127.0.0.1:8200',
            tls_disable: true,
            max_request_size: 1024,
            max_request_duration: '1m30s',
            x_forwarded_for_authorized_addrs: '10.0.0.0/8',
          },
        },
      ],
    });
    expect(s).not.toHaveProperty('seals');
    const text = JSON.stringify(s);
    for (const secret of ['Pa55-storage-w0rd', 'env-Secret-9', 'ha-Secret-7', 'postgres://', 'connection_url']) expect(text).not.toContain(secret);
  });

  it('names a configured seal by its type only', () => {
    const config = buildConfig(
      { ...doc, seal: [{ pkcs11: [{ lib: '/usr/lib/softhsm.so', token_label: 't', pin: 'HsmPin-4321', key_label: 'k' }] }] },
      {},
      { dataDir: '/tmp/sh' },
    );
    const s = sanitizedConfig(config);
    expect(s.seals).toEqual([{ type: 'pkcs11', disabled: false }]);
    expect(JSON.stringify(s)).not.toContain('HsmPin-4321');
    expect(s.storage_embedded).toBe(false);
  });
});
