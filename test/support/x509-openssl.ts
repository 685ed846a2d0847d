/**
 * Runs /usr/bin/openssl on files in a temporary directory, for the x509 specs: the certificates
 * and requests built in src/crypto/x509 must be what OpenSSL itself accepts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const OPENSSL = '/usr/bin/openssl';

export interface OpensslRun {
  status: number;
  output: string;
}

export class OpensslWorkspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'secrethub-x509-'));

  /** Writes `contents` under `name` and returns its path. */
  file(name: string, contents: string | Buffer): string {
    const path = join(this.dir, name);
    writeFileSync(path, contents);
    return path;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** stdout+stderr and exit status; never throws on a non-zero exit. */
  run(args: string[]): OpensslRun {
    try {
      const output = execFileSync(OPENSSL, args, { cwd: this.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return { status: 0, output };
    } catch (error) {
      const failed = error as { status?: number; stdout?: string; stderr?: string };
      return { status: failed.status ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
    }
  }

  /** stdout of a run that must succeed. */
  ok(args: string[]): string {
    const result = this.run(args);
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed (${result.status}): ${result.output}`);
    return result.output;
  }

  /** stdout bytes of a run that must succeed (DER output). */
  okBytes(args: string[]): Buffer {
    return execFileSync(OPENSSL, args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * For the pki engine's tests: a temporary directory, `file` to write into it, and `openssl` run with
 * its exit status and stdout and stderr together, on success too (it reports verification on stderr).
 */
export function opensslFiles(prefix: string): {
  dir: string;
  file: (name: string, content: string | Buffer) => string;
  openssl: (...args: string[]) => { ok: boolean; out: string };
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = (name: string, content: string | Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const openssl = (...args: string[]): { ok: boolean; out: string } => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
  };
  return { dir, file, openssl };
}
