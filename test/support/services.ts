/**
 * The machine's services some tests need (MariaDB, Redis, RabbitMQ's management API), probed once
 * per jest run by globalSetup. A test that needs one declares it with `describeWithService`: when
 * the service does not answer, its tests are reported as skipped, the reason in their name (and
 * printed once at the start), or, under CI=true, fail with the reason. Never counted as passed.
 * Tests that must run as root (CI does) declare it with `describeAsRoot`, reported the same way.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import Redis from 'ioredis';

export type Service = 'mariadb' | 'redis' | 'rabbitmq';

export const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
export const REDIS = { host: '127.0.0.1', port: 6379 };
export const RABBITMQ_MANAGEMENT = { uri: 'http://127.0.0.1:15672', username: 'guest', password: 'guest' };

const ENV = 'SECRETHUB_TEST_SERVICES';
const RABBITMQ_PLUGINS = '/usr/sbin/rabbitmq-plugins';
const PLUGIN_WAIT_MS = 30_000;

async function mariadb(): Promise<void> {
  const c = await createConnection({ ...MARIADB, connectTimeout: 3000 });
  await c.end();
}

async function redis(): Promise<void> {
  const r = new Redis({ ...REDIS, lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null, disconnectTimeout: 50 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    if ((await r.ping()) !== 'PONG') throw new Error('PING was not answered with PONG');
  } finally {
    r.disconnect();
  }
}

async function managementAnswers(): Promise<boolean> {
  try {
    const auth = Buffer.from(`${RABBITMQ_MANAGEMENT.username}:${RABBITMQ_MANAGEMENT.password}`).toString('base64');
    const res = await fetch(`${RABBITMQ_MANAGEMENT.uri}/api/overview`, { headers: { authorization: `Basic ${auth}` }, signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Under CI=true, as root with rabbitmq-plugins installed, the management plugin is enabled and awaited. */
async function rabbitmq(): Promise<void> {
  if (await managementAnswers()) return;
  let tried = '';
  if (process.env.CI === 'true' && existsSync(RABBITMQ_PLUGINS) && process.getuid?.() === 0) {
    tried = `; enabling rabbitmq_management with ${RABBITMQ_PLUGINS} `;
    try {
      await promisify(execFile)(RABBITMQ_PLUGINS, ['enable', 'rabbitmq_management'], { timeout: PLUGIN_WAIT_MS });
      const end = Date.now() + PLUGIN_WAIT_MS;
      while (Date.now() < end) {
        if (await managementAnswers()) return;
        await new Promise((r) => setTimeout(r, 500));
      }
      tried += `did not make it answer within ${PLUGIN_WAIT_MS / 1000} s`;
    } catch (err) {
      tried += `failed: ${(err as Error).message}`;
    }
  }
  throw new Error(`the management API does not answer at ${RABBITMQ_MANAGEMENT.uri} as guest${tried}`);
}

const PROBES: Record<Service, { name: string; at: string; probe: () => Promise<void> }> = {
  mariadb: { name: 'MariaDB', at: `${MARIADB.host}:${MARIADB.port}`, probe: mariadb },
  redis: { name: 'Redis', at: `${REDIS.host}:${REDIS.port}`, probe: redis },
  rabbitmq: { name: 'RabbitMQ', at: RABBITMQ_MANAGEMENT.uri, probe: rabbitmq },
};

/** globalSetup: probes every service at once and passes the reasons to the test workers in the environment. */
export async function probeServices(): Promise<void> {
  const entries = await Promise.all(
    (Object.keys(PROBES) as Service[]).map(async (s): Promise<[Service, string | null]> => {
      const { name, at, probe } = PROBES[s];
      try {
        await probe();
        return [s, null];
      } catch (err) {
        return [s, `${name} is not reachable at ${at}: ${(err as Error).message || String(err)}`];
      }
    }),
  );
  const reasons = Object.fromEntries(entries) as Record<Service, string | null>;
  process.env[ENV] = JSON.stringify(reasons);
  for (const reason of Object.values(reasons)) {
    if (reason) process.stderr.write(`\n${process.env.CI === 'true' ? 'FAILING (CI=true)' : 'SKIPPING'} the tests that need it: ${reason}\n`);
  }
}

/** Why the service cannot be used in this run, or undefined when it answered. */
export function serviceUnavailable(service: Service): string | undefined {
  const probed = process.env[ENV];
  if (!probed) return 'the services were not probed (jest globalSetup did not run)';
  return (JSON.parse(probed) as Record<Service, string | null>)[service] ?? undefined;
}

/** `describe` that runs unless `reason`: then skipped with the reason in its name, or failing under CI=true. */
export function describeUnless(reason: string | undefined, needs: string, name: string, fn: () => void): void {
  if (!reason) describe(name, fn);
  else if (process.env.CI === 'true')
    describe(name, () =>
      it(`needs ${needs}`, () => {
        throw new Error(`${reason} (required when CI=true)`);
      }),
    );
  else describe.skip(`${name} [skipped: ${reason}]`, fn);
}

/** `describe` for tests that need `service`: skipped with the reason when it is unavailable, failing under CI=true. */
export function describeWithService(service: Service, name: string, fn: () => void): void {
  describeUnless(serviceUnavailable(service), PROBES[service].name, name, fn);
}

/** `describe` for tests that must run as root: skipped with the reason otherwise, failing under CI=true (CI runs as root). */
export function describeAsRoot(name: string, fn: () => void): void {
  const uid = process.getuid?.();
  describeUnless(uid === 0 ? undefined : `runs as uid ${uid ?? 'unknown'}, not root`, 'root', name, fn);
}

/** `it` for one test that needs `service`, in a file whose other tests do not. */
export function itWithService(service: Service, name: string, fn: () => Promise<void>, timeout?: number): void {
  const reason = serviceUnavailable(service);
  if (!reason) it(name, fn, timeout);
  else if (process.env.CI === 'true')
    it(name, () => {
      throw new Error(`${reason} (required when CI=true)`);
    });
  else it.skip(`${name} [skipped: ${reason}]`, fn, timeout);
}
