/**
 * The `seal` stanzas, Vault's names: `seal "pkcs11" { lib, slot | token_label, pin, key_label,
 * key_id, mechanism, rsa_oaep_hash, generate_key, disabled }` and `seal "shamir" {}`. At most two
 * stanzas, exactly one of them enabled when there are two (a migration). A set environment variable
 * wins over the file, as in Vault and OpenBao: SECRETHUB_HSM_<NAME>, else BAO_HSM_<NAME>, else
 * VAULT_HSM_<NAME>; <PREFIX>_SEAL_TYPE=pkcs11 alone makes a pkcs11 seal without a stanza. The PIN
 * may be `env://VARIABLE` or `file:///path` so that it need not sit in the file. No error message
 * carries the PIN.
 */
import { readFileSync } from 'node:fs';
import {
  CKM_AES_GCM,
  CKM_RSA_PKCS_OAEP,
  type OaepHash,
  type Pkcs11SealSettings,
  type SealConfiguration,
  type SealMechanism,
  type SealSettings,
} from '../kernel/seal/seal-settings';
import { blocks, bool, str, type Doc } from './config-doc';
import { ConfigError } from './config-error';

const ENV_PREFIXES = ['SECRETHUB', 'BAO', 'VAULT'] as const;
const OAEP_HASHES: readonly OaepHash[] = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'];
const MECHANISM_NAMES: Record<string, SealMechanism> = {
  CKM_AES_GCM: CKM_AES_GCM,
  AES_GCM: CKM_AES_GCM,
  CKM_RSA_PKCS_OAEP: CKM_RSA_PKCS_OAEP,
  RSA_PKCS_OAEP: CKM_RSA_PKCS_OAEP,
};
/** CBC modes and PKCS#1 v1.5 encryption: refused, as OpenBao does. */
const DEPRECATED_MECHANISMS = new Set([0x0001, 0x1082, 0x1085]);
const WHERE = 'seal "pkcs11"';

/** `<PREFIX>_<suffix>` for the first prefix that sets it (SECRETHUB, then BAO, then VAULT). */
function fromEnv(env: NodeJS.ProcessEnv, suffix: string): string | undefined {
  for (const prefix of ENV_PREFIXES) {
    const v = env[`${prefix}_${suffix}`];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

function parseMechanism(text: string): SealMechanism {
  const named = MECHANISM_NAMES[text.trim().toUpperCase()];
  if (named !== undefined) return named;
  const n = /^(0x[0-9a-f]+|\d+)$/i.test(text.trim()) ? Number(text.trim()) : NaN;
  if (n === CKM_AES_GCM || n === CKM_RSA_PKCS_OAEP) return n;
  if (DEPRECATED_MECHANISMS.has(n))
    throw new ConfigError(`${WHERE}.mechanism: deprecated mechanism ${text}: use 0x1087 (CKM_AES_GCM) or 0x0009 (CKM_RSA_PKCS_OAEP)`);
  throw new ConfigError(`${WHERE}.mechanism: unsupported mechanism ${text}: use 0x1087 (CKM_AES_GCM) or 0x0009 (CKM_RSA_PKCS_OAEP)`);
}

function parseSlot(text: string): bigint {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text.trim())) throw new ConfigError(`${WHERE}.slot: expected a slot number (decimal or 0x hex)`);
  const slot = BigInt(text.trim());
  if (slot >= 1n << 64n) throw new ConfigError(`${WHERE}.slot: the slot number does not fit in 64 bits`);
  return slot;
}

function parseKeyId(text: string): string {
  const hex = text.trim().replace(/^0x/i, '');
  if (!/^([0-9a-f]{2})+$/i.test(hex)) throw new ConfigError(`${WHERE}.key_id: expected hex bytes (e.g. "0x0a1b")`);
  return hex.toLowerCase();
}

/** `env://NAME` or `file:///path` is resolved; anything else is the PIN itself. */
function resolvePin(text: string, env: NodeJS.ProcessEnv): string {
  if (text.startsWith('env://')) {
    const name = text.slice('env://'.length);
    const v = env[name];
    if (v === undefined || v === '') throw new ConfigError(`${WHERE}.pin: environment variable ${name} is not set`);
    return v;
  }
  if (text.startsWith('file://')) {
    const path = text.slice('file://'.length);
    try {
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(`${WHERE}.pin: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return text;
}

function pkcs11From(body: Doc, env: NodeJS.ProcessEnv, withEnv: boolean): Pkcs11SealSettings {
  const get = (key: string, envName: string): string | undefined => (withEnv ? fromEnv(env, `HSM_${envName}`) : undefined) ?? str(body, key, WHERE);
  const lib = get('lib', 'LIB');
  if (!lib) throw new ConfigError(`${WHERE}: lib is required`);
  const slotText = get('slot', 'SLOT');
  const tokenLabel = get('token_label', 'TOKEN_LABEL');
  if (slotText === undefined && tokenLabel === undefined) throw new ConfigError(`${WHERE}: slot or token_label is required`);
  if (slotText !== undefined && tokenLabel !== undefined) throw new ConfigError(`${WHERE}: set slot or token_label, not both`);
  const pinText = get('pin', 'PIN');
  if (!pinText) throw new ConfigError(`${WHERE}: pin is required`);
  const keyLabel = get('key_label', 'KEY_LABEL');
  const keyIdText = get('key_id', 'KEY_ID');
  if (!keyLabel && !keyIdText) throw new ConfigError(`${WHERE}: key_label or key_id is required`);
  const mechanismText = get('mechanism', 'MECHANISM');
  const hash = (get('rsa_oaep_hash', 'RSA_OAEP_HASH') ?? 'sha256').toLowerCase();
  if (!(OAEP_HASHES as readonly string[]).includes(hash)) throw new ConfigError(`${WHERE}.rsa_oaep_hash: expected one of ${OAEP_HASHES.join(', ')}`);
  const generateText = withEnv ? fromEnv(env, 'HSM_GENERATE_KEY') : undefined;
  const generateKey =
    generateText !== undefined ? bool({ generate_key: generateText }, 'generate_key', WHERE, false) : bool(body, 'generate_key', WHERE, false);
  if (generateKey && !keyLabel) throw new ConfigError(`${WHERE}: generate_key needs key_label`);
  return {
    type: 'pkcs11',
    lib,
    ...(slotText !== undefined ? { slot: parseSlot(slotText) } : { tokenLabel }),
    pin: resolvePin(pinText, env),
    ...(keyLabel ? { keyLabel } : {}),
    ...(keyIdText ? { keyId: parseKeyId(keyIdText) } : {}),
    ...(mechanismText !== undefined ? { mechanism: parseMechanism(mechanismText) } : {}),
    rsaOaepHash: hash as OaepHash,
    generateKey,
  };
}

export function sealConfigFrom(doc: Doc, env: NodeJS.ProcessEnv): SealConfiguration {
  const stanzas = blocks(doc, 'seal');
  if (stanzas.length === 0) {
    const type = fromEnv(env, 'SEAL_TYPE');
    if (type === undefined || type === 'shamir') return { active: { type: 'shamir' } };
    if (type !== 'pkcs11') throw new ConfigError(`seal type "${type}" (environment): only "pkcs11" and "shamir" are supported`);
    return { active: pkcs11From({}, env, true) };
  }
  if (stanzas.length > 2) throw new ConfigError('seal: at most two seal stanzas (the new seal and the disabled one being migrated from)');
  for (const s of stanzas) {
    if (s.label !== 'pkcs11' && s.label !== 'shamir') throw new ConfigError(`seal "${s.label}": only "pkcs11" and "shamir" are supported`);
  }
  const disabled = stanzas.map((s) => bool(s.body, 'disabled', `seal "${s.label}"`, false));
  if (stanzas.length === 2 && disabled[0] === disabled[1])
    throw new ConfigError(disabled[0] ? 'seal: two seals provided but both are disabled' : 'seal: two seals provided but neither is disabled');
  stanzas.forEach((s, i) => {
    if (s.label === 'shamir' && disabled[i]) throw new ConfigError('seal "shamir": Shamir seals cannot be set disabled (they should simply not be set)');
  });
  const enabledIndex = disabled.indexOf(false);
  // The environment configures the enabled pkcs11 seal (or the only one, when it is the disabled one).
  const envIndex = enabledIndex >= 0 && stanzas[enabledIndex].label === 'pkcs11' ? enabledIndex : stanzas.length === 1 ? 0 : -1;
  const settings = stanzas.map((s, i): SealSettings => (s.label === 'shamir' ? { type: 'shamir' } : pkcs11From(s.body, env, i === envIndex)));
  if (enabledIndex < 0) return { active: { type: 'shamir' }, disabled: settings[0] as Pkcs11SealSettings };
  const active = settings[enabledIndex];
  const old = settings.find((_, i) => i !== enabledIndex);
  return old ? { active, disabled: old as Pkcs11SealSettings } : { active };
}
