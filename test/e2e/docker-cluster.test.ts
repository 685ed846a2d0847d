/**
 * The cluster compose file (docker/compose.cluster.yaml: PostgreSQL, three nodes, HAProxy) without a
 * Docker engine: what it names exists, each node's settings load as the server loads them, and the
 * balancer's health check is the one that answers 200 exactly on unsealed nodes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { parseHcl } from '../../src/config/hcl';

const ROOT = join(__dirname, '..', '..');
const DOCKER = join(ROOT, 'docker');
const read = (name: string) => readFileSync(join(DOCKER, name), 'utf8');

/** The `environment:` entries of one service (two-space YAML as written in the file). */
function serviceEnvironment(compose: string, service: string): Record<string, string> {
  const block = new RegExp(`^ {2}${service}:\\n((?: {4}.*\\n| {6}.*\\n)+)`, 'm').exec(compose)?.[1] ?? '';
  const env = /^ {4}environment:\n((?: {6}.*\n)+)/m.exec(block)?.[1] ?? '';
  // A quoted YAML scalar ("2") is the string inside the quotes.
  return Object.fromEntries([...env.matchAll(/^ {6}(\w+): (.+)$/gm)].map((m) => [m[1], (m[2] as string).replace(/^"(.*)"$/, '$1')]));
}

describe('docker/compose.cluster.yaml (static)', () => {
  const compose = read('compose.cluster.yaml');

  it('three nodes from the server image, one PostgreSQL, HAProxy with docker/haproxy.cfg', () => {
    expect(compose).toMatch(/dockerfile: docker\/Dockerfile/);
    expect(existsSync(join(DOCKER, 'Dockerfile'))).toBe(true);
    expect(compose).toMatch(/- \.\/server\.hcl:\/etc\/secrethub\/server\.hcl:ro/);
    expect(compose).toMatch(/- \.\/haproxy\.cfg:\/usr\/local\/etc\/haproxy\/haproxy\.cfg:ro/);
    for (const n of [1, 2, 3]) expect(compose).toMatch(new RegExp(`^ {2}node${n}:\\n {4}<<: \\*node$`, 'm'));
    expect(compose).toMatch(/^ {2}db:\n {4}image: postgres:16$/m);
  });

  it("each node's settings load: its own api_addr, all on one database", () => {
    const urls = new Set<string>();
    for (const n of [1, 2, 3]) {
      const env = serviceEnvironment(compose, `node${n}`);
      expect(env.SECRETHUB_API_ADDR).toBe(`http://node${n}:8200`);
      expect(env.SECRETHUB_WORKERS).toBe('2');
      urls.add(env.DATABASE_URL);
      const config = loadConfig({}, { ...env, SECRETHUB_CONFIG: join(DOCKER, 'server.hcl') });
      expect(config.ha.apiAddr).toBe(`http://node${n}:8200`);
      expect(config.databaseUrl).toBe(env.DATABASE_URL);
      expect(config.workers).toBe(2);
      expect(config.listener.address).toBe('0.0.0.0:8200');
    }
    expect(urls.size).toBe(1);
    expect(parseHcl(read('server.hcl'))).toBeDefined();
  });

  it('the balancer checks sys/health for 200 (unsealed) on the three nodes and retries elsewhere', () => {
    const cfg = read('haproxy.cfg');
    expect(cfg).toMatch(/option httpchk GET \/v1\/sys\/health/);
    expect(cfg).toMatch(/http-check expect status 200/);
    expect(cfg).toMatch(/option redispatch/);
    for (const n of [1, 2, 3]) expect(cfg).toMatch(new RegExp(`server node${n} node${n}:8200 check`));
  });
});
