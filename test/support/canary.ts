/**
 * Canary checks (security.md "Audit"): secrets sent through endpoints must reach no audit entry
 * (any column of any audit table, the chained entry bytes, a file device's lines), no server log
 * line and no error response. `watchCanary` records every answer, keeps the secrets a test names
 * (the canary, and secrets the server generated: tokens, private keys, passwords) and checks them
 * all at once with `check()`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Call } from './audit';
import type { TestKernel } from './kernel';

/** A random string that cannot occur by chance (nor in an HMAC, which is hex). */
export function newCanary(label = 'canary'): string {
  return `${label}-${randomBytes(12).toString('hex')}`;
}

export interface Answer {
  method: string;
  url: string;
  status: number;
  body: string;
}

/** `call`, recording every answer; `errors()` gives those with a status of 400 or more. */
export function recording(call: Call): { call: Call; answers: Answer[]; errors: () => Answer[] } {
  const answers: Answer[] = [];
  const recorded: Call = async (method, url, body, token, options) => {
    const res = await call(method, url, body, token, options);
    answers.push({ method, url, status: res.status, body: res.body ?? '' });
    return res;
  };
  return { call: recorded, answers, errors: () => answers.filter((a) => a.status >= 400) };
}

/**
 * The forms of a PEM private key worth looking for: the base64 body and each of its lines (a JSON
 * string holds the PEM with escaped newlines), and the DER as hex.
 */
export function pemForms(pem: string): string[] {
  const lines = pem.split(/\r?\n/).filter((l) => l !== '' && !l.startsWith('-----'));
  const body = lines.join('');
  return [body, Buffer.from(body, 'base64').toString('hex'), ...lines.filter((l) => l.length >= 32)];
}

/** Every audit table but the partitions (their rows are in the parent's), as JSON text per row. */
async function auditTablesText(k: TestKernel): Promise<string> {
  const tables: { name: string }[] = await k.dataSource.query(
    "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname LIKE 'audit\\_%'",
  );
  expect(tables.map((t) => t.name)).toContain('audit_logs');
  const parts: string[] = [];
  for (const { name } of tables) {
    const rows: { row: string }[] = await k.dataSource.query(`SELECT row_to_json(t)::text AS row FROM "${name}" t`);
    parts.push(...rows.map((r) => r.row));
  }
  // entry_bytes is bytea (hex in row_to_json): the canonical entry as text too.
  const entries: { text: string }[] = await k.dataSource.query("SELECT convert_from(entry_bytes, 'UTF8') AS text FROM audit_logs");
  parts.push(...entries.map((e) => e.text));
  return parts.join('\n');
}

/** The texts an attacker with the database, the audit files or the server log reads. */
export async function leakSurfaces(k: TestKernel, logLines: string[], fileDevices: string[] = []): Promise<Record<string, string>> {
  const surfaces: Record<string, string> = { 'audit tables': await auditTablesText(k), 'server log': logLines.join('\n') };
  for (const f of fileDevices) surfaces[`file device ${f}`] = readFileSync(join(k.auditConfig.fileDir, f), 'utf8');
  return surfaces;
}

/**
 * No secret (by name → value or forms) in any surface or error answer. A failure lists where,
 * with a little context, e.g. `server log: canary ...value=[canary-…]...`.
 */
export function expectNoLeak(secrets: Record<string, string | string[]>, surfaces: Record<string, string>, errors: Answer[]): void {
  const leaks: string[] = [];
  const where: [string, string][] = [...Object.entries(surfaces), ...errors.map((e): [string, string] => [`error ${e.status} ${e.method} ${e.url}`, e.body])];
  for (const [name, value] of Object.entries(secrets)) {
    for (const form of Array.isArray(value) ? value : [value]) {
      if (form.length < 8) throw new Error(`secret ${name} is too short to look for`);
      for (const [surface, text] of where) {
        const at = text.indexOf(form);
        if (at >= 0)
          leaks.push(`${surface}: ${name} ...${text.slice(Math.max(0, at - 60), at)}[${name}]${text.slice(at + form.length, at + form.length + 60)}...`);
      }
    }
  }
  expect(leaks).toEqual([]);
}

/** A login's (or token create's) answer: its token and accessor are secrets from now on. */
type AuthAnswer = { status: number; json: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface CanaryWatch {
  /** The pipeline's `call`, recorded. */
  call: Call;
  answers: Answer[];
  /** Name → value (or forms, see `pemForms`) of every secret seen so far. */
  secrets: Record<string, string | string[]>;
  /** Expects a 200 with `auth`, keeps its token and accessor as secrets, gives the token. */
  keepAuth(name: string, res: AuthAnswer): string;
  /** Expects the HMAC of `value` (a secret the server sent or received) in the file device: audited, hashed. */
  expectHashed(value: string): Promise<void>;
  /**
   * Nothing leaked so far (audit tables, the file device, the log, every error answer), and the
   * audit log did see the canary: its HMAC is in the file device.
   */
  check(): Promise<void>;
}

/** Mounts a file audit device (`siem`, file siem.log) and watches `canary` from then on. */
export async function watchCanary(k: TestKernel, call: Call, canary: string, logLines: string[]): Promise<CanaryWatch> {
  const recorder = recording(call);
  const secrets: Record<string, string | string[]> = { canary };
  const expectHashed = async (value: string) => {
    const hash = (await call('PUT', 'sys/audit-hash/siem', { input: value })).json.hash as string;
    expect(hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(readFileSync(join(k.auditConfig.fileDir, 'siem.log'), 'utf8')).toContain(hash);
  };
  expect((await recorder.call('PUT', 'sys/audit/siem', { type: 'file', options: { file_path: 'siem.log' } })).status).toBe(204);
  return {
    call: recorder.call,
    answers: recorder.answers,
    secrets,
    keepAuth(name, res) {
      expect(res.status).toBe(200);
      const auth = res.json.auth as { client_token: string; accessor: string };
      secrets[`${name} token`] = auth.client_token;
      secrets[`${name} accessor`] = auth.accessor;
      return auth.client_token;
    },
    expectHashed,
    async check() {
      await expectHashed(canary);
      const surfaces = await leakSurfaces(k, logLines, ['siem.log']);
      expect(logLines.length).toBeGreaterThan(0);
      expectNoLeak(secrets, surfaces, recorder.errors());
    },
  };
}
