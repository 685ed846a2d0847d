/**
 * Typed request errors. A thrown ApiError becomes `{"errors": [...]}` with its status; anything else
 * becomes a generic 500 `internal error` with the detail only in the server log.
 * Messages are Vault's literal strings where clients match on them.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
  ) {
    super(errors.join('; ') || `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, [message]);
export const permissionDenied = (): ApiError => new ApiError(403, ['permission denied']);
export const invalidToken = (): ApiError => new ApiError(403, ['permission denied', 'invalid token']);
export const notFound = (): ApiError => new ApiError(404, []);
export const sealedError = (): ApiError => new ApiError(503, ['Vault is sealed']);
/** 405: with no words where Vault's HTTP layer refuses the method; `unsupported operation` where a backend refuses the operation after the ACL. */
export const unsupportedOperation = (message?: string): ApiError => new ApiError(405, message ? [message] : []);
