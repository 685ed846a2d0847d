import { randomBytes } from 'node:crypto';
import { IntegrityError } from '../../crypto/aead';
import { Barrier } from './barrier';
import type { BarrierRepository } from './barrier.repository';
import { type Ciphertext, SealedColumn } from './sealed-column';
import * as columns from './sealed-columns';

/** An open barrier with a fresh keyring; nothing here reaches its repository. */
function openBarrier(): Barrier {
  const barrier = new Barrier({} as BarrierRepository, { maxEncryptionsPerTerm: 1_000_000, log: () => undefined });
  const rootKey = randomBytes(32);
  barrier.openNew(rootKey, Barrier.newKeyringCiphertext(rootKey, new Date()));
  return barrier;
}

const hmac = Buffer.from('00ff10', 'hex');
const mountUuid = '6f1c2b1e-0000-4000-8000-000000000001';

describe('sealed columns', () => {
  // The grammars stored data was written with: a change here is a change of every stored value's AAD.
  it.each([
    [columns.KERNEL_SECRET_VALUE.location('token_hmac_key'), 'kernel_secrets/value_ciphertext/token_hmac_key'],
    [columns.TOKEN_ACCESSOR.location(hmac), 'tokens/accessor_ciphertext/00ff10'],
    [columns.LEASE_CREDENTIALS.location('kv/creds/abc'), 'leases/kv/creds/abc'],
    [columns.LEASE_SOURCE_IP.location('kv/creds/abc'), 'leases/kv/creds/abc/source_ip'],
    [columns.CUBBYHOLE_VALUE.location({ tokenHmac: hmac, path: 'a/b' }), 'cubbyhole/00ff10/a/b'],
    [columns.AUDIT_DEVICE_SALT.location('u-1'), 'audit_devices/salt_ciphertext/u-1'],
    [columns.KV_V1_VALUE.location({ mountUuid, path: 'a/b' }), `secrets/${mountUuid}/kv-v1/a/b`],
    [columns.KV_V2_VALUE.location({ mountUuid, path: 'a/b', version: 3 }), `secrets/${mountUuid}/kv-v2/v3/a/b`],
    [columns.USERPASS_PASSWORD.location({ mountUuid, username: 'alice' }), `userpass/${mountUuid}/users/alice/password`],
    [columns.SECRET_ID_ACCESSOR.location(hmac), 'secret_ids/accessor_ciphertext/00ff10'],
    [columns.ENGINE_OBJECT_VALUE.location({ mountUuid, kind: 'role', name: 'r' }), `secrets/${mountUuid}/database/role/r`],
    [columns.PKI_PRIVATE_KEY.location({ mountUuid, keyId: 'k1' }), `pki/${mountUuid}/k1/private_key`],
    [columns.BATCH_TOKEN.location(), 'tokens/batch'],
  ])('%s is built as declared', (built, expected) => {
    expect(built).toBe(expected);
  });

  it('every stored sealed column is listed once, and names its table and column', () => {
    const names = columns.SEALED_COLUMNS.map((c) => `${c.table}.${c.column}`);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('secret_versions.encrypted_data');
    expect(columns.SEALED_COLUMNS).not.toContain(columns.BATCH_TOKEN);
  });

  it('seals and opens a row; a value opened under another row key, or another column, fails', async () => {
    const barrier = openBarrier();
    const kv = new SealedColumn(columns.KV_V2_VALUE, barrier);
    const sealed = await kv.sealJson({ mountUuid, path: 'a', version: 1 }, { password: 'p' });
    expect(kv.openJson({ mountUuid, path: 'a', version: 1 }, sealed)).toEqual({ password: 'p' });
    expect(() => kv.open({ mountUuid, path: 'a', version: 2 }, sealed)).toThrow(IntegrityError);
    expect(() => kv.open({ mountUuid, path: 'b', version: 1 }, sealed)).toThrow(IntegrityError);
    const v1 = new SealedColumn(columns.KV_V1_VALUE, barrier);
    expect(() => v1.open({ mountUuid, path: 'a' }, sealed)).toThrow(IntegrityError);
  });

  it('opens what the barrier sealed under the legacy location string (stored data stays readable)', async () => {
    const barrier = openBarrier();
    const legacy = (await barrier.encrypt(`userpass/${mountUuid}/users/alice/password`, Buffer.from('$argon2id$hash'))) as Ciphertext;
    const passwords = new SealedColumn(columns.USERPASS_PASSWORD, barrier);
    expect(passwords.open({ mountUuid, username: 'alice' }, legacy).toString()).toBe('$argon2id$hash');
    expect(() => passwords.open({ mountUuid, username: 'bob' }, legacy)).toThrow(IntegrityError);
  });

  it('a tampered ciphertext does not open', async () => {
    const column = new SealedColumn(columns.KERNEL_SECRET_VALUE, openBarrier());
    const sealed = await column.seal('k', Buffer.from('secret'));
    const tampered = Buffer.from(sealed) as Ciphertext;
    tampered[tampered.length - 1] ^= 1;
    expect(() => column.open('k', tampered)).toThrow(IntegrityError);
  });
});
