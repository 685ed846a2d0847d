/**
 * Request bodies, as lenient as Vault's: JSON (also when sent form-encoded, as `curl -d` does),
 * real form bodies, and empty bodies. Limits are checked on the bytes before parsing; keys that
 * could pollute prototypes (`__proto__`, `constructor.prototype`) are refused. No error message
 * holds a byte of the body.
 */
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import secureJsonParse from 'secure-json-parse';
import type { JsonLimits } from '../config/config';
import { ApiError, badRequest } from '../kernel/errors';
import { jsonLimitError } from './json-limits';

export type Body = Record<string, unknown>;

function looksLikeJson(bytes: Buffer): boolean {
  for (const c of bytes) {
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === 0x7b;
  }
  return false;
}

function parseForm(text: string): Body {
  const out: Body = Object.create(null);
  for (const [k, v] of new URLSearchParams(text)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') throw badRequest(`invalid form field "${k}"`);
    out[k] = v;
  }
  return { ...out };
}

/**
 * What is wrong with a body JSON.parse refused, and where (a character offset), in words of our
 * own: the parser's message quotes the input around the error, and the input may be a secret
 * (`{"password": hunter2}`) that would then be answered and audited in clear.
 */
export function jsonSyntaxError(text: string): string {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length === 0) return 'failed to parse JSON input: invalid JSON';
  const what = printParseErrorCode(errors[0].error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  return `failed to parse JSON input: ${what} at offset ${errors[0].offset}`;
}

export function parseRequestBody(bytes: Buffer | undefined, contentType: string | undefined, limits: JsonLimits): Body {
  if (!bytes || bytes.length === 0) return {};
  const isForm = (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
  if (isForm && !looksLikeJson(bytes)) return parseForm(bytes.toString('utf8'));
  if (bytes.every((c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d)) return {};
  const problem = jsonLimitError(bytes, limits);
  if (problem) throw badRequest(problem);
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = secureJsonParse.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    if (err instanceof SyntaxError) throw badRequest(jsonSyntaxError(text));
    throw new ApiError(400, ['failed to parse JSON input: forbidden key (__proto__ or constructor.prototype)']);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badRequest('failed to parse JSON input: the body must be a JSON object');
  return value as Body;
}

export const MERGE_PATCH_CONTENT_TYPE = 'application/merge-patch+json';

/** Vault: a PATCH body must be a JSON merge patch (RFC 7396); anything else is a 415 before routing. */
export function checkPatchContentType(contentType: string | undefined): void {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (mediaType === '') throw badRequest('mime: no media type');
  if (mediaType !== MERGE_PATCH_CONTENT_TYPE) throw new ApiError(415, [`PATCH requires Content-Type of ${MERGE_PATCH_CONTENT_TYPE}, provided ${mediaType}`]);
}
