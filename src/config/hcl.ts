/**
 * HCL (version 1, the dialect Vault uses for its configuration and policies) parsed by the
 * `js-hcl-parser` library, which is HashiCorp's own Go parser compiled to JavaScript.
 * Documents from requests go through `bounded-document.ts` instead (limits, then a worker thread).
 */
import type { parse as ParseHclToJson } from 'js-hcl-parser';

/**
 * Loaded on first use: the parser (GopherJS output) holds ~5 MB of live heap, and a server whose
 * configuration is JSON (or absent) parses request documents on its HCL thread only.
 */
let parseHclToJson: typeof ParseHclToJson | undefined;
function hclParser(): typeof ParseHclToJson {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  parseHclToJson ??= (require('js-hcl-parser') as { parse: typeof ParseHclToJson }).parse;
  return parseHclToJson;
}

export class HclSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HclSyntaxError';
  }
}

/** The parser's output (its JSON, or its error text) as a document. Blocks become arrays of objects, as HCL's JSON form has them. */
export function hclOutputToDocument(json: unknown): Record<string, unknown> {
  if (typeof json !== 'string') throw new HclSyntaxError('HCL parser returned no document');
  if (json.startsWith('unable to parse')) throw new HclSyntaxError(json.replace(/^unable to parse JSON: /, ''));
  const value: unknown = JSON.parse(json);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HclSyntaxError('HCL document must be an object');
  return value as Record<string, unknown>;
}

/** Parses HCL into plain JSON values, on the calling thread. */
export function parseHcl(text: string): Record<string, unknown> {
  let json: string;
  try {
    json = hclParser()(text);
  } catch (err) {
    throw new HclSyntaxError(String((err as Error).message ?? err).replace(/^unable to parse JSON: /, ''));
  }
  return hclOutputToDocument(json);
}

/**
 * Leading white space by the union of JavaScript's and Go's (`unicode.IsSpace`) definitions: HCL's
 * own parser reads a document as JSON when its first non-space character is `{`, and so does this
 * module, so no document reaches HCL's JSON reader.
 */
const LEADING_SPACE = /^[\s\u0085]*/;

/** A document is JSON when its first non-blank character is `{` (as in HCL's parser). */
export function isJsonDocument(text: string): boolean {
  return text.charCodeAt(LEADING_SPACE.exec(text)![0].length) === 0x7b;
}

/** JSON.parse, with errors that say where but never quote the input. */
export function parseJsonDocument(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8 quotes the input around an unexpected token; its other messages name only a position.
    const message = String((err as Error).message);
    throw new HclSyntaxError(message.includes('"') ? 'invalid JSON: unexpected token' : message);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HclSyntaxError('JSON document must be an object');
  return value as Record<string, unknown>;
}

/** Parses a document that is either JSON (first non-blank character `{`) or HCL, on the calling thread. */
export function parseHclOrJson(text: string): Record<string, unknown> {
  return isJsonDocument(text) ? parseJsonDocument(text) : parseHcl(text);
}
