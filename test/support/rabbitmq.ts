/**
 * The machine's RabbitMQ for medium tests: AMQP at 127.0.0.1:5672 and the management API at
 * http://127.0.0.1:15672, both as guest/guest.
 *
 * Without a management API: under CI=true, as root with rabbitmq-plugins installed, the plugin is
 * enabled and the API awaited for 30 s; still nothing under CI is a failure, and outside CI the
 * tests skip with a reason (`rabbitMqAvailable` gives false after a console.warn).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { connect } from 'amqplib';

export const AMQP_HOST = '127.0.0.1';
export const AMQP_PORT = 5672;
export const MANAGEMENT_URI = 'http://127.0.0.1:15672';
export const ADMIN = { username: 'guest', password: 'guest' };

const RABBITMQ_PLUGINS = '/usr/sbin/rabbitmq-plugins';
const PLUGIN_WAIT_MS = 30_000;

/** A management API call as guest; gives the status and the parsed body (if any). */
export async function management(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${MANAGEMENT_URI}/${path}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function managementAnswers(): Promise<boolean> {
  try {
    return (await management('GET', 'api/overview')).status === 200;
  } catch {
    return false;
  }
}

/** True when the management API answers; see the file comment for what happens when it does not. */
export async function rabbitMqAvailable(): Promise<boolean> {
  if (await managementAnswers()) return true;
  const ci = process.env.CI === 'true';
  let tried = '';
  if (ci && existsSync(RABBITMQ_PLUGINS) && process.getuid?.() === 0) {
    tried = `; enabling rabbitmq_management with ${RABBITMQ_PLUGINS} `;
    try {
      await promisify(execFile)(RABBITMQ_PLUGINS, ['enable', 'rabbitmq_management'], { timeout: PLUGIN_WAIT_MS });
      const end = Date.now() + PLUGIN_WAIT_MS;
      while (Date.now() < end) {
        if (await managementAnswers()) return true;
        await new Promise((r) => setTimeout(r, 500));
      }
      tried += `did not make it answer within ${PLUGIN_WAIT_MS / 1000} s`;
    } catch (err) {
      tried += `failed: ${(err as Error).message}`;
    }
  }
  const reason = `the RabbitMQ management API does not answer at ${MANAGEMENT_URI} as guest${tried}`;
  if (ci) throw new Error(`${reason} (required when CI=true)`);
  console.warn(`skipping the RabbitMQ tests: ${reason}`);
  return false;
}

/** Whether an AMQP 0-9-1 login (PLAIN, vhost "/") with these credentials is accepted. */
export async function amqpLogin(username: string, password: string): Promise<boolean> {
  try {
    const conn = await connect({ protocol: 'amqp', hostname: AMQP_HOST, port: AMQP_PORT, username, password, vhost: '/' }, { timeout: 5000 });
    conn.on('error', () => undefined);
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Whether the user exists, by the management API. */
export async function userExists(username: string): Promise<boolean> {
  return (await management('GET', `api/users/${encodeURIComponent(username)}`)).status === 200;
}

/** Deletes users a test created (ignores those already gone). */
export async function deleteUsers(usernames: Iterable<string>): Promise<void> {
  for (const u of usernames) await management('DELETE', `api/users/${encodeURIComponent(u)}`).catch(() => undefined);
}
