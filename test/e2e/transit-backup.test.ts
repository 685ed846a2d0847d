/**
 * Transit export, backup/restore and BYOK import over HTTP, against what Vault made: a Vault 1.11
 * backup restores and decrypts the ciphertext Vault made with it; keys that openssl generated, put
 * in Vault's backup format or wrapped by the openssl CLI exactly as Vault's BYOK guide describes
 * (RSA-OAEP of an ephemeral AES key, then RFC 5649 key wrap), come back out of export byte for byte
 * and decrypt what openssl encrypted with them. Backups move keys between mounts; every refusal is
 * a 400 with Vault's message.
 */
import { createCipheriv, createPublicKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import {
  VAULT_AES256_BACKUP,
  VAULT_ECDSA_P256_BACKUP,
  VAULT_ED25519_BACKUP,
  opensslTextInteger,
  opensslTextSmallInteger,
  vaultBackupOfOpensslKey,
} from '../support/transit-vault-vectors';
import { OpensslWorkspace } from '../support/x509-openssl';

jest.setTimeout(180_000);

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

describe('transit export, backup, restore and import (e2e)', () => {
  let server: ServerProcess;
  let a: string;
  let databaseUrl: string;
  const ws = new OpensslWorkspace();
  const token = 'hvs.transitbackuproot';
  const post = (path: string, body: unknown = {}) => call(a, 'POST', path, { token, body });
  const get = (path: string) => call(a, 'GET', path, { token });
  const expect400 = async (response: Promise<{ status: number; body: { errors?: string[] } }>, message: string) => {
    const r = await response;
    expect({ status: r.status, error: r.body?.errors?.[0] }).toEqual({ status: 400, error: message });
  };

  /** Vault's BYOK wrapping done by the openssl CLI alone: pkeyutl RSA-OAEP of an ephemeral key, enc -id-aes256-wrap-pad of the target. */
  const opensslWrap = (wrappingPem: string, target: Buffer, digest = 'sha256'): string => {
    const ephemeral = randomBytes(32);
    ws.file('wrapping.pem', wrappingPem);
    ws.file('ephemeral.bin', ephemeral);
    ws.file('target.bin', target);
    ws.ok(['pkeyutl', '-encrypt', '-pubin', '-inkey', 'wrapping.pem', '-in', 'ephemeral.bin', '-out', 'ephemeral.enc',
      '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${digest}`, '-pkeyopt', `rsa_mgf1_md:${digest}`]); // prettier-ignore
    ws.ok(['enc', '-id-aes256-wrap-pad', '-K', ephemeral.toString('hex'), '-iv', 'A65959A6', '-in', 'target.bin', '-out', 'target.enc']);
    return Buffer.concat([readFileSync(ws.path('ephemeral.enc')), readFileSync(ws.path('target.enc'))]).toString('base64');
  };
  const wrappingKey = async (mount: string) => (await get(`${mount}/wrapping_key`)).body.data.public_key as string;
  /** A private key from openssl: its PEM, PKCS#8 DER (`pkey -outform DER` writes EC and RSA keys in their traditional forms) and `-text` dump. */
  const opensslKey = (algorithm: string, option: string) => {
    const pem = ws.ok(['genpkey', '-algorithm', algorithm, ...(option ? ['-pkeyopt', option] : [])]);
    ws.file('key.pem', pem);
    return {
      pem,
      der: ws.okBytes(['pkcs8', '-topk8', '-nocrypt', '-in', 'key.pem', '-outform', 'DER']),
      text: ws.ok(['pkey', '-in', 'key.pem', '-text', '-noout']),
    };
  };
  /** openssl's RSA-OAEP-SHA256 encryption, as Vault's RSA transit keys use. */
  const opensslOaepEncrypt = (pem: string, plaintext: string) => {
    ws.file('rsa.pem', pem);
    ws.file('plain.txt', plaintext);
    ws.ok([
      'pkeyutl',
      '-encrypt',
      '-inkey',
      'rsa.pem',
      '-in',
      'plain.txt',
      '-out',
      'rsa.enc',
      '-pkeyopt',
      'rsa_padding_mode:oaep',
      '-pkeyopt',
      'rsa_oaep_md:sha256',
    ]);
    return `vault:v1:${readFileSync(ws.path('rsa.enc')).toString('base64')}`;
  };
  /** A vault:v<N> AES-GCM ciphertext made outside the server with the raw key. */
  const aesGcm = (key: Buffer, version: number, plaintext: string) => {
    const nonce = randomBytes(12);
    const cipher = createCipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, nonce);
    const body = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return `vault:v${version}:${body.toString('base64')}`;
  };
  const decrypt = async (mount: string, name: string, ciphertext: string) => {
    const r = await post(`${mount}/decrypt/${name}`, { ciphertext });
    expect(r.status).toBe(200);
    return Buffer.from(r.body.data.plaintext as string, 'base64').toString();
  };

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    server = await startServerProcess({ databaseUrl, args: ['--dev', '--dev-root-token-id', token], readyText: 'should NOT be used' });
    a = server.address;
    for (const mount of ['transit', 'transit2']) expect((await post(`sys/mounts/${mount}`, { type: 'transit' })).status).toBe(204);
  });
  afterAll(async () => {
    ws.dispose();
    await server?.stop();
  });

  describe("Vault's own data", () => {
    it('restores a Vault 1.11 backup; the key decrypts the ciphertext Vault made with it, on any mount, under any name', async () => {
      expect((await post('transit/restore', { backup: VAULT_AES256_BACKUP.backup })).status).toBe(204);
      expect(await decrypt('transit', 'test-key', VAULT_AES256_BACKUP.ciphertext)).toBe(VAULT_AES256_BACKUP.plaintext);
      const read = (await get('transit/keys/test-key')).body.data;
      expect(read).toMatchObject({ type: 'aes256-gcm96', latest_version: 1, exportable: true, allow_plaintext_backup: true });
      expect(read.backup_info).toEqual({ time: '2023-02-13T15:50:27.760814872Z', version: 1 });
      expect(read.restore_info.version).toBe(1);
      expect(Math.abs(Date.parse(read.restore_info.time) - Date.now())).toBeLessThan(60_000);
      const exported = await get('transit/export/encryption-key/test-key');
      expect(exported.body.data).toEqual({ name: 'test-key', type: 'aes256-gcm96', keys: { '1': VAULT_AES256_BACKUP.key } });
      expect((await get('transit/export/hmac-key/test-key/latest')).body.data.keys).toEqual({ '1': VAULT_AES256_BACKUP.hmacKey });

      expect((await post('transit2/restore/renamed', { backup: VAULT_AES256_BACKUP.backup })).status).toBe(204);
      expect(await decrypt('transit2', 'renamed', VAULT_AES256_BACKUP.ciphertext)).toBe('test');
    });

    it('restores a Vault ecdsa-p256 backup: the key read and public-key export show the public key Vault computed', async () => {
      expect((await post('transit/restore', { backup: VAULT_ECDSA_P256_BACKUP.backup })).status).toBe(204);
      const read = (await get('transit/keys/cabotage-app')).body.data;
      expect(read.keys['1']).toMatchObject({ name: 'P-256', public_key: VAULT_ECDSA_P256_BACKUP.publicKey });
      expect((await get('transit/export/public-key/cabotage-app')).body.data.keys).toEqual({ '1': VAULT_ECDSA_P256_BACKUP.publicKey.trim() });
      const sec1 = (await get('transit/export/signing-key/cabotage-app')).body.data.keys['1'] as string;
      expect(createPublicKey(sec1).export({ format: 'pem', type: 'spki' })).toBe(VAULT_ECDSA_P256_BACKUP.publicKey);
    });

    it('restores an ed25519 backup in Vault’s format: its public key is the account’s, export gives Go’s 64-byte key', async () => {
      expect((await post('transit/restore', { backup: VAULT_ED25519_BACKUP.backup })).status).toBe(204);
      const read = (await get('transit/keys/ahmed')).body.data;
      expect(read.keys['1'].public_key).toBe(VAULT_ED25519_BACKUP.publicKey);
      expect((await get('transit/export/signing-key/ahmed/1')).body.data.keys).toEqual({ '1': VAULT_ED25519_BACKUP.key });
      expect((await get('transit/export/public-key/ahmed/v1')).body.data.keys).toEqual({ '1': VAULT_ED25519_BACKUP.publicKey });
    });

    it.each([
      ['ecdsa-p256', 1, 'ec_paramgen_curve:P-256', 32],
      ['ecdsa-p521', 7, 'ec_paramgen_curve:P-521', 66],
    ] as const)('restores an openssl %s key written as Go writes ec_x/ec_y/ec_d; export is openssl’s own SEC1 PEM', async (type, number, option, bytes) => {
      const key = opensslKey('EC', option);
      const pub = BigInt(opensslTextInteger(key.text, 'pub'))
        .toString(16)
        .padStart(2 + 4 * bytes, '0');
      const [x, y] = [BigInt(`0x${pub.slice(2, 2 + 2 * bytes)}`), BigInt(`0x${pub.slice(2 + 2 * bytes)}`)];
      const backup = vaultBackupOfOpensslKey(number, type, `"ec_x":${x},"ec_y":${y},"ec_d":${opensslTextInteger(key.text, 'priv')},"rsa_key":null`);
      expect((await post('transit/restore', { backup })).status).toBe(204);
      const sec1 = ws.ok(['ec', '-in', 'key.pem']).trim();
      expect((await get(`transit/export/signing-key/${type}`)).body.data.keys).toEqual({ '1': sec1 });
      const spki = ws.ok(['pkey', '-in', 'key.pem', '-pubout']);
      expect((await get(`transit/keys/${type}`)).body.data.keys['1'].public_key).toBe(spki);
      expect((await get(`transit/export/public-key/${type}`)).body.data.keys).toEqual({ '1': spki.trim() });
    });

    it("restores an openssl RSA key written as Go's rsa.PrivateKey; it decrypts what openssl encrypted; export is PKCS#1", async () => {
      const key = opensslKey('RSA', 'rsa_keygen_bits:2048');
      const n = (f: string) => opensslTextInteger(key.text, f);
      const rsaKey = `"rsa_key":{"N":${n('modulus')},"E":${opensslTextSmallInteger(key.text, 'publicExponent')},"D":${n('privateExponent')},"Primes":[${n('prime1')},${n('prime2')}],"Precomputed":{"Dp":${n('exponent1')},"Dq":${n('exponent2')},"Qinv":${n('coefficient')},"CRTValues":[]}}`;
      const backup = vaultBackupOfOpensslKey(3, 'rsa', `"ec_x":null,"ec_y":null,"ec_d":null,${rsaKey}`);
      expect((await post('transit/restore', { backup })).status).toBe(204);
      expect(await decrypt('transit', 'rsa', opensslOaepEncrypt(key.pem, 'made by openssl'))).toBe('made by openssl');
      const pkcs1 = ws.ok(['rsa', '-in', 'key.pem', '-traditional']);
      expect((await get('transit/export/encryption-key/rsa')).body.data.keys).toEqual({ '1': pkcs1 });
      expect((await get('transit/export/public-key/rsa')).body.data.keys).toEqual({ '1': ws.ok(['pkey', '-in', 'key.pem', '-pubout']) });
    });
  });

  describe('backup and restore', () => {
    const types = ['aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305', 'rsa-2048', 'hmac', 'ed25519', 'ecdsa-p384'] as const;

    it.each(types)('%s: backup → restore on another mount, under force, as another name: old ciphertexts decrypt, exports are equal', async (type) => {
      const name = `bk-${type}`;
      expect((await post(`transit/keys/${name}`, { type, exportable: true, allow_plaintext_backup: true })).status).toBe(200);
      const encrypting = type !== 'hmac' && type !== 'ed25519' && type !== 'ecdsa-p384';
      const ciphertexts: [string, string][] = [];
      for (const round of [1, 2]) {
        if (round === 2) expect((await post(`transit/keys/${name}/rotate`)).status).toBe(200);
        if (encrypting) {
          const r = await post(`transit/encrypt/${name}`, { plaintext: b64(`round ${round}`) });
          ciphertexts.push([r.body.data.ciphertext, `round ${round}`]);
        }
      }
      const exportType = encrypting ? 'encryption-key' : type === 'hmac' ? 'hmac-key' : 'signing-key';
      const exported = (await get(`transit/export/${exportType}/${name}`)).body.data.keys;
      expect(Object.keys(exported)).toEqual(['1', '2']);

      const backup = (await get(`transit/backup/${name}`)).body.data.backup as string;
      const document = JSON.parse(Buffer.from(backup, 'base64').toString());
      expect(document.policy).toMatchObject({ name, latest_version: 2, exportable: true, allow_plaintext_backup: true });
      expect(document.archived_keys.keys).toHaveLength(3);
      const read = (await get(`transit/keys/${name}`)).body.data;
      expect(read.backup_info.version).toBe(2);

      await expect400(post('transit/restore', { backup }), `key "${name}" already exists`);
      for (const [mount, path] of [
        ['transit2', 'restore'],
        ['transit', 'restore'],
        ['transit', `restore/${name}-copy`],
      ]) {
        const body = path === 'restore' && mount === 'transit' ? { backup, force: true } : { backup };
        expect((await post(`${mount}/${path}`, body)).status).toBe(204);
        const restoredName = path === 'restore' ? name : `${name}-copy`;
        expect((await get(`${mount}/export/${exportType}/${restoredName}`)).body.data.keys).toEqual(exported);
        for (const [ciphertext, plaintext] of ciphertexts) expect(await decrypt(mount, restoredName, ciphertext)).toBe(plaintext);
        const restored = (await get(`${mount}/keys/${restoredName}`)).body.data;
        expect(restored).toMatchObject({ latest_version: 2, type, restore_info: { version: 2 } });
        expect(restored.keys).toEqual(read.keys);
      }
    });

    it('a trimmed key backs up from min_available_version and restores with only those versions', async () => {
      await post('transit/keys/trimmed', { exportable: true, allow_plaintext_backup: true });
      const ciphertexts: string[] = [];
      for (let v = 1; v <= 4; v++) {
        if (v > 1) await post('transit/keys/trimmed/rotate');
        ciphertexts.push((await post('transit/encrypt/trimmed', { plaintext: b64(`v${v}`) })).body.data.ciphertext);
      }
      expect((await post('transit/keys/trimmed/config', { min_decryption_version: 3, min_encryption_version: 3 })).status).toBe(200);
      expect((await post('transit/keys/trimmed/trim', { min_available_version: 3 })).status).toBe(200);
      const backup = (await get('transit/backup/trimmed')).body.data.backup as string;
      const document = JSON.parse(Buffer.from(backup, 'base64').toString());
      expect(document.policy).toMatchObject({ min_available_version: 3, archive_min_version: 3, min_decryption_version: 3, latest_version: 4 });
      expect(document.archived_keys.keys).toHaveLength(2);
      expect((await post('transit2/restore', { backup })).status).toBe(204);
      expect((await get('transit2/keys/trimmed')).body.data).toMatchObject({ min_available_version: 3, min_decryption_version: 3, latest_version: 4 });
      expect(Object.keys((await get('transit2/export/encryption-key/trimmed')).body.data.keys)).toEqual(['3', '4']);
      expect(await decrypt('transit2', 'trimmed', ciphertexts[2])).toBe('v3');
      expect(await decrypt('transit2', 'trimmed', ciphertexts[3])).toBe('v4');
      await expect400(post('transit2/decrypt/trimmed', { ciphertext: ciphertexts[0] }), 'ciphertext or signature version is disallowed by policy (too old)');
    });

    it('refuses a backup unless the key is exportable and allows plaintext backups; records nothing then', async () => {
      await post('transit/keys/plain');
      await expect400(get('transit/backup/plain'), 'exporting is disallowed on the policy');
      await post('transit/keys/plain/config', { exportable: true });
      await expect400(get('transit/backup/plain'), 'plaintext backup is disallowed on the policy');
      expect((await get('transit/keys/plain')).body.data.backup_info).toBeUndefined();
      await expect400(get('transit/backup/none'), 'key "none" not found');
    });

    it('refuses bad restores with 400 and Vault’s words', async () => {
      await expect400(post('transit/restore', {}), "'backup' must be supplied");
      await expect400(post('transit/restore', { backup: 'not base64!' }), 'invalid backup: not base64');
      await expect400(post('transit/restore', { backup: b64('{"archived_keys":{}}') }), 'backup data does not contain a valid policy');
      await expect400(post('transit/restore/a/b', { backup: VAULT_AES256_BACKUP.backup }), 'key names cannot be paths');
      await expect400(post('transit/restore/bad$name', { backup: VAULT_AES256_BACKUP.backup }), 'invalid key name "bad$name"');
    });

    it('keeps restored key material barrier-sealed in the database', async () => {
      const db = new Client({ connectionString: databaseUrl });
      await db.connect();
      try {
        const rows = (await db.query("SELECT key_ciphertext FROM transit_key_versions WHERE name = 'test-key'")).rows as { key_ciphertext: Buffer }[];
        expect(rows.length).toBeGreaterThan(0);
        for (const row of rows) expect(row.key_ciphertext.includes(Buffer.from(VAULT_AES256_BACKUP.key, 'base64'))).toBe(false);
      } finally {
        await db.end();
      }
    });
  });

  describe('export', () => {
    it("follows Vault's rules: exportable needed but for public keys, type by type, versions latest/vN/N", async () => {
      await post('transit/keys/ex-ec', { type: 'ecdsa-p256' });
      const pub = (await get('transit/export/public-key/ex-ec')).body.data;
      expect(pub.keys['1']).toBe(((await get('transit/keys/ex-ec')).body.data.keys['1'].public_key as string).trim());
      await expect400(get('transit/export/signing-key/ex-ec'), 'private key material is not exportable');
      await expect400(get('transit/export/certificate-chain/ex-ec'), 'selected key version does not have a certificate chain imported');
      await expect400(get('transit/export/foo/ex-ec'), 'invalid export type: foo');
      await post('transit/keys/ex-aes', { exportable: true });
      await post('transit/keys/ex-aes/rotate');
      await post('transit/keys/ex-aes/rotate');
      await expect400(get('transit/export/signing-key/ex-aes'), 'signing not supported for the key');
      await expect400(get('transit/export/public-key/ex-aes'), 'unknown key type aes256-gcm96 for export type public-key');
      await expect400(get('transit/export/certificate-chain/ex-aes'), 'certificate chain not supported for keys that do not support signing');
      expect(Object.keys((await get('transit/export/encryption-key/ex-aes/latest')).body.data.keys)).toEqual(['3']);
      expect(Object.keys((await get('transit/export/encryption-key/ex-aes/v2')).body.data.keys)).toEqual(['2']);
      await post('transit/keys/ex-aes/config', { min_decryption_version: 2 });
      expect(Object.keys((await get('transit/export/encryption-key/ex-aes')).body.data.keys)).toEqual(['2', '3']);
      await expect400(get('transit/export/encryption-key/ex-aes/1'), 'version for export is below minimum decryption version');
      await expect400(get('transit/export/encryption-key/ex-aes/9'), 'version does not exist or cannot be found');
      await expect400(get('transit/export/encryption-key/ex-aes/x'), 'invalid key version');
      await post('transit/keys/ex-ed', { type: 'ed25519', exportable: true });
      await expect400(get('transit/export/encryption-key/ex-ed'), 'encryption not supported for the key');
      expect((await get('transit/export/encryption-key/none')).status).toBe(404);
    });
  });

  describe('BYOK import', () => {
    it('serves one RSA-4096 wrapping key per mount, the same on every read, listed as Vault lists it', async () => {
      const first = await wrappingKey('transit');
      expect(createPublicKey(first).asymmetricKeyDetails?.modulusLength).toBe(4096);
      expect(await wrappingKey('transit')).toBe(first);
      expect(await wrappingKey('transit2')).not.toBe(first);
      expect((await call(a, 'LIST', 'transit/keys', { token })).body.data.keys).toContain('import/');
    });

    it.each([
      ['aes256-gcm96', () => randomBytes(32)],
      ['aes128-gcm96', () => randomBytes(16)],
      ['chacha20-poly1305', () => randomBytes(32)],
      ['hmac', () => randomBytes(48)],
    ] as const)('imports a raw %s key that openssl wrapped; export gives the same bytes', async (type, makeKey) => {
      const key = makeKey();
      const name = `imp-${type}`;
      const r = await post(`transit/keys/${name}/import`, { type, ciphertext: opensslWrap(await wrappingKey('transit'), key), exportable: true });
      expect(r.status).toBe(204);
      const read = (await get(`transit/keys/${name}`)).body.data;
      expect(read).toMatchObject({ type, imported_key: true, imported_key_allow_rotation: false, latest_version: 1 });
      const exportType = type === 'hmac' ? 'hmac-key' : 'encryption-key';
      expect((await get(`transit/export/${exportType}/${name}`)).body.data.keys).toEqual({ '1': key.toString('base64') });
      if (type !== 'hmac' && type !== 'chacha20-poly1305') expect(await decrypt('transit', name, aesGcm(key, 1, 'sealed outside'))).toBe('sealed outside');
      await expect400(post(`transit/keys/${name}/rotate`), `imported key ${name} does not allow rotation within Vault`);
    });

    it.each([
      ['ecdsa-p256', 'EC', 'ec_paramgen_curve:P-256'],
      ['ecdsa-p384', 'EC', 'ec_paramgen_curve:P-384'],
      ['rsa-2048', 'RSA', 'rsa_keygen_bits:2048'],
      ['ed25519', 'ED25519', ''],
    ] as const)('imports an openssl %s PKCS#8 key that openssl wrapped (OAEP SHA-512); export is openssl’s own key', async (type, algorithm, option) => {
      const key = opensslKey(algorithm, option);
      const name = `imp-${type}`;
      const ciphertext = opensslWrap(await wrappingKey('transit'), key.der, 'sha512');
      expect((await post(`transit/keys/${name}/import`, { type, ciphertext, hash_function: 'SHA512', exportable: true })).status).toBe(204);
      const exported = (await get(`transit/export/signing-key/${name}`)).body.data.keys['1'] as string;
      if (type === 'ed25519') {
        const raw = ws.okBytes(['pkey', '-in', 'key.pem', '-outform', 'DER']).subarray(16);
        const pubRaw = ws.okBytes(['pkey', '-in', 'key.pem', '-pubout', '-outform', 'DER']).subarray(12);
        expect(exported).toBe(Buffer.concat([raw, pubRaw]).toString('base64'));
      } else if (type === 'rsa-2048') {
        expect(exported).toBe(ws.ok(['rsa', '-in', 'key.pem', '-traditional']));
        expect(await decrypt('transit', name, opensslOaepEncrypt(key.pem, 'to the imported key'))).toBe('to the imported key');
      } else {
        expect(exported).toBe(ws.ok(['ec', '-in', 'key.pem']).trim());
      }
      const publicKey = (await get(`transit/keys/${name}`)).body.data.keys['1'].public_key as string;
      if (type !== 'ed25519') expect(publicKey).toBe(ws.ok(['pkey', '-in', 'key.pem', '-pubout']));
    });

    it('import_version adds a version to an imported key; a public key alone is completed by its private key later', async () => {
      const wrapping = await wrappingKey('transit');
      const [v1, v2] = [randomBytes(32), randomBytes(32)];
      expect((await post('transit/keys/iv/import', { ciphertext: opensslWrap(wrapping, v1) })).status).toBe(204);
      expect((await post('transit/keys/iv/import_version', { ciphertext: opensslWrap(wrapping, v2) })).status).toBe(204);
      expect((await get('transit/keys/iv')).body.data.latest_version).toBe(2);
      expect(await decrypt('transit', 'iv', aesGcm(v2, 2, 'second version'))).toBe('second version');
      expect(await decrypt('transit', 'iv', aesGcm(v1, 1, 'first version'))).toBe('first version');

      const key = opensslKey('RSA', 'rsa_keygen_bits:2048');
      const publicPem = ws.ok(['pkey', '-in', 'key.pem', '-pubout']);
      expect((await post('transit/keys/pub/import', { type: 'rsa-2048', public_key: publicPem, exportable: true })).status).toBe(204);
      expect((await get('transit/keys/pub')).body.data.keys['1'].public_key).toBe(publicPem);
      expect((await get('transit/export/signing-key/pub')).body.data.keys).toEqual({ '1': '' });
      const sealedWithPublicOnly = (await post('transit/encrypt/pub', { plaintext: b64('before the private key') })).body.data.ciphertext as string;
      await expect400(post('transit/decrypt/pub', { ciphertext: sealedWithPublicOnly }), 'failed to RSA decrypt the ciphertext: crypto/rsa: decryption error');
      const other = opensslKey('RSA', 'rsa_keygen_bits:2048');
      await expect400(
        post('transit/keys/pub/import_version', { ciphertext: opensslWrap(wrapping, other.der), version: 1 }),
        'cannot import key, key pair does not match',
      );
      ws.file('key.pem', key.pem);
      expect((await post('transit/keys/pub/import_version', { ciphertext: opensslWrap(wrapping, key.der), version: 1 })).status).toBe(204);
      expect((await get('transit/export/signing-key/pub')).body.data.keys).toEqual({ '1': ws.ok(['rsa', '-in', 'key.pem', '-traditional']) });
      expect(await decrypt('transit', 'pub', sealedWithPublicOnly)).toBe('before the private key');
      await expect400(
        post('transit/keys/pub/import_version', { ciphertext: opensslWrap(wrapping, key.der), version: 1 }),
        'private key imported, key version cannot be updated',
      );
      await expect400(post('transit/keys/pub/import_version', { public_key: publicPem, version: 1 }), 'private key imported, key version cannot be updated');
      await expect400(post('transit/keys/pub/import_version', { public_key: publicPem, version: 7 }), 'no such key version');
    });

    it('refuses bad imports with 400 and Vault’s words', async () => {
      const wrapping = await wrappingKey('transit');
      const aes = opensslWrap(wrapping, randomBytes(32));
      await expect400(
        post('transit/keys/imp-aes256-gcm96/import', { ciphertext: aes }),
        'the import path cannot be used with an existing key; use import-version to rotate an existing imported key',
      );
      await expect400(post('transit/keys/x1/import', { ciphertext: aes, type: 'foo' }), 'unknown key type: foo');
      await expect400(post('transit/keys/x1/import', { ciphertext: aes, hash_function: 'MD5' }), 'unknown hash function: MD5');
      await expect400(post('transit/keys/x1/import', { ciphertext: aes, hash_function: 'SHA1' }), 'crypto/rsa: decryption error');
      await expect400(post('transit/keys/x1/import', { ciphertext: b64(randomBytes(100)) }), 'provided ciphertext is too short');
      await expect400(post('transit/keys/x1/import', { ciphertext: 'abc$' }), 'illegal base64 data at input byte 3');
      await expect400(
        post('transit/keys/x1/import', { ciphertext: opensslWrap(await wrappingKey('transit2'), randomBytes(32)) }),
        'crypto/rsa: decryption error',
      );
      await expect400(
        post('transit/keys/x1/import', { ciphertext: opensslWrap(wrapping, randomBytes(16)) }),
        'error importing key: invalid key size 16 bytes for key type aes256-gcm96',
      );
      const p384 = opensslKey('EC', 'ec_paramgen_curve:P-384');
      await expect400(
        post('transit/keys/x1/import', { type: 'ecdsa-p256', ciphertext: opensslWrap(wrapping, p384.der) }),
        'error importing key: invalid curve: expected P-256, got P-384',
      );
      await expect400(
        post('transit/keys/x1/import', { ciphertext: aes, convergent_encryption: true }),
        'import cannot be used on keys with convergent encryption enabled',
      );
      await expect400(
        post('transit/keys/x1/import', { ciphertext: aes, auto_rotate_period: '2h' }),
        'allow_rotation must be set to true if auto-rotation is enabled',
      );
      await expect400(
        post('transit/keys/x1/import', { ciphertext: aes, public_key: 'x' }),
        'only one of the following fields, ciphertext and public_key, can be set',
      );
      await expect400(post('transit/keys/x1/import', { type: 'aes256-gcm96', public_key: 'x' }), 'provided type does not support public_key import');
      expect((await get('transit/keys/x1')).status).toBe(404);
      await post('transit/keys/native');
      await expect400(post('transit/keys/native/import_version', { ciphertext: aes }), 'the import_version endpoint can only be used with an imported key');
      await expect400(
        post('transit/keys/none/import_version', { ciphertext: aes }),
        'no key found with name none; to import a new key, use the import/ endpoint',
      );
    });

    it('an imported key with allow_rotation rotates, and its backup restores on another mount', async () => {
      const key = randomBytes(32);
      const ciphertext = opensslWrap(await wrappingKey('transit'), key);
      const body = { ciphertext, allow_rotation: true, exportable: true, allow_plaintext_backup: true, auto_rotate_period: '2h' };
      expect((await post('transit/keys/imp-rot/import', body)).status).toBe(204);
      expect((await post('transit/keys/imp-rot/rotate')).status).toBe(200);
      const backup = (await get('transit/backup/imp-rot')).body.data.backup as string;
      expect((await post('transit2/restore', { backup })).status).toBe(204);
      expect(await decrypt('transit2', 'imp-rot', aesGcm(key, 1, 'imported then moved'))).toBe('imported then moved');
      expect((await get('transit2/keys/imp-rot')).body.data).toMatchObject({ latest_version: 2, auto_rotate_period: 7200 });
    });
  });
});
