import { ApiError } from '../kernel/errors';
import { checkPatchContentType } from './request-body';

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
