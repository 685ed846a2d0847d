/** Talking to each worker of a multi-worker node (`server --workers 2`) in e2e tests. */
import { request } from 'node:http';
import { createTestDatabase } from './database';
import { startServerProcess, type ServerProcess, type StartOptions } from './server-process';
import { until } from './wait';

export interface Answer {
  status: number;
  worker: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One request on a new connection (the listener hands connections to the workers in turn). */
export function send(port: number, method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<Answer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: `/v1/${path}`,
        agent: false,
        headers: {
          connection: 'close',
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...(options.token ? { 'x-vault-token': options.token } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, worker: Number(res.headers['x-secrethub-worker']), body: text ? JSON.parse(text) : null }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Repeats an idempotent request until both workers have answered it (or 40 times); their answers by worker. */
export async function fromEach(port: number, method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<Map<number, Answer>> {
  const answers = new Map<number, Answer>();
  for (let i = 0; i < 40 && answers.size < 2; i++) {
    const answer = await send(port, method, path, options);
    answers.set(answer.worker, answer);
  }
  return answers;
}

/** fromEach, which must reach both workers. */
export async function fromBoth(port: number, method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<Map<number, Answer>> {
  const answers = await fromEach(port, method, path, options);
  expect([...answers.keys()].sort()).toEqual([1, 2]);
  return answers;
}

/** The pid of each worker, from the parent's log (the latest start of each). */
export function workerPids(output: string): Map<number, number> {
  const pids = new Map<number, number>();
  for (const m of output.matchAll(/node: worker (\d+) started \(pid (\d+)\)/g)) pids.set(Number(m[1]), Number(m[2]));
  return pids;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `server --workers 2` on a fresh database; resolves once both workers listen. */
export async function startNode(options: Omit<StartOptions, 'databaseUrl'> = {}): Promise<ServerProcess> {
  const server = await startServerProcess({ ...options, databaseUrl: await createTestDatabase(), args: ['--workers', '2', ...(options.args ?? [])] });
  await until(async () => (server.output().match(/listening on/g) ?? []).length >= 2, 60_000);
  return server;
}
