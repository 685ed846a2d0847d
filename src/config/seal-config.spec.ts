import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CKM_AES_GCM, CKM_RSA_PKCS_OAEP } from '../kernel/seal/seal-settings';
import { parseHcl } from './hcl';
import { sealConfigFrom } from './seal-config';

const PIN = 'Hsm-Pin-0417';
const stanza = (body: string, label = 'pkcs11') => parseHcl(`seal "${label}" {\n${body}\n}`);
const HSM = `lib = "/usr/lib/softhsm/libsofthsm2.so"\ntoken_label = "vault"\npin = "${PIN}"\nkey_label = "root"`;

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('seal stanzas', () => {
  it('no stanza is Shamir', () => {
    expect(sealConfigFrom({}, {})).toEqual({ active: { type: 'shamir' } });
  });

  it("reads Vault's pkcs11 names, mechanism as 0x hex or name, key_id hex, generate_key as a string", () => {
    const c = sealConfigFrom(stanza(`${HSM}\nmechanism = "0x1087"\nkey_id = "0x0A1B"\ngenerate_key = "true"`), {});
    expect(c.active).toEqual({
      type: 'pkcs11',
      lib: '/usr/lib/softhsm/libsofthsm2.so',
      tokenLabel: 'vault',
      pin: PIN,
      keyLabel: 'root',
      keyId: '0a1b',
      mechanism: CKM_AES_GCM,
      rsaOaepHash: 'sha256',
      generateKey: true,
    });
    expect(sealConfigFrom(stanza(`${HSM}\nmechanism = "CKM_RSA_PKCS_OAEP"\nrsa_oaep_hash = "sha1"`), {}).active).toMatchObject({
      mechanism: CKM_RSA_PKCS_OAEP,
      rsaOaepHash: 'sha1',
    });
    expect(sealConfigFrom(stanza(`lib = "/l.so"\nslot = "2305843009213693953"\npin = "1"\nkey_id = "01"`), {}).active).toMatchObject({
      slot: 2305843009213693953n,
    });
  });

  it('the environment wins over the file: SECRETHUB_HSM_, then BAO_HSM_, then VAULT_HSM_', () => {
    const env = { VAULT_HSM_KEY_LABEL: 'from-vault', BAO_HSM_KEY_LABEL: 'from-bao', VAULT_HSM_PIN: 'env-pin', SECRETHUB_HSM_GENERATE_KEY: 'true' };
    expect(sealConfigFrom(stanza(HSM), env).active).toMatchObject({ keyLabel: 'from-bao', pin: 'env-pin', generateKey: true });
    const onlyEnv = { VAULT_SEAL_TYPE: 'pkcs11', VAULT_HSM_LIB: '/l.so', VAULT_HSM_SLOT: '0x10', VAULT_HSM_PIN: 'p', VAULT_HSM_KEY_LABEL: 'k' };
    expect(sealConfigFrom({}, onlyEnv).active).toMatchObject({ type: 'pkcs11', lib: '/l.so', slot: 16n, keyLabel: 'k' });
  });

  it('the PIN can come from env:// or file://', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seal-pin-'));
    writeFileSync(join(dir, 'pin'), `${PIN}\n`);
    const fromFile = sealConfigFrom(stanza(HSM.replace(`pin = "${PIN}"`, `pin = "file://${join(dir, 'pin')}"`)), {});
    expect(fromFile.active).toMatchObject({ pin: PIN });
    const fromEnv = sealConfigFrom(stanza(HSM.replace(`pin = "${PIN}"`, 'pin = "env://MY_PIN"')), { MY_PIN: PIN });
    expect(fromEnv.active).toMatchObject({ pin: PIN });
  });

  it('a disabled stanza is the seal being migrated from', () => {
    const toShamir = sealConfigFrom(stanza(`${HSM}\ndisabled = "true"`), {});
    expect(toShamir.active).toEqual({ type: 'shamir' });
    expect(toShamir.disabled).toMatchObject({ type: 'pkcs11', keyLabel: 'root' });
    const rotate = sealConfigFrom(parseHcl(`seal "pkcs11" {\n${HSM}\ndisabled = true\n}\nseal "pkcs11" {\n${HSM.replace('"root"', '"root-2"')}\n}`), {});
    expect(rotate.active).toMatchObject({ keyLabel: 'root-2' });
    expect(rotate.disabled).toMatchObject({ keyLabel: 'root' });
  });

  it('refuses what Vault refuses, naming the setting and never the PIN', () => {
    const cases: [string, RegExp][] = [
      [HSM.replace('lib = "/usr/lib/softhsm/libsofthsm2.so"', ''), /lib is required/],
      [HSM.replace('token_label = "vault"', ''), /slot or token_label is required/],
      [`${HSM}\nslot = "1"`, /slot or token_label, not both/],
      [HSM.replace(`pin = "${PIN}"`, ''), /pin is required/],
      [HSM.replace('key_label = "root"', ''), /key_label or key_id is required/],
      [`${HSM}\nmechanism = "0x1085"`, /deprecated mechanism/],
      [`${HSM}\nmechanism = "0x1234"`, /unsupported mechanism/],
      [`${HSM}\nrsa_oaep_hash = "md5"`, /rsa_oaep_hash/],
      [`${HSM}\nkey_id = "xyz"`, /key_id: expected hex/],
      [`${HSM}\nslot = "-1"`.replace('token_label = "vault"', ''), /slot: expected a slot number/],
    ];
    for (const [body, expected] of cases) {
      const message = configError(() => sealConfigFrom(stanza(body), {}));
      expect(message).toMatch(expected);
      expect(message).not.toContain(PIN);
    }
    expect(configError(() => sealConfigFrom(stanza('', 'awskms'), {}))).toMatch(/only "pkcs11" and "shamir"/);
    expect(configError(() => sealConfigFrom(parseHcl(`seal "pkcs11" {\n${HSM}\n}\nseal "pkcs11" {\n${HSM}\n}`), {}))).toMatch(/neither is disabled/);
    expect(configError(() => sealConfigFrom(stanza('disabled = "true"', 'shamir'), {}))).toMatch(/Shamir seals cannot be set disabled/);
    expect(configError(() => sealConfigFrom(stanza(HSM.replace(`pin = "${PIN}"`, 'pin = "env://NOPE"')), {}))).toMatch(/NOPE is not set/);
  });
});
