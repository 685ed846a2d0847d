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
  it.each([
    [columns.KERNEL_SECRET_VALUE.location('token_hmac_key'), 'kernel_secrets/value_ciphertext/token_hmac_key'],
    [columns.TOKEN_ACCESSOR.location(hmac), 'tokens/accessor_ciphertext/00ff10'],
    [columns.SECRET_ID_ACCESSOR.location(hmac), 'secret_ids/accessor_ciphertext/00ff10'],
    [columns.AUDIT_DEVICE_SALT.location('u-1'), 'audit_devices/salt_ciphertext/u-1'],
    [columns.LEASE_CREDENTIALS.location('kv/creds/abc'), 'leases/credentials_ciphertext/kv/creds/abc'],
    [columns.LEASE_SOURCE_IP.location('kv/creds/abc'), 'leases/source_ip/kv/creds/abc'],
    [columns.CUBBYHOLE_VALUE.location({ tokenHmac: hmac, path: 'a/b' }), 'cubbyhole_entries/value_ciphertext/["00ff10","a/b"]'],
    [columns.KV_V1_VALUE.location({ mountUuid, path: 'a/b' }), `secrets/encrypted_data/["${mountUuid}","a/b"]`],
    [columns.KV_V2_VALUE.location({ mountUuid, path: 'a/b', version: 3 }), `secret_versions/encrypted_data/["${mountUuid}","a/b",3]`],
    [columns.USERPASS_PASSWORD.location({ mountUuid, username: 'alice' }), `userpass_users/password_ciphertext/["${mountUuid}","alice"]`],
    [columns.ENGINE_OBJECT_VALUE.location({ mountUuid, kind: 'role', name: 'r' }), `engine_objects/value_ciphertext/["${mountUuid}","role","r"]`],
    [columns.PKI_PRIVATE_KEY.location({ mountUuid, keyId: 'k1' }), `pki_keys/private_key_encrypted/["${mountUuid}","k1"]`],
    [columns.BATCH_TOKEN.location(), 'tokens/batch'],
  ])('%s: table/column/row key, as declared', (built, expected) => {
    expect(built).toBe(expected);
  });

  // The grammars stored data was first written with: a change here makes those values unreadable.
  it.each([
    [columns.LEASE_CREDENTIALS.legacy?.location('kv/creds/abc'), 'leases/kv/creds/abc'],
    [columns.LEASE_SOURCE_IP.legacy?.location('kv/creds/abc'), 'leases/kv/creds/abc/source_ip'],
    [columns.CUBBYHOLE_VALUE.legacy?.location({ tokenHmac: hmac, path: 'a/b' }), 'cubbyhole/00ff10/a/b'],
    [columns.KV_V1_VALUE.legacy?.location({ mountUuid, path: 'a/b' }), `secrets/${mountUuid}/kv-v1/a/b`],
    [columns.KV_V2_VALUE.legacy?.location({ mountUuid, path: 'a/b', version: 3 }), `secrets/${mountUuid}/kv-v2/v3/a/b`],
    [columns.USERPASS_PASSWORD.legacy?.location({ mountUuid, username: 'alice' }), `userpass/${mountUuid}/users/alice/password`],
    [columns.ENGINE_OBJECT_VALUE.legacy?.location({ mountUuid, kind: 'role', name: 'r' }), `secrets/${mountUuid}/database/role/r`],
    [columns.PKI_PRIVATE_KEY.legacy?.location({ mountUuid, keyId: 'k1' }), `pki/${mountUuid}/k1/private_key`],
  ])('legacy %s is built as declared', (built, expected) => {
    expect(built).toBe(expected);
  });

  it('every stored sealed column is listed once; the ones always in table/column/row key have no legacy grammar', () => {
    const names = columns.visitSealedColumns((c) => `${c.table}.${c.column}`);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('secret_versions.encrypted_data');
    expect(names).not.toContain('tokens.batch');
    for (const c of [columns.KERNEL_SECRET_VALUE, columns.TOKEN_ACCESSOR, columns.SECRET_ID_ACCESSOR, columns.AUDIT_DEVICE_SALT, columns.MANAGED_KEY_PIN])
      expect(c.legacy).toBeUndefined();
  });

  it('seals and opens a row; a value opened under another row key, or another column, fails', async () => {
    const barrier = openBarrier();
    const kv = new SealedColumn(columns.KV_V2_VALUE, barrier);
    const sealed = await kv.sealJson({ mountUuid, path: 'a', version: 1 }, { password: 'p' });
    expect(await kv.openJson({ mountUuid, path: 'a', version: 1 }, sealed)).toEqual({ password: 'p' });
    await expect(kv.open({ mountUuid, path: 'a', version: 2 }, sealed)).rejects.toThrow(IntegrityError);
    await expect(kv.open({ mountUuid, path: 'b', version: 1 }, sealed)).rejects.toThrow(IntegrityError);
    const v1 = new SealedColumn(columns.KV_V1_VALUE, barrier);
    await expect(v1.open({ mountUuid, path: 'a' }, sealed)).rejects.toThrow(IntegrityError);
  });

  it('opens what was sealed under the legacy location (rows the reseal job has not reached), and re-seals it', async () => {
    const barrier = openBarrier();
    const legacy = (await barrier.encrypt(`userpass/${mountUuid}/users/alice/password`, Buffer.from('$argon2id$hash'))) as Ciphertext;
    const passwords = new SealedColumn(columns.USERPASS_PASSWORD, barrier);
    const alice = { mountUuid, username: 'alice' };
    expect((await passwords.open(alice, legacy)).toString()).toBe('$argon2id$hash');
    await expect(passwords.open({ mountUuid, username: 'bob' }, legacy)).rejects.toThrow(IntegrityError);
    const result = await passwords.reseal(alice, legacy);
    if (typeof result !== 'object') throw new Error(`expected a re-sealed value, got ${result}`);
    expect(barrier.decrypt(`userpass_users/password_ciphertext/["${mountUuid}","alice"]`, result.resealed).toString()).toBe('$argon2id$hash');
    expect(await passwords.reseal(alice, result.resealed)).toBe('current');
    expect(await passwords.reseal({ mountUuid, username: 'bob' }, legacy)).toBe('unreadable');
  });

  it('a tampered ciphertext does not open', async () => {
    const column = new SealedColumn(columns.KERNEL_SECRET_VALUE, openBarrier());
    const sealed = await column.seal('k', Buffer.from('secret'));
    const tampered = Buffer.from(sealed) as Ciphertext;
    tampered[tampered.length - 1] ^= 1;
    await expect(column.open('k', tampered)).rejects.toThrow(IntegrityError);
  });
});
