import { buildConfig } from './config';
import { parseHcl } from './hcl';
import { kmsLibrariesFrom } from './kms-library-config';
import { sanitizedConfig } from './sanitized';

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('kms_library stanzas', () => {
  it('none by default; several with Vault’s names', () => {
    expect(kmsLibrariesFrom({})).toEqual([]);
    const doc = parseHcl(
      'kms_library "pkcs11" {\n name = "hsm1"\n library = "/usr/lib/softhsm/libsofthsm2.so"\n}\nkms_library "pkcs11" {\n name = "hsm2"\n library = "/opt/vendor/libpkcs11.so"\n}',
    );
    expect(kmsLibrariesFrom(doc)).toEqual([
      { type: 'pkcs11', name: 'hsm1', library: '/usr/lib/softhsm/libsofthsm2.so' },
      { type: 'pkcs11', name: 'hsm2', library: '/opt/vendor/libpkcs11.so' },
    ]);
  });

  it('refuses a duplicate name (case-insensitive), a missing setting, an unknown setting or type', () => {
    const two = parseHcl('kms_library "pkcs11" {\n name = "HSM"\n library = "/a.so"\n}\nkms_library "pkcs11" {\n name = "hsm"\n library = "/b.so"\n}');
    expect(configError(() => kmsLibrariesFrom(two))).toMatch(/"hsm" is given twice/);
    expect(configError(() => kmsLibrariesFrom(parseHcl('kms_library "pkcs11" {\n library = "/a.so"\n}')))).toBe('kms_library "pkcs11": name is required');
    expect(configError(() => kmsLibrariesFrom(parseHcl('kms_library "pkcs11" {\n name = "h"\n}')))).toBe('kms_library "pkcs11" "h": library is required');
    expect(configError(() => kmsLibrariesFrom(parseHcl('kms_library "pkcs11" {\n name = "h"\n library = "/a.so"\n pin = "1234"\n}')))).toBe(
      'kms_library "pkcs11".pin: unknown setting',
    );
    expect(configError(() => kmsLibrariesFrom(parseHcl('kms_library "awskms" {\n name = "h"\n}')))).toBe('kms_library "awskms": only "pkcs11" is supported');
  });

  it('reaches the server configuration and its sanitized view (name and path: nothing secret)', () => {
    const config = buildConfig(parseHcl('kms_library "pkcs11" {\n name = "hsm1"\n library = "/a.so"\n}'), {}, { dataDir: '/tmp/sh' });
    expect(config.kmsLibraries).toEqual([{ type: 'pkcs11', name: 'hsm1', library: '/a.so' }]);
    expect(sanitizedConfig(config).kms_library).toEqual([{ type: 'pkcs11', name: 'hsm1', library: '/a.so' }]);
  });
});
