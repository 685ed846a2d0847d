/**
 * Audit device types. `file`: one JSON line per entry in Vault's format, to a file inside the
 * configured audit directory or to stdout. `database`: the hash-chained `audit_logs` table.
 * A device's write resolves only once the entry is durable as far as the device goes (written to
 * the file descriptor, or reported written by the stdout stream's write callback; committed in
 * PostgreSQL), and rejects when that fails.
 */
import { constants } from 'node:fs';
import { open, realpath, mkdir, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Writable } from 'node:stream';
import { ApiError } from '../kernel/errors';
import type { AuditChainWriter } from './chain-writer';
import type { EntryFormat, RenderedTarget } from './entry-render';

export interface AuditDevice {
  /** What the broker renders for it (entry-render.ts). */
  readonly format: EntryFormat;
  /** Writes a job's entries in order; resolves only when every one is written. */
  write(rendered: RenderedTarget): Promise<void>;
  close(): Promise<void>;
}

const badOption = (message: string) => new ApiError(400, [message]);

/** Vault's options, checked strictly: raw logging and unhashed accessors are never allowed. */
const DATABASE_OPTIONS = new Set(['format', 'hmac_accessor', 'log_raw', 'elide_list_responses', 'required']);
const FILE_OPTIONS = new Set([...DATABASE_OPTIONS, 'file_path', 'path', 'mode']);

/** How Vault's boolean options are spelled. */
const BOOLEAN_OPTION = new Map([
  ['true', true],
  ['1', true],
  ['false', false],
  ['0', false],
]);

/** Vault's `elide_list_responses` (default false): list responses are logged with counts instead of keys. */
export function elidesListResponses(options: Record<string, string>): boolean {
  return BOOLEAN_OPTION.get(options.elide_list_responses ?? 'false') ?? false;
}

/**
 * `required` (ours): a request is answered only if every required device wrote its entries. The
 * database device is required unless `required=false`, so a served request cannot be missing from
 * the chain while a file device took its entries; a file device is required only when asked.
 */
export function isRequired(type: string, options: Record<string, string>): boolean {
  return BOOLEAN_OPTION.get(options.required ?? '') ?? type === 'database';
}

function checkCommonOptions(options: Record<string, string>): void {
  if (options.elide_list_responses !== undefined && !BOOLEAN_OPTION.has(options.elide_list_responses))
    throw badOption('elide_list_responses must be a boolean');
  if (options.required !== undefined && !BOOLEAN_OPTION.has(options.required)) throw badOption('required must be a boolean');
  if (options.log_raw !== undefined && BOOLEAN_OPTION.get(options.log_raw) !== false)
    throw badOption('log_raw is not supported: audit entries never hold raw secrets');
  if (options.hmac_accessor !== undefined && BOOLEAN_OPTION.get(options.hmac_accessor) !== true)
    throw badOption('hmac_accessor=false is not supported: accessors are always hashed');
  if (options.format !== undefined && options.format !== 'json') throw badOption('format: only "json" is supported');
}

/**
 * Resolves `file_path` inside `dir`: a relative path is taken under it; an absolute one must lie in
 * it; `..` and symbolic links out of it are refused (the directory is compared after realpath, and
 * the file is opened with O_NOFOLLOW).
 */
export async function resolveAuditFile(dir: string, filePath: string): Promise<string> {
  if (filePath === '' || filePath.includes('\0')) throw badOption('file_path is required');
  const target = resolve(dir, filePath);
  const rel = relative(dir, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw badOption(`file_path must name a file inside the audit directory ${dir}`);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const [realDir, realParent] = [await realpath(dir), await realpath(dirname(target))];
  if (realParent !== realDir && !realParent.startsWith(realDir + sep)) throw badOption(`file_path must name a file inside the audit directory ${dir}`);
  return target;
}

function fileMode(options: Record<string, string>): number {
  if (options.mode === undefined || options.mode === '') return 0o600;
  if (!/^0?[0-7]{3}$/.test(options.mode)) throw badOption('mode must be an octal file mode such as 0600');
  const mode = parseInt(options.mode, 8);
  // CVE-2025-6000: an audit file must never be executable.
  if (mode & 0o111) throw badOption('mode must not make the audit file executable');
  return mode;
}

/** What a file device writes to: its file, or the stream `file_path=stdout` names (process.stdout in production). */
type FileTarget = { file: FileHandle } | { stream: Writable };

/** The stream's write callback reports the error to the writer; without a listener its 'error' event would be an uncaught exception that ends the process. */
const ignoreStreamError = () => undefined;

export class FileAuditDevice implements AuditDevice {
  readonly format = 'json-line';

  private constructor(private readonly target: FileTarget) {
    if ('stream' in target) target.stream.on('error', ignoreStreamError);
  }

  static async open(dir: string, options: Record<string, string>, stdout: Writable): Promise<FileAuditDevice> {
    for (const k of Object.keys(options)) if (!FILE_OPTIONS.has(k)) throw badOption(`unknown option "${k}" for a file audit device`);
    checkCommonOptions(options);
    const filePath = options.file_path ?? options.path ?? '';
    const mode = fileMode(options);
    if (filePath === 'stdout') return new FileAuditDevice({ stream: stdout });
    const target = await resolveAuditFile(dir, filePath);
    try {
      return new FileAuditDevice({ file: await open(target, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, mode) });
    } catch (err) {
      throw badOption(`sanity check failed; unable to open "${filePath}" for writing: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }

  async write(rendered: RenderedTarget): Promise<void> {
    if (rendered.format !== 'json-line') throw new Error('a file audit device writes JSON lines');
    for (const line of rendered.lines) await this.writeLine(line);
  }

  private async writeLine(line: string): Promise<void> {
    if ('file' in this.target) {
      await this.target.file.write(line);
      return;
    }
    const { stream } = this.target;
    // The callback runs once the stream has written the line to its descriptor, however long it
    // was queued, or with the error that stopped it (EPIPE, a destroyed stream).
    await new Promise<void>((resolve, reject) => stream.write(line, (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    if ('file' in this.target) await this.target.file.close().catch(() => undefined);
    else this.target.stream.off('error', ignoreStreamError);
  }
}

export class DatabaseAuditDevice implements AuditDevice {
  readonly format = 'chain';

  constructor(private readonly chain: AuditChainWriter) {}

  static checkOptions(options: Record<string, string>): void {
    for (const k of Object.keys(options)) if (!DATABASE_OPTIONS.has(k)) throw badOption(`unknown option "${k}" for a database audit device`);
    checkCommonOptions(options);
  }

  /** One group commit for all of a job's entries (a pure read's request and response). */
  async write(rendered: RenderedTarget): Promise<void> {
    if (rendered.format !== 'chain') throw new Error('the database audit device writes chain entries');
    await this.chain.appendAll(rendered.entries);
  }

  async close(): Promise<void> {}
}

/** A configured device that could not be opened at unseal: every write fails, so audit stays fail-closed until it is fixed or disabled. */
export class UnavailableAuditDevice implements AuditDevice {
  readonly format = 'json-line';

  constructor(private readonly reason: string) {}

  async write(): Promise<void> {
    throw new Error(`device unavailable: ${this.reason}`);
  }

  async close(): Promise<void> {}
}
