/**
 * A managed key write (Vault's sys/managed-keys/pkcs11/:name fields) checked and merged over the
 * stored key. Every failure is a 400 naming the field; no message carries the PIN.
 *
 * Invariants of a record this returns: exactly one of slot and tokenLabel; at least one of keyLabel
 * and keyId; a known kms_library (by its configured spelling); usages non-empty and known; with
 * allow_generate_key, what generation needs (key_label, key_bits for RSA, curve for ECDSA).
 */
import { randomUUID } from 'node:crypto';
import { badRequest } from '../errors';
import { findKmsLibrary, type KmsLibrary } from './kms-library';
import type { ManagedKeyRecord, ManagedKeyUsage } from './managed-key.repository';

export const MANAGED_KEY_USAGES: readonly ManagedKeyUsage[] = ['encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap', 'mac', 'random'];
/** Vault's default usages. */
const DEFAULT_USAGES: ManagedKeyUsage[] = ['sign', 'verify'];
const CURVES = ['P256', 'P384', 'P521'] as const;
const RSA_BITS = [2048, 3072, 4096];
/** Name rule (also the table's CHECK): one path segment, lowercase. */
const NAME = /^[a-z0-9][a-z0-9_.-]*$/;

export const CKM_RSA_PKCS = 0x0001;
export const CKM_RSA_PKCS_OAEP = 0x0009;
export const CKM_RSA_PKCS_PSS = 0x000d;
export const CKM_ECDSA = 0x1041;
export const CKM_AES_GCM = 0x1087;

/** RSA mechanisms (PKCS#1, X.509, OAEP, PSS and their hashed variants). */
const RSA_MECHANISMS = new Set([0x0001, 0x0003, 0x0006, 0x0009, 0x000d, 0x000e, 0x0040, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047]);
/** CKM_ECDSA and CKM_ECDSA_SHA1 … CKM_ECDSA_SHA512. */
const EC_MECHANISMS = new Set([0x1041, 0x1042, 0x1043, 0x1044, 0x1045, 0x1046]);

export type KeyKind = 'rsa' | 'ec' | 'aes' | 'other';

/** What kind of key a mechanism needs (AES: CKM_AES_* 0x1080-0x108F and the AES key wraps). */
export function keyKindOf(mechanism: number): KeyKind {
  if (RSA_MECHANISMS.has(mechanism)) return 'rsa';
  if (EC_MECHANISMS.has(mechanism)) return 'ec';
  if ((mechanism >= 0x1080 && mechanism <= 0x108f) || mechanism === 0x2109 || mechanism === 0x210a) return 'aes';
  return 'other';
}

/** The API's fields, after the route's coercion; undefined = not given. An empty string clears an optional string. */
export interface ManagedKeyInput {
  library?: string;
  slot?: string;
  token_label?: string;
  pin?: string;
  key_label?: string;
  key_id?: string;
  mechanism?: unknown;
  key_bits?: number;
  curve?: string;
  allow_generate_key?: boolean;
  allow_replace_key?: boolean;
  allow_store_key?: boolean;
  any_mount?: boolean;
  usages?: string[];
}

/** Managed key names are lowercase (Vault: "a unique lowercase name"); lookups fold case. */
export function managedKeyName(name: string): string {
  const n = name.trim().toLowerCase();
  if (!NAME.test(n)) throw badRequest(`invalid managed key name "${name}": letters, digits, '-', '_' and '.', starting with a letter or digit`);
  return n;
}

function parseMechanism(value: unknown): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (!/^(0x[0-9a-f]{1,16}|\d{1,20})$/i.test(text)) throw badRequest('mechanism: expected a hexadecimal (0x0001) or decimal PKCS#11 mechanism number');
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw badRequest('mechanism: the number is too large');
  return n;
}

function parseSlot(text: string): string {
  const t = text.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw badRequest('slot: expected a slot number (decimal, or 0x hex)');
  const slot = BigInt(t);
  if (slot >= 1n << 64n) throw badRequest('slot: the slot number does not fit in 64 bits');
  return slot.toString();
}

function parseKeyId(text: string): string {
  const hex = text.trim().replace(/^0x/i, '');
  if (!/^([0-9a-f]{2})+$/i.test(hex)) throw badRequest('key_id: expected hex bytes (e.g. "0x0a1b")');
  return hex.toLowerCase();
}

function parseUsages(list: string[]): ManagedKeyUsage[] {
  const usages = [...new Set(list.map((u) => u.trim().toLowerCase()).filter((u) => u !== ''))];
  for (const u of usages)
    if (!(MANAGED_KEY_USAGES as readonly string[]).includes(u)) throw badRequest(`usages: "${u}" is not one of ${MANAGED_KEY_USAGES.join(', ')}`);
  if (usages.length === 0) throw badRequest('usages: at least one usage is required');
  return usages as ManagedKeyUsage[];
}

/** `given` when defined: '' clears (undefined), anything else through `parse`. */
function optional<T>(given: string | undefined, previous: T | undefined, parse: (v: string) => T): T | undefined {
  if (given === undefined) return previous;
  return given.trim() === '' ? undefined : parse(given);
}

/**
 * The record to store for a write of `name` with `input` over `previous` (undefined: a create, which
 * needs library, pin and mechanism). Giving slot clears token_label and the other way round.
 */
export function mergeManagedKey(
  name: string,
  input: ManagedKeyInput,
  previous: ManagedKeyRecord | undefined,
  libraries: readonly KmsLibrary[],
): ManagedKeyRecord {
  if (!previous && !input.pin) throw badRequest('pin is required');
  if (input.pin !== undefined && input.pin === '') throw badRequest('pin: an empty PIN is not accepted');
  const libraryName = input.library ?? previous?.library;
  if (!libraryName) throw badRequest('library is required: the name of a kms_library stanza of the server configuration');
  const library = findKmsLibrary(libraries, libraryName);
  if (!library) throw badRequest(`library "${libraryName}" is not a kms_library of the server configuration`);
  if (input.slot !== undefined && input.token_label !== undefined && input.slot !== '' && input.token_label !== '')
    throw badRequest('set slot or token_label, not both');
  let slot = previous?.slot;
  let tokenLabel = previous?.tokenLabel;
  if (input.slot !== undefined) [slot, tokenLabel] = [optional(input.slot, undefined, parseSlot), input.slot === '' ? tokenLabel : undefined];
  if (input.token_label !== undefined) [tokenLabel, slot] = [optional(input.token_label, undefined, (v) => v), input.token_label === '' ? slot : undefined];
  if (slot === undefined && tokenLabel === undefined) throw badRequest('slot or token_label is required');
  const keyLabel = optional(input.key_label, previous?.keyLabel, (v) => v);
  const keyId = optional(input.key_id, previous?.keyId, parseKeyId);
  if (keyLabel === undefined && keyId === undefined) throw badRequest('key_label or key_id is required');
  if (input.mechanism === undefined && !previous) throw badRequest('mechanism is required');
  const mechanism = input.mechanism !== undefined ? parseMechanism(input.mechanism) : previous!.mechanism;
  const kind = keyKindOf(mechanism);
  const keyBits = input.key_bits !== undefined ? (input.key_bits === 0 ? undefined : input.key_bits) : previous?.keyBits;
  if (keyBits !== undefined && kind === 'rsa' && !RSA_BITS.includes(keyBits)) throw badRequest(`key_bits: RSA keys are ${RSA_BITS.join(', ')} bits`);
  if (keyBits !== undefined && kind === 'aes' && keyBits !== 256) throw badRequest('key_bits: AES keys are 256 bits');
  if (keyBits !== undefined && keyBits < 0) throw badRequest('key_bits: expected a positive number of bits');
  const curve = optional(input.curve, previous?.curve, (v) => {
    const c = v.trim().toUpperCase().replace('-', '') as ManagedKeyRecord['curve'];
    if (!CURVES.includes(c!)) throw badRequest(`curve: expected one of ${CURVES.join(', ')}`);
    return c;
  });
  const record: ManagedKeyRecord = {
    id: previous?.id ?? randomUUID(),
    name,
    type: 'pkcs11',
    library: library.name,
    ...(slot !== undefined ? { slot } : { tokenLabel }),
    ...(keyLabel !== undefined ? { keyLabel } : {}),
    ...(keyId !== undefined ? { keyId } : {}),
    mechanism,
    ...(keyBits !== undefined ? { keyBits } : {}),
    ...(curve !== undefined ? { curve } : {}),
    allowGenerateKey: input.allow_generate_key ?? previous?.allowGenerateKey ?? false,
    allowReplaceKey: input.allow_replace_key ?? previous?.allowReplaceKey ?? false,
    allowStoreKey: input.allow_store_key ?? previous?.allowStoreKey ?? false,
    anyMount: input.any_mount ?? previous?.anyMount ?? false,
    usages: input.usages !== undefined ? parseUsages(input.usages) : (previous?.usages ?? DEFAULT_USAGES),
  };
  if (record.allowGenerateKey) checkGeneratable(record, kind);
  return record;
}

/** What allow_generate_key needs: a key_label, and key_bits for RSA or curve for ECDSA. */
function checkGeneratable(r: ManagedKeyRecord, kind: KeyKind): void {
  if (kind === 'ec' && !r.curve) throw badRequest(`curve is required to generate an ECDSA key (${CURVES.join(', ')})`);
  if (kind === 'other')
    throw badRequest('allow_generate_key: keys can be generated only for RSA mechanisms (0x0001, 0x0009, 0x000D), ECDSA ones (0x1041) and AES ones');
  if (!r.keyLabel) throw badRequest('allow_generate_key needs key_label (key ids are given by the HSM)');
  if (kind === 'rsa' && r.keyBits === undefined) throw badRequest(`key_bits is required to generate an RSA key (${RSA_BITS.join(', ')})`);
}

/** Vault's managed_key_name or managed_key_id, as engines take a managed key: exactly one (Vault's getManagedKeyNameOrUUID and its messages). */
export function managedKeyRef(d: { managed_key_name?: string; managed_key_id?: string }): string {
  const name = (d.managed_key_name ?? '').trim();
  const id = (d.managed_key_id ?? '').trim();
  if (!name && !id) throw badRequest('missing argument managed_key_name or managed_key_id');
  if (name && id) throw badRequest('only one argument of managed_key_name or managed_key_id should be specified');
  return id || name;
}
