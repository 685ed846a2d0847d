/**
 * Many writers on one database (issue 30): `node dist/bench/multi-writer.js [processes] [seconds] [concurrency]`.
 *
 * Creates a fresh database on DATABASE_URL's server, starts `processes` SecretHub servers on it
 * (stand-ins for nodes × workers), initialises through the first and unseals every one, enables a
 * `database` audit device and a KV mount, then keeps `concurrency` KV writes in flight for
 * `seconds`, spread round-robin over the processes. Prints the requests per second, the servers'
 * CPU milliseconds per request (steadier than throughput on a shared machine), the count of each
 * status, and whether the audit chain verifies. Stops every process it started.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { cpuSeconds, freePort, startChild, type Child } from './lib/processes';

const MAIN = resolve(__dirname, '..', 'src', 'main.js');

async function call(address: string, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = body === undefined ? {} : { 'Content-Type': 'application/json' };
  if (token) headers['X-Vault-Token'] = token;
  const res = await fetch(`${address}/v1/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** `secrethub audit export` then `audit verify` against the chain's public key: the verdict line. */
function verifyChain(address: string, token: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sh-bench-verify-'));
  const cli = (...args: string[]) =>
    execFileSync(process.execPath, [MAIN, ...args], { env: { ...process.env, VAULT_ADDR: address, VAULT_TOKEN: token }, encoding: 'utf8', stdio: 'pipe' });
  writeFileSync(join(dir, 'key.pem'), cli('audit', 'public-key'));
  cli('audit', 'export', '--output', join(dir, 'export.jsonl'));
  try {
    return cli('audit', 'verify', join(dir, 'export.jsonl'), '--public-key', join(dir, 'key.pem')).trim();
  } catch (err) {
    return `FAILED: ${(err as { stdout?: string }).stdout ?? (err as Error).message}`;
  }
}

async function freshDatabase(admin: string): Promise<string> {
  const name = `sh_bench_${randomBytes(5).toString('hex')}`;
  const client = new Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

async function main(): Promise<void> {
  const [processes = 6, seconds = 10, concurrency = 300] = process.argv.slice(2).map(Number);
  const admin = process.env.DATABASE_URL;
  if (!admin) throw new Error('DATABASE_URL must name a PostgreSQL server');
  const url = await freshDatabase(admin);
  const children: Child[] = [];
  try {
    const addresses: string[] = [];
    for (let i = 0; i < processes; i++) {
      const port = await freePort();
      children.push(
        await startChild({
          name: `server-${i}`,
          script: MAIN,
          args: ['server', '--listen', `127.0.0.1:${port}`, '--data-dir', join('/tmp', `sh-bench-${port}`)],
          env: { DATABASE_URL: url },
          readyText: 'listening on',
        }),
      );
      addresses.push(`http://127.0.0.1:${port}`);
    }
    const init = await call(addresses[0], 'PUT', 'sys/init', undefined, { secret_shares: 1, secret_threshold: 1 });
    const { root_token: token, keys } = init.body as { root_token: string; keys: string[] };
    for (const a of addresses) await call(a, 'PUT', 'sys/unseal', undefined, { key: keys[0] });
    await call(addresses[0], 'PUT', 'sys/audit/db', token, { type: 'database' });
    await call(addresses[0], 'POST', 'sys/mounts/kv', token, { type: 'kv' });
    await new Promise((r) => setTimeout(r, 500));

    const serverCpu = () => children.reduce((sum, c) => sum + (cpuSeconds(c.pid) ?? 0), 0);
    const cpuBefore = serverCpu();
    const statuses = new Map<number | string, number>();
    let done = 0;
    let next = 0;
    const end = Date.now() + seconds * 1000;
    const started = Date.now();
    const worker = async () => {
      while (Date.now() < end) {
        const i = next++;
        let key: number | string;
        try {
          key = (await call(addresses[i % addresses.length], 'PUT', `kv/k${i % 1000}`, token, { v: i })).status;
        } catch (err) {
          // Client-side: no HTTP answer (the cause's code says why: a reset keep-alive socket, a refused connection).
          key = `${(err as Error).message} (${(err as { cause?: { code?: string } }).cause?.code ?? 'no code'})`;
        }
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        done++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = (Date.now() - started) / 1000;
    const cpuMsPerRequest = Number((((serverCpu() - cpuBefore) * 1000) / done).toFixed(2));
    const verify = verifyChain(addresses[0], token);
    console.log(
      JSON.stringify({
        processes,
        seconds,
        concurrency,
        requests: done,
        perSecond: Math.round(done / elapsed),
        cpuMsPerRequest,
        statuses: Object.fromEntries(statuses),
        verify,
      }),
    );
    const errors = children
      .map((c) =>
        c
          .output()
          .match(/.*(lost the head race|audit).*error.*/gi)
          ?.slice(0, 3),
      )
      .filter(Boolean);
    if (errors.length) console.log(JSON.stringify(errors));
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    const client = new Client({ connectionString: admin });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
    await client.end();
  }
}

main().catch((err: Error) => {
  console.error(err.stack);
  process.exit(1);
});
