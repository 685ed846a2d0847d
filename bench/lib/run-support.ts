/** What every bench runner (run.ts, seal-start.ts, pki-issue-hsm.ts) does the same way. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** A duration setting in seconds from the environment (unset or empty: `fallback`). */
export function envSeconds(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number of seconds`);
  return n;
}

/** Writes a run's results as JSON and says where. */
export function writeResults(path: string, results: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(`results written to ${path}\n`);
}

/** Runs the cleanups last-registered first; a failing one is logged and the rest still run. */
export async function runCleanups(cleanups: (() => Promise<void> | void)[], log: (m: string) => void): Promise<void> {
  while (cleanups.length) await Promise.resolve((cleanups.pop() as () => Promise<void> | void)()).catch((e: Error) => log(`cleanup: ${e.message}`));
}
