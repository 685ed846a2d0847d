/** Runs the built server (`dist/src/main.js server`) as a child process, for e2e tests over HTTP or HTTPS. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export interface ServerProcess {
  address: string;
  port: number;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then wait for exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

export interface StartOptions {
  databaseUrl?: string;
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  port?: number;
  /** Output that means the server is ready (default: the 'listening on' log line). */
  readyText?: string;
  /** Run the server as this OS user (tests run as root exercise the non-root path this way). */
  uid?: number;
  gid?: number;
  /** The server's entry point (default MAIN, this checkout's build) and working directory. */
  main?: string;
  cwd?: string;
}

export async function startServerProcess(options: StartOptions): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const args = [
    options.main ?? MAIN,
    'server',
    '--listen',
    `127.0.0.1:${port}`,
    ...(options.dataDir ? ['--data-dir', options.dataDir] : []),
    ...(options.args ?? []),
  ];
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...(options.env ?? {}) };
  delete env.DATABASE_URL;
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], uid: options.uid, gid: options.gid, cwd: options.cwd });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${out}`)), 90_000);
    const check = () => {
      if (out.includes(options.readyText ?? 'listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  // The listener's own log line says whether it serves HTTPS (a config file with tls_cert_file).
  const scheme = /listening on https:\/\//.test(out) ? 'https' : 'http';
  return {
    address: `${scheme}://127.0.0.1:${port}`,
    port,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
