/**
 * The machine's RabbitMQ for medium tests: AMQP at 127.0.0.1:5672 and the management API at
 * http://127.0.0.1:15672, both as guest/guest. Whether it answers is probed once per run
 * (services.ts: `describeWithService('rabbitmq', …)`).
 */
import { connect } from 'amqplib';
import { RABBITMQ_MANAGEMENT } from './services';

export const AMQP_HOST = '127.0.0.1';
export const AMQP_PORT = 5672;
export const MANAGEMENT_URI = RABBITMQ_MANAGEMENT.uri;
export const ADMIN = { username: RABBITMQ_MANAGEMENT.username, password: RABBITMQ_MANAGEMENT.password };

/** A management API call as guest; gives the status and the parsed body (if any). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function management(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${MANAGEMENT_URI}/${path}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
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
