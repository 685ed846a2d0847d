import { createDecipheriv, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  VAULT_AES256_BACKUP,
  VAULT_ECDSA_P256_BACKUP,
  VAULT_ED25519_BACKUP,
  opensslTextInteger,
  opensslTextSmallInteger,
  vaultBackupOfOpensslKey,
} from '../../../test/support/transit-vault-vectors';
import { OpensslWorkspace } from '../../../test/support/x509-openssl';
import { generateKeyVersion, type TransitKeyType } from './key-types';
import { TransitCryptoError } from './symmetric';
import { decodeVaultBackup, encodeVaultBackup, parseJsonKeepingIntegers, type KeyData, type KeyDataSettings } from './vault-key-data';

const documentOf = (backup: string) =>
  parseJsonKeepingIntegers(Buffer.from(backup, 'base64').toString('utf8')) as {
    policy: Record<string, unknown>;
    archived_keys: { keys: Record<string, unknown>[] };
  };
const backupOf = (document: unknown) => Buffer.from(JSON.stringify(document), 'utf8').toString('base64');

function settings(type: TransitKeyType, change: Partial<KeyDataSettings> = {}): KeyDataSettings {
  return {
    name: 'k',
    type,
    derived: false,
    kdf: 1,
    convergentEncryption: false,
    convergentVersion: 0,
    exportable: true,
    allowPlaintextBackup: true,
    deletionAllowed: false,
    latestVersion: 1,
    minDecryptionVersion: 1,
    minEncryptionVersion: 0,
    minAvailableVersion: 0,
    autoRotatePeriod: 0,
    keySize: 0,
    importedKey: false,
    allowImportedKeyRotation: false,
    backupInfo: { time: '2024-01-01T00:00:00.000Z', version: 1 },
    restoreInfo: null,
    ...change,
  };
}

function keyWithVersions(type: TransitKeyType, count: number, change: Partial<KeyDataSettings> = {}): KeyData {
  const versions = Array.from({ length: count }, (_, i) => {
    const g = generateKeyVersion(type, 64);
    const createdAt = new Date(1_700_000_000_000 + i * 1000);
    return { version: i + 1, material: g.material, publicKey: g.publicKey, createdAt, convergentVersion: 0, publicKeyOnly: false };
  });
  return { settings: settings(type, { latestVersion: count, ...change }), versions };
}

describe('parseJsonKeepingIntegers', () => {
  it('keeps integers of any size exact, leaves small numbers and strings alone', () => {
    const big =
      '6864797660130609714981900799081393217269435300143305409394463459185543183397656052122559640661454554977296311391480858037121987999716643812574028291115057151';
    expect(parseJsonKeepingIntegers(`{"a":${big},"b":-${big},"c":12,"d":1.5e3,"e":"${big}","f":"q\\"${big}","g":[123456789012345678]}`)).toEqual({
      a: big,
      b: `-${big}`,
      c: 12,
      d: 1500,
      e: big,
      f: `q"${big}`,
      g: ['123456789012345678'],
    });
  });
});

describe('decodeVaultBackup: documents Vault made', () => {
  it("reads Vault 1.11's aes256-gcm96 backup, whose key decrypts the ciphertext Vault made with it", () => {
    const { settings: s, versions } = decodeVaultBackup(VAULT_AES256_BACKUP.backup);
    expect(s).toMatchObject({
      name: 'test-key',
      type: 'aes256-gcm96',
      latestVersion: 1,
      minDecryptionVersion: 1,
      exportable: true,
      allowPlaintextBackup: true,
      kdf: 0,
    });
    expect(s.backupInfo).toEqual({ time: '2023-02-13T15:50:27.760814872Z', version: 1 });
    expect(versions).toHaveLength(1);
    expect(versions[0].material.key.toString('base64')).toBe(VAULT_AES256_BACKUP.key);
    expect(versions[0].material.hmacKey?.toString('base64')).toBe(VAULT_AES256_BACKUP.hmacKey);
    expect(versions[0].createdAt.toISOString()).toBe('2023-02-13T15:42:46.974Z');
    const body = Buffer.from(VAULT_AES256_BACKUP.ciphertext.slice('vault:v1:'.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', versions[0].material.key, body.subarray(0, 12));
    decipher.setAuthTag(body.subarray(body.length - 16));
    expect(Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]).toString()).toBe(VAULT_AES256_BACKUP.plaintext);
  });

  it('reads a Vault ecdsa-p256 backup: its 77-digit ec_x/ec_y/ec_d give exactly the public key Vault computed', () => {
    const { settings: s, versions } = decodeVaultBackup(VAULT_ECDSA_P256_BACKUP.backup);
    expect(s).toMatchObject({ name: 'cabotage-app', type: 'ecdsa-p256', latestVersion: 1 });
    expect(versions[0].publicKey).toBe(VAULT_ECDSA_P256_BACKUP.publicKey);
    expect(createPublicKey(createPrivateKey({ key: versions[0].material.key, format: 'der', type: 'pkcs8' })).export({ format: 'pem', type: 'spki' })).toBe(
      VAULT_ECDSA_P256_BACKUP.publicKey,
    );
    expect(versions[0].material.hmacKey?.toString('base64')).toBe(VAULT_ECDSA_P256_BACKUP.hmacKey);
    const again = documentOf(encodeVaultBackup({ settings: s, versions }));
    const original = documentOf(VAULT_ECDSA_P256_BACKUP.backup);
    const [entry, originalEntry] = [
      (again.policy.keys as Record<string, Record<string, unknown>>)['1'],
      (original.policy.keys as Record<string, Record<string, unknown>>)['1'],
    ];
    expect([entry.ec_x, entry.ec_y, entry.ec_d, entry.public_key]).toEqual([
      originalEntry.ec_x,
      originalEntry.ec_y,
      originalEntry.ec_d,
      originalEntry.public_key,
    ]);
  });

  it("reads an ed25519 backup in Vault's format, Go's 64-byte key with the account's public key", () => {
    const { settings: s, versions } = decodeVaultBackup(VAULT_ED25519_BACKUP.backup);
    expect(s).toMatchObject({ name: 'ahmed', type: 'ed25519', latestVersion: 1 });
    expect(versions[0].material.key.toString('base64')).toBe(VAULT_ED25519_BACKUP.key);
    expect(versions[0].publicKey).toBe(VAULT_ED25519_BACKUP.publicKey);
  });
});

describe('decodeVaultBackup: ECDSA and RSA keys openssl made, as Go writes them', () => {
  const ws = new OpensslWorkspace();
  afterAll(() => ws.dispose());

  it.each([
    ['ecdsa-p256', 1, 'P-256', 32],
    ['ecdsa-p384', 6, 'P-384', 48],
    ['ecdsa-p521', 7, 'P-521', 66],
  ] as const)('%s: ec_x/ec_y/ec_d become the same private key', (type, number, curve, bytes) => {
    const pem = ws.ok(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`]);
    const text = ws.ok(['pkey', '-in', ws.file(`${type}.pem`, pem), '-text', '-noout']);
    const pub = BigInt(opensslTextInteger(text, 'pub'))
      .toString(16)
      .padStart(2 + 4 * bytes, '0');
    const [x, y] = [BigInt(`0x${pub.slice(2, 2 + 2 * bytes)}`), BigInt(`0x${pub.slice(2 + 2 * bytes)}`)];
    const backup = vaultBackupOfOpensslKey(number, 'ec', `"ec_x":${x},"ec_y":${y},"ec_d":${opensslTextInteger(text, 'priv')},"rsa_key":null`);
    const { settings: s, versions } = decodeVaultBackup(backup);
    expect(s.type).toBe(type);
    const expected = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
    expect(versions[0].material.key.equals(expected)).toBe(true);
    expect(versions[0].publicKey).toBe(createPublicKey(pem).export({ format: 'pem', type: 'spki' }));
  });

  it('rsa-2048: N/E/D/Primes become the same private key (Precomputed, when absent, is computed)', () => {
    const pem = ws.ok(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    const text = ws.ok(['pkey', '-in', ws.file('rsa.pem', pem), '-text', '-noout']);
    const n = (f: string) => opensslTextInteger(text, f);
    const rsaKey = `"rsa_key":{"N":${n('modulus')},"E":${opensslTextSmallInteger(text, 'publicExponent')},"D":${n('privateExponent')},"Primes":[${n('prime1')},${n('prime2')}]}`;
    const { versions } = decodeVaultBackup(vaultBackupOfOpensslKey(3, 'rsa', `"ec_x":null,"ec_y":null,"ec_d":null,${rsaKey}`));
    expect(versions[0].material.key.equals(createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' }))).toBe(true);
    expect(() => decodeVaultBackup(vaultBackupOfOpensslKey(9, 'rsa', `"ec_x":null,"ec_y":null,"ec_d":null,${rsaKey}`))).toThrow('is not a rsa-3072 key');
  });
});

describe('encodeVaultBackup', () => {
  it.each(['aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305', 'hmac', 'ed25519', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'rsa-2048'] as const)(
    '%s: decode(encode(key)) is the same key, every version, byte for byte',
    (type) => {
      const data = keyWithVersions(type, 3, { minDecryptionVersion: 2, keySize: type === 'hmac' ? 64 : 0, autoRotatePeriod: 7200 });
      const back = decodeVaultBackup(encodeVaultBackup(data));
      expect(back.settings).toEqual(data.settings);
      expect(
        back.versions.map((v) => [v.version, v.material.key.toString('hex'), v.material.hmacKey?.toString('hex'), v.createdAt.getTime(), v.publicKey]),
      ).toEqual(data.versions.map((v) => [v.version, v.material.key.toString('hex'), v.material.hmacKey?.toString('hex'), v.createdAt.getTime(), v.publicKey]));
    },
  );

  it("writes Vault's document: integer type, nanosecond period, keys from min_decryption_version, the archive from version 0", () => {
    const data = keyWithVersions('ecdsa-p521', 3, { minDecryptionVersion: 2, autoRotatePeriod: 3600 });
    const document = documentOf(encodeVaultBackup(data));
    expect(document.policy).toMatchObject({ type: 7, auto_rotate_period: 3_600_000_000_000, archive_version: 3, archive_min_version: 0, latest_version: 3 });
    expect(Object.keys(document.policy.keys as object)).toEqual(['2', '3']);
    expect(document.archived_keys.keys.map((k) => k.ec_d === null)).toEqual([true, false, false, false]);
    expect(document.archived_keys.keys[0].time).toBe('0001-01-01T00:00:00Z');
    const jwk = createPrivateKey({ key: data.versions[2].material.key, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
    const ecD = (document.policy.keys as Record<string, { ec_d: string }>)['3'].ec_d;
    expect(BigInt(ecD)).toBe(BigInt(`0x${Buffer.from(jwk.d ?? '', 'base64url').toString('hex')}`));
  });

  it("writes Go's rsa.PrivateKey (N, E, D, Primes, Precomputed) and rsa_public_key; a public-only version has no private part", () => {
    const data = keyWithVersions('rsa-2048', 1);
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    data.settings.latestVersion = 2;
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    data.versions.push({ version: 2, material: { key: spki }, createdAt: new Date(), convergentVersion: 0, publicKeyOnly: true });
    const document = documentOf(encodeVaultBackup(data));
    const keys = document.policy.keys as Record<
      string,
      { rsa_key: Record<string, unknown> | null; rsa_public_key: Record<string, unknown>; public_key_imported: boolean }
    >;
    expect(Object.keys(keys['1'].rsa_key ?? {})).toEqual(['N', 'E', 'D', 'Primes', 'Precomputed']);
    expect(keys['1'].rsa_key?.E).toBe(65537);
    expect(keys['2']).toMatchObject({ rsa_key: null, public_key_imported: true });
    const back = decodeVaultBackup(encodeVaultBackup(data));
    expect(back.versions[1]).toMatchObject({ publicKeyOnly: true });
    expect(back.versions[1].material.key.equals(data.versions[1].material.key)).toBe(true);
  });

  it('keeps trimmed keys trimmed: the archive starts at min_available_version', () => {
    const data = keyWithVersions('aes256-gcm96', 4, { minDecryptionVersion: 3, minAvailableVersion: 2 });
    data.versions.shift();
    const document = documentOf(encodeVaultBackup(data));
    expect(document.archived_keys.keys).toHaveLength(3);
    const back = decodeVaultBackup(encodeVaultBackup(data));
    expect(back.settings.minAvailableVersion).toBe(2);
    expect(back.versions.map((v) => v.version)).toEqual([2, 3, 4]);
  });
});

describe('decodeVaultBackup refuses malformed documents with a 400 message and no key material', () => {
  const valid = documentOf(VAULT_AES256_BACKUP.backup);
  const withPolicy = (change: Record<string, unknown>) => backupOf({ ...valid, policy: { ...valid.policy, ...change } });
  it.each([
    ['not base64', '!!!', 'invalid backup: not base64'],
    ['not JSON', Buffer.from('{"policy":').toString('base64'), 'invalid backup: not a JSON document'],
    ['no policy', backupOf({ archived_keys: {} }), 'backup data does not contain a valid policy'],
    ['an unknown type', withPolicy({ type: 42 }), 'invalid backup: unknown key type 42'],
    ['a managed key', withPolicy({ type: 10 }), 'restoring managed keys is not supported'],
    ['a short AES key', withPolicy({ keys: { '1': { key: 'AAAA', time: '2024-01-01T00:00:00Z' } } }), 'invalid key size 3 bytes for key type aes256-gcm96'],
    ['a missing version', withPolicy({ latest_version: 2 }), 'invalid backup: key version 2 is missing'],
    ['min_decryption above latest', withPolicy({ min_decryption_version: 5, keys: {} }), 'is greater than the latest version'],
    ['a bad auto_rotate_period', withPolicy({ auto_rotate_period: 60_000_000_000 }), 'auto rotate period must be 0 to disable or at least an hour'],
  ])('%s', (_what, backup, message) => {
    let error: unknown;
    try {
      decodeVaultBackup(backup);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TransitCryptoError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain(VAULT_AES256_BACKUP.key);
  });

  it('refuses an ECDSA point that is not d·G, and an ed25519 key whose public half is not its seed’s', () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' });
    const b = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' });
    const int = (s?: string) => BigInt(`0x${Buffer.from(s ?? '', 'base64url').toString('hex')}`).toString();
    const mixed = vaultBackupOfOpensslKey(1, 'ec', `"ec_x":${int(a.x)},"ec_y":${int(a.y)},"ec_d":${int(b.d)},"rsa_key":null`);
    expect(() => decodeVaultBackup(mixed)).toThrow('does not match its private key');
    const ed = documentOf(VAULT_ED25519_BACKUP.backup);
    const key = Buffer.from(VAULT_ED25519_BACKUP.key, 'base64');
    key[40] ^= 1;
    const entry = { ...(ed.policy.keys as Record<string, object>)['1'], key: key.toString('base64') };
    expect(() => decodeVaultBackup(backupOf({ policy: { ...ed.policy, keys: { '1': entry } } }))).toThrow('does not match its private key');
  });
});
