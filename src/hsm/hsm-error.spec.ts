import { ckrName, fromPkcs11Error, HsmError } from './hsm-error';

/** What pkcs11js throws: a Pkcs11Error whose message is the CKR name, with the native stack after it. */
function pkcs11Error(name: string, code: number): Error {
  const err = new Error(name);
  Object.assign(err, { name: 'Pkcs11Error', code, nativeStack: `${name}:${code}\n    at C_Login` });
  return err;
}

describe('HsmError from pkcs11js errors', () => {
  it.each([
    ['CKR_PIN_INCORRECT', 0xa0, 'pin-incorrect'],
    ['CKR_PIN_LEN_RANGE', 0xa2, 'pin-incorrect'],
    ['CKR_PIN_LOCKED', 0xa4, 'pin-incorrect'],
    ['CKR_TOKEN_NOT_PRESENT', 0xe0, 'token-absent'],
    ['CKR_SLOT_ID_INVALID', 0x3, 'token-absent'],
    ['CKR_DEVICE_REMOVED', 0x32, 'token-absent'],
    ['CKR_SESSION_HANDLE_INVALID', 0xb3, 'token-absent'],
    ['CKR_SESSION_CLOSED', 0xb0, 'token-absent'],
    ['CKR_USER_NOT_LOGGED_IN', 0x101, 'not-logged-in'],
    ['CKR_OBJECT_HANDLE_INVALID', 0x82, 'key-missing'],
    ['CKR_MECHANISM_INVALID', 0x70, 'mechanism'],
    ['CKR_CRYPTOKI_NOT_INITIALIZED', 0x190, 'library'],
    ['CKR_GENERAL_ERROR', 0x5, 'operation'],
  ])('%s is %s', (name, code, kind) => {
    const err = fromPkcs11Error(pkcs11Error(name, code), "login to token 'x' (slot 1) of /lib.so");
    expect(err).toBeInstanceOf(HsmError);
    expect(err.kind).toBe(kind);
    expect(err.code).toBe(name);
    expect(err.message).toMatch(new RegExp(`^login to token 'x' \\(slot 1\\) of /lib\\.so failed: ${name}`));
  });

  it('takes the call’s own kinds and hints first (a GCM decryption’s CKR_GENERAL_ERROR)', () => {
    const err = fromPkcs11Error(pkcs11Error('CKR_GENERAL_ERROR', 5), 'AES-GCM decryption', {
      kinds: { CKR_GENERAL_ERROR: 'operation' },
      hints: { CKR_GENERAL_ERROR: 'the ciphertext did not authenticate' },
    });
    expect(err.message).toBe('AES-GCM decryption failed: CKR_GENERAL_ERROR (the ciphertext did not authenticate)');
  });

  it('passes an HsmError through and keeps other errors to one line', () => {
    const own = new HsmError('key-missing', 'gone');
    expect(fromPkcs11Error(own, 'x')).toBe(own);
    const other = fromPkcs11Error(new TypeError('Argument 1 has wrong type\n    at native'), 'finding a key');
    expect(other).toMatchObject({ kind: 'operation', message: 'finding a key failed: Argument 1 has wrong type', code: undefined });
    expect(new HsmError('library', 'first\nsecond').message).toBe('first');
  });

  it('reads the CKR name only from the start of the message', () => {
    expect(ckrName(pkcs11Error('CKR_PIN_INCORRECT', 160))).toBe('CKR_PIN_INCORRECT');
    expect(ckrName(new Error('not CKR_PIN_INCORRECT'))).toBeUndefined();
    expect(ckrName('CKR_PIN_INCORRECT')).toBeUndefined();
  });
});
