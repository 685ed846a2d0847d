/**
 * HCL or JSON documents that arrive in requests (ACL and password policies): bounded in size and
 * nesting by a linear scan of the text before any parser sees it, then parsed without holding
 * the event loop (JSON by JSON.parse, which is fast; HCL on the parser thread, which is not).
 *
 * Invariants
 * - No parser is given a document over the limits; the limit messages never quote the input.
 * - Nesting is counted by the rules of the parser that will read the document: JSON's for JSON
 *   (`src/http/json-limits.ts`), HCL v1's for HCL (`hcl-scan.ts`, which also counts block keys).
 */
import { jsonLimitError } from '../http/json-limits';
import { HclSyntaxError, hclOutputToDocument, isJsonDocument, parseHcl, parseJsonDocument } from './hcl';
import { hclNestingExceeds, HclScanRefusal } from './hcl-scan';
import { HclThread } from './hcl-thread';

export interface DocumentLimits {
  /** UTF-8 bytes. */
  maxBytes: number;
  /** Levels of `{` and `[` (and, in HCL, block keys). */
  maxDepth: number;
}

/** A document refused by its limits, before parsing; a subclass of the syntax error so callers answer 400 alike. */
export class DocumentLimitError extends HclSyntaxError {
  constructor(message: string) {
    super(message);
    this.name = 'DocumentLimitError';
  }
}

/**
 * Generous for the worst HCL within the limits: 128 KiB of 16-deep blocks took 5 s on the thread
 * (a shared two-core machine under load), in well under 256 MB.
 */
const THREAD_TIMEOUT_MS = 30_000;
const THREAD_MAX_HEAP_MB = 256;

let thread: HclThread | undefined;
const parserThread = () => (thread ??= new HclThread({ timeoutMs: THREAD_TIMEOUT_MS, maxHeapMb: THREAD_MAX_HEAP_MB }));

/** The reason `text` is over `limits`, or null. Linear in the length of the text. */
export function documentLimitError(text: string, limits: DocumentLimits): string | null {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) return `document is larger than the limit of ${limits.maxBytes} bytes`;
  const depthExceeded = `document nesting is deeper than the limit of ${limits.maxDepth} levels`;
  if (isJsonDocument(text)) {
    const unbounded = { maxDepth: limits.maxDepth, maxStringLength: Infinity, maxObjectEntries: Infinity, maxArrayElements: Infinity };
    return jsonLimitError(Buffer.from(text, 'utf8'), unbounded) === null ? null : depthExceeded;
  }
  try {
    return hclNestingExceeds(text, limits.maxDepth) ? depthExceeded : null;
  } catch (err) {
    if (err instanceof HclScanRefusal) return err.message;
    throw err;
  }
}

function checkLimits(text: string, limits: DocumentLimits): void {
  const problem = documentLimitError(text, limits);
  if (problem) throw new DocumentLimitError(problem);
}

/** Checks the limits, then parses on the calling thread (trusted or known-small text: defaults, tests, the CLI). */
export function parseBoundedDocumentSync(text: string, limits: DocumentLimits): Record<string, unknown> {
  checkLimits(text, limits);
  return isJsonDocument(text) ? parseJsonDocument(text) : parseHcl(text);
}

/** Checks the limits, then parses; HCL on the parser thread. Throws HclSyntaxError (DocumentLimitError for the limits). */
export async function parseBoundedDocument(text: string, limits: DocumentLimits): Promise<Record<string, unknown>> {
  checkLimits(text, limits);
  if (isJsonDocument(text)) return parseJsonDocument(text);
  return hclOutputToDocument(await parserThread().parse(text));
}
