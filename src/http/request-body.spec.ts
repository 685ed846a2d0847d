import fc from 'fast-check';
import { ApiError } from '../kernel/errors';
import { checkPatchContentType, parseRequestBody } from './request-body';

const LIMITS = { maxDepth: 100, maxStringLength: 1 << 20, maxObjectEntries: 10_000, maxArrayElements: 10_000 };

function parseError(text: string): string {
  try {
    parseRequestBody(Buffer.from(text), 'application/json', LIMITS);
  } catch (err) {
    return (err as ApiError).errors.join('\n');
  }
  throw new Error('parsed');
}

describe('parseRequestBody: syntax errors name a position, never input', () => {
  it('the password in {"password": Tr0ub4dor&3xyz} is not in the error', () => {
    const message = parseError('{"password": Tr0ub4dor&3xyz}');
    expect(message).toBe('failed to parse JSON input: invalid symbol at offset 13');
  });

  it('any malformed body: the message is fixed words and an offset', () => {
    const malformed = fc.oneof(
      fc.string({ minLength: 1 }).map((s) => `{"k": ${s}}`),
      fc.string({ minLength: 1 }).map((s) => `{${s}: 1}`),
      fc.string({ minLength: 1 }).map((s) => `{"k": "${s}`),
      fc.string({ minLength: 1 }).map((s) => `{"k": "v"} ${s}`),
      fc.string({ minLength: 1 }).map((s) => `{"k": [1, ${s}`),
      fc.string({ minLength: 1 }).map((s) => `{${s}`),
    );
    fc.assert(
      fc.property(malformed, (text) => {
        let message: string;
        try {
          message = parseError(text);
        } catch {
          return true; // the body happened to be valid JSON
        }
        expect(message).toMatch(/^failed to parse JSON input: ([a-z ]+ at offset \d+|invalid JSON|the body must be a JSON object)$/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('checkPatchContentType', () => {
  const status = (ct: string | undefined) => {
    try {
      checkPatchContentType(ct);
      return 0;
    } catch (err) {
      return (err as ApiError).status;
    }
  };

  it('accepts a JSON merge patch, with parameters and in any case', () => {
    expect(status('application/merge-patch+json')).toBe(0);
    expect(status('Application/Merge-Patch+JSON; charset=utf-8')).toBe(0);
  });

  it('refuses other media types with 415 and a missing one with 400, as Vault does', () => {
    expect(status('application/json')).toBe(415);
    expect(status('application/json-patch+json')).toBe(415);
    expect(status(undefined)).toBe(400);
    expect(() => checkPatchContentType('application/json')).toThrow('PATCH requires Content-Type of application/merge-patch+json, provided application/json');
  });
});
