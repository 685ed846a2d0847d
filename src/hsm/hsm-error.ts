/**
 * The one error type of the PKCS#11 layer.
 *
 * Invariants:
 * - every failure leaving src/hsm is an HsmError whose `kind` says what the caller can do about it
 *   (fix the configuration, wait for the token and `reopen()`, fix the key, …);
 * - the message is one line that names what failed (library path, token label or slot, key label
 *   and id) and the PKCS#11 return value; it is built only from those names and the CKR_* name,
 *   never from the PIN or key material (pkcs11js errors carry the CKR name and the native stack,
 *   never the call's arguments; anything else is cut to its first line);
 * - `code` is the CKR_* name when the token returned one, for logs and tests.
 */

export type HsmErrorKind =
  /** pkcs11js is not installed or its native part could not be built/loaded. */
  | 'binding-missing'
  /** The PKCS#11 library (the vendor's .so) could not be loaded or initialised. */
  | 'library'
  /** No (initialised) token with that label or slot; the token or its session went away. */
  | 'token-absent'
  /** The user PIN was refused (wrong, wrong length, locked, expired, not initialised). */
  | 'pin-incorrect'
  /** The session is not (or no longer) logged in as CKU_USER. */
  | 'not-logged-in'
  /** No key with that label/id on the token (or its handle is no longer valid). */
  | 'key-missing'
  /** Several keys match the label/id, so which one to use is not determined. */
  | 'key-ambiguous'
  /** The token or the key does not support the mechanism or its parameters. */
  | 'mechanism'
  /** The operation itself failed: e.g. a GCM ciphertext that does not authenticate. */
  | 'operation';

export class HsmError extends Error {
  constructor(
    readonly kind: HsmErrorKind,
    message: string,
    /** The CKR_* name the token returned, when there was one. */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(oneLine(message), options);
    this.name = 'HsmError';
  }
}

/** Only the first line: native errors append their C stack on later lines. */
export function oneLine(text: string): string {
  return text.split(/\r?\n/, 1)[0].trim();
}

/** The CKR_* name of a pkcs11js `Pkcs11Error` (its message is exactly that name), else undefined. */
export function ckrName(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const match = /^(CKR_[A-Z0-9_]+)/.exec(err.message);
  return match ? match[1] : undefined;
}

/** What each return value means for the caller; anything not listed is an 'operation' failure. */
const KINDS: Record<string, HsmErrorKind> = {
  CKR_PIN_INCORRECT: 'pin-incorrect',
  CKR_PIN_INVALID: 'pin-incorrect',
  CKR_PIN_LEN_RANGE: 'pin-incorrect',
  CKR_PIN_LOCKED: 'pin-incorrect',
  CKR_PIN_EXPIRED: 'pin-incorrect',
  CKR_USER_PIN_NOT_INITIALIZED: 'pin-incorrect',
  CKR_TOKEN_NOT_PRESENT: 'token-absent',
  CKR_TOKEN_NOT_RECOGNIZED: 'token-absent',
  CKR_SLOT_ID_INVALID: 'token-absent',
  CKR_DEVICE_REMOVED: 'token-absent',
  CKR_DEVICE_ERROR: 'token-absent',
  CKR_SESSION_HANDLE_INVALID: 'token-absent',
  CKR_SESSION_CLOSED: 'token-absent',
  CKR_USER_NOT_LOGGED_IN: 'not-logged-in',
  CKR_OBJECT_HANDLE_INVALID: 'key-missing',
  CKR_KEY_HANDLE_INVALID: 'key-missing',
  CKR_MECHANISM_INVALID: 'mechanism',
  CKR_MECHANISM_PARAM_INVALID: 'mechanism',
  CKR_KEY_TYPE_INCONSISTENT: 'mechanism',
  CKR_KEY_FUNCTION_NOT_PERMITTED: 'mechanism',
  CKR_KEY_SIZE_RANGE: 'mechanism',
  CKR_FUNCTION_NOT_SUPPORTED: 'mechanism',
  CKR_CRYPTOKI_NOT_INITIALIZED: 'library',
  CKR_LIBRARY_LOAD_FAILED: 'library',
};

/** Short explanations appended to the CKR name, for the values an operator meets most. */
const HINTS: Record<string, string> = {
  CKR_PIN_INCORRECT: 'the PIN is wrong',
  CKR_PIN_LEN_RANGE: 'the PIN has a length the token does not accept',
  CKR_PIN_LOCKED: 'the user PIN is locked',
  CKR_USER_PIN_NOT_INITIALIZED: 'the token has no user PIN yet',
  CKR_TOKEN_NOT_PRESENT: 'the token is not present',
  CKR_DEVICE_REMOVED: 'the token was removed',
  CKR_SESSION_HANDLE_INVALID: 'the session is gone (token removed or library reinitialised)',
  CKR_SESSION_CLOSED: 'the session was closed',
  CKR_CRYPTOKI_NOT_INITIALIZED: 'the library is not initialised',
};

export interface Pkcs11ErrorContext {
  /** Kinds that replace the table's for this call, by CKR name (e.g. CKR_GENERAL_ERROR of a GCM decrypt). */
  kinds?: Record<string, HsmErrorKind>;
  /** Hints that replace the table's for this call, by CKR name. */
  hints?: Record<string, string>;
}

/**
 * An HsmError for `err` thrown by the pkcs11js call described by `what` (e.g. "login to token 'x'
 * (slot 5) of /usr/lib/x.so"); an HsmError passes through unchanged.
 */
export function fromPkcs11Error(err: unknown, what: string, context: Pkcs11ErrorContext = {}): HsmError {
  if (err instanceof HsmError) return err;
  const code = ckrName(err);
  if (code === undefined) {
    const reason = err instanceof Error ? oneLine(err.message) || err.name : 'unknown error';
    return new HsmError('operation', `${what} failed: ${reason}`, undefined, { cause: err });
  }
  const kind = context.kinds?.[code] ?? KINDS[code] ?? 'operation';
  const hint = context.hints?.[code] ?? HINTS[code];
  return new HsmError(kind, `${what} failed: ${code}${hint ? ` (${hint})` : ''}`, code, { cause: err });
}
