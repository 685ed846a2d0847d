import type * as Binding from './pkcs11-binding';
import { HsmError } from './hsm-error';

describe('pkcs11js binding', () => {
  afterEach(() => jest.resetModules());

  it('is loaded on first use; where it cannot be, every use fails with binding-missing, nothing at import', () => {
    jest.doMock('pkcs11js', () => {
      throw new Error("Cannot find module 'pkcs11js'\nRequire stack: …");
    });
    let binding!: typeof Binding;
    jest.isolateModules(() => {
      binding = jest.requireActual<typeof Binding>('./pkcs11-binding');
    });
    const expected = "the PKCS#11 binding (pkcs11js) is not installed or could not be built: Cannot find module 'pkcs11js'";
    expect(binding.pkcs11BindingUnavailable()).toBe(expected);
    for (let i = 0; i < 2; i++) {
      let err: unknown;
      try {
        binding.pkcs11Binding();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      expect((err as HsmError).name).toBe('HsmError');
      expect((err as HsmError).kind).toBe('binding-missing');
      expect((err as HsmError).message).toBe(expected);
    }
  });

  it('refuses a pkcs11js that lacks a constant this layer uses', () => {
    jest.doMock('pkcs11js', () => ({ PKCS11: class {}, CKA_CLASS: 0 }));
    let binding!: typeof Binding;
    jest.isolateModules(() => {
      binding = jest.requireActual<typeof Binding>('./pkcs11-binding');
    });
    expect(binding.pkcs11BindingUnavailable()).toMatch(
      /^the PKCS#11 binding \(pkcs11js\) is not installed or could not be built: it lacks the constants CKF_OS_LOCKING_OK, /,
    );
  });
});
