import type { KmsLibrary } from './kms-library';
import { keyKindOf, managedKeyName, mergeManagedKey } from './managed-key-input';

const LIBS: KmsLibrary[] = [{ type: 'pkcs11', name: 'SoftHSM', library: '/usr/lib/softhsm/libsofthsm2.so' }];
const BASE = { library: 'softhsm', slot: '0x10', pin: '1234', key_label: 'k', mechanism: '0x0001' };

describe('managed key input', () => {
  it('normalises Vault’s fields: library by its configured name, slot decimal, key_id hex, mechanism number, default usages', () => {
    const r = mergeManagedKey('k1', { ...BASE, key_id: '0x0A1B' }, undefined, LIBS);
    expect(r).toMatchObject({ name: 'k1', library: 'SoftHSM', slot: '16', keyLabel: 'k', keyId: '0a1b', mechanism: 1, usages: ['sign', 'verify'] });
    expect(r.tokenLabel).toBeUndefined();
  });

  it('an update keeps what it does not give; token_label replaces slot; "" clears an optional field', () => {
    const first = mergeManagedKey('k1', { ...BASE, key_id: '01' }, undefined, LIBS);
    const next = mergeManagedKey('k1', { token_label: 'vault', key_id: '', usages: ['Encrypt', 'decrypt'] }, first, LIBS);
    expect(next).toMatchObject({ id: first.id, tokenLabel: 'vault', keyLabel: 'k', mechanism: 1, usages: ['encrypt', 'decrypt'] });
    expect(next.slot).toBeUndefined();
    expect(next.keyId).toBeUndefined();
  });

  it('refuses what it cannot store or use', () => {
    expect(() => mergeManagedKey('k', { ...BASE, mechanism: 'CKM_FOO' }, undefined, LIBS)).toThrow(/mechanism/);
    expect(() => mergeManagedKey('k', { ...BASE, usages: ['sign', 'print'] }, undefined, LIBS)).toThrow(/"print" is not one of/);
    expect(() => mergeManagedKey('k', { ...BASE, slot: '18446744073709551616' }, undefined, LIBS)).toThrow(/64 bits/);
    expect(() => mergeManagedKey('k', { ...BASE, allow_generate_key: true }, undefined, LIBS)).toThrow(/key_bits is required/);
    expect(() => mergeManagedKey('k', { ...BASE, mechanism: '0x1087', key_bits: 128 }, undefined, LIBS)).toThrow(/AES keys are 256 bits/);
    expect(() => managedKeyName('a/b')).toThrow(/invalid managed key name/);
    expect(managedKeyName(' HSM-Key1 ')).toBe('hsm-key1');
  });

  it('maps mechanisms to the key they need', () => {
    expect([0x0001, 0x0009, 0x000d, 0x1041, 0x1087, 0x2109, 0x0250].map(keyKindOf)).toEqual(['rsa', 'rsa', 'rsa', 'ec', 'aes', 'aes', 'other']);
  });
});
