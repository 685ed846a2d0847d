/**
 * HCL (version 1, the dialect Vault uses for its configuration and policies) parsed by the
 * `js-hcl-parser` library, which is HashiCorp's own Go parser compiled to JavaScript.
 */
import { parse as parseHclToJson } from 'js-hcl-parser';

export class HclSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HclSyntaxError';
  }
}

/** Parses HCL into plain JSON values. Blocks become arrays of objects, as HCL's JSON form has them. */
export function parseHcl(text: string): Record<string, unknown> {
  let json: string;
  try {
    json = parseHclToJson(text);
  } catch (err) {
    throw new HclSyntaxError(String((err as Error).message ?? err).replace(/^unable to parse JSON: /, ''));
  }
  if (typeof json !== 'string') throw new HclSyntaxError('HCL parser returned no document');
  if (json.startsWith('unable to parse')) throw new HclSyntaxError(json.replace(/^unable to parse JSON: /, ''));
  const value: unknown = JSON.parse(json);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HclSyntaxError('HCL document must be an object');
  return value as Record<string, unknown>;
}

/** Parses a document that is either JSON (first non-blank character `{`) or HCL. */
export function parseHclOrJson(text: string): Record<string, unknown> {
  if (text.trimStart().startsWith('{')) {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HclSyntaxError('JSON document must be an object');
    return value as Record<string, unknown>;
  }
  return parseHcl(text);
}
