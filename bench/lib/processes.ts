/**
 * Child processes of the bench (the SecretHub server and the floor) and their memory: each is
 * started with `node <script>`, is ready when it prints its ready text, and is stopped with
 * SIGTERM (SIGKILL after a grace period). RSS and CPU are read from /proc, summed over the process
 * and its descendants (a node of workers, a floor of N processes: what the server costs is the tree's).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const OUTPUT_KEEP = 64 * 1024;
const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 20_000;

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

export interface Child {
  name: string;
  pid: number;
  /** Milliseconds from spawn to the ready text. */
  startMs: number;
  /** The last 64 KiB of its stdout and stderr. */
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

export interface ChildSpec {
  name: string;
  script: string;
  /** Node options before the script (e.g. --cpu-prof). */
  nodeArgs?: string[];
  args: string[];
  env: Record<string, string>;
  readyText: string;
}

export async function startChild(spec: ChildSpec): Promise<Child> {
  const started = Date.now();
  const child: ChildProcess = spawn(process.execPath, [...(spec.nodeArgs ?? []), spec.script, ...spec.args], {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => ((exitCode = code ?? (signal ? -1 : null)), resolve())));
  // Always drained, so a chatty child never blocks on a full pipe.
  const collect = (d: Buffer) => {
    out += d.toString();
    if (out.length > OUTPUT_KEEP) out = out.slice(-OUTPUT_KEEP);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const stop = async () => {
    if (exitCode !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${spec.name} did not start in ${START_TIMEOUT_MS / 1000} s; output:\n${out}`)), START_TIMEOUT_MS);
      const check = () => {
        if (!out.includes(spec.readyText)) return;
        clearTimeout(timer);
        resolve();
      };
      child.stdout?.on('data', check);
      child.stderr?.on('data', check);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${spec.name} exited with ${exitCode} before it was ready; output:\n${out}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: spec.name, pid: child.pid as number, startMs: Date.now() - started, output: () => out, exited: () => exitCode !== undefined, stop };
}

/** VmRSS of a process in bytes, or undefined when it cannot be read (gone, or not Linux). */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used, or undefined when it cannot be read. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the command name (which may contain spaces); utime and stime are fields 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on Linux
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The pids of a process and all its descendants (from /proc/<pid>/task/<tid>/children); just `pid` when they cannot be read. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    out.push(p);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const tid of tasks) {
      let children: string;
      try {
        children = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.split(' ').filter(Boolean)) visit(Number(c));
    }
  };
  visit(pid);
  return out;
}

/** `read` summed over the process tree of `pid`; undefined when the root cannot be read. A child gone between the listing and the read counts 0. */
function treeSum(pid: number, read: (p: number) => number | undefined): number | undefined {
  const [root, ...rest] = processTree(pid).map(read);
  if (root === undefined) return undefined;
  return rest.reduce<number>((a, b) => a + (b ?? 0), root);
}

/** RSS in bytes of a process and its descendants (a node's memory is its parent's and workers' together). */
export const treeRssBytes = (pid: number) => treeSum(pid, rssBytes);

/** CPU seconds of a process and its live descendants. */
export const treeCpuSeconds = (pid: number) => treeSum(pid, cpuSeconds);

/** Busy CPU seconds of the whole machine so far (all cores: /proc/stat's first line less idle and iowait), or undefined off Linux. */
export function machineCpuSeconds(): number | undefined {
  try {
    const [, ...ticks] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const [user, nice, system, , , irq, softirq, steal] = ticks.slice(0, 8).map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
    return Number.isFinite(busy) ? busy / 100 : undefined;
  } catch {
    return undefined;
  }
}

export interface RssSummary {
  peakMb: number | null;
  meanMb: number | null;
  samples: number;
}

/** Samples the RSS of a process and its descendants every `intervalMs` until `stop()`. */
export function sampleRss(pid: number, intervalMs = 200): { stop(): RssSummary } {
  const values: number[] = [];
  const take = () => {
    const v = treeRssBytes(pid);
    if (v !== undefined) values.push(v);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const mb = (b: number) => Math.round((b / (1024 * 1024)) * 10) / 10;
      if (values.length === 0) return { peakMb: null, meanMb: null, samples: 0 };
      return { peakMb: mb(Math.max(...values)), meanMb: mb(values.reduce((a, b) => a + b, 0) / values.length), samples: values.length };
    },
  };
}
