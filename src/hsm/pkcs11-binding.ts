/**
 * The pkcs11js binding, loaded on first use.
 *
 * pkcs11js is an optionalDependency with a native part: where it is not installed or could not be
 * built, nothing of it is loaded at startup, the server starts, and only a PKCS#11 operation fails,
 * with HsmError 'binding-missing'. So this module is the only place that names pkcs11js, and it does
 * so with `require` inside try/catch, never with a static import; the types below describe the
 * subset of its API this layer uses, so that type-checking does not need the package either.
 *
 * Invariants: the binding is loaded at most once per process (success or failure is remembered);
 * every constant listed in CONSTANTS is checked to be a number when it loads, so a pkcs11js
 * without one fails here, once, rather than as `undefined` inside a template.
 */
import { HsmError, oneLine } from './hsm-error';

/** A PKCS#11 handle (slot, session, object): pkcs11js passes CK_ULONGs as native-endian Buffers. */
export type Handle = Buffer;

export interface Attribute {
  type: number;
  value?: number | boolean | string | Buffer;
}

export interface AttributeResult {
  type: number;
  value: Buffer;
}

export interface Mechanism {
  mechanism: number;
  parameter?: Buffer | number | { type: number; [field: string]: unknown };
}

export interface TokenInfo {
  /** Space-padded to 32 characters. */
  label: string;
  serialNumber: string;
  flags: number;
}

export interface SessionInfo {
  slotID: Handle;
  state: number;
  flags: number;
}

/** The methods of pkcs11js's `PKCS11` class this layer calls (synchronous forms, but C_Sign's callback form). */
export interface Pkcs11Module {
  load(path: string): void;
  close(): void;
  C_Initialize(options?: { flags?: number }): void;
  C_Finalize(): void;
  C_GetSlotList(tokenPresent?: boolean): Handle[];
  C_GetTokenInfo(slot: Handle): TokenInfo;
  C_OpenSession(slot: Handle, flags: number): Handle;
  C_CloseSession(session: Handle): void;
  C_GetSessionInfo(session: Handle): SessionInfo;
  C_Login(session: Handle, userType: number, pin?: string): void;
  C_FindObjectsInit(session: Handle, template: Attribute[]): void;
  C_FindObjects(session: Handle, maxObjectCount: number): Handle[];
  C_FindObjectsFinal(session: Handle): void;
  C_GetAttributeValue(session: Handle, object: Handle, template: Attribute[]): AttributeResult[];
  C_GenerateKey(session: Handle, mechanism: Mechanism, template: Attribute[]): Handle;
  C_GenerateKeyPair(
    session: Handle,
    mechanism: Mechanism,
    publicTemplate: Attribute[],
    privateTemplate: Attribute[],
  ): { publicKey: Handle; privateKey: Handle };
  C_EncryptInit(session: Handle, mechanism: Mechanism, key: Handle): void;
  C_Encrypt(session: Handle, inData: Buffer, outData: Buffer): Buffer;
  C_DecryptInit(session: Handle, mechanism: Mechanism, key: Handle): void;
  C_Decrypt(session: Handle, inData: Buffer, outData: Buffer): Buffer;
  C_GenerateRandom(session: Handle, buf: Buffer): Buffer;
  C_SignInit(session: Handle, mechanism: Mechanism, key: Handle): void;
  /** With `cb`, pkcs11js runs C_Sign on a libuv worker thread and calls back on the event loop. */
  C_Sign(session: Handle, inData: Buffer, outData: Buffer, cb: (error: Error | null, signature: Buffer) => void): void;
}

/** The pkcs11js constants this layer uses; each is checked to be a number at load. */
const CONSTANTS = [
  'CKF_OS_LOCKING_OK',
  'CKF_SERIAL_SESSION',
  'CKF_RW_SESSION',
  'CKF_TOKEN_INITIALIZED',
  'CKF_USER_PIN_LOCKED',
  'CKU_USER',
  'CKA_CLASS',
  'CKA_KEY_TYPE',
  'CKA_LABEL',
  'CKA_ID',
  'CKA_TOKEN',
  'CKA_PRIVATE',
  'CKA_SENSITIVE',
  'CKA_EXTRACTABLE',
  'CKA_ENCRYPT',
  'CKA_DECRYPT',
  'CKA_WRAP',
  'CKA_UNWRAP',
  'CKA_SIGN',
  'CKA_VERIFY',
  'CKA_VALUE_LEN',
  'CKA_MODULUS',
  'CKA_MODULUS_BITS',
  'CKA_PUBLIC_EXPONENT',
  'CKA_EC_PARAMS',
  'CKA_EC_POINT',
  'CKO_SECRET_KEY',
  'CKO_PUBLIC_KEY',
  'CKO_PRIVATE_KEY',
  'CKK_AES',
  'CKK_RSA',
  'CKK_EC',
  'CKM_AES_KEY_GEN',
  'CKM_AES_GCM',
  'CKM_RSA_PKCS_KEY_PAIR_GEN',
  'CKM_RSA_PKCS_OAEP',
  'CKM_EC_KEY_PAIR_GEN',
  'CKM_ECDSA',
  'CKM_SHA256_RSA_PKCS',
  'CKM_SHA384_RSA_PKCS',
  'CKM_SHA512_RSA_PKCS',
  'CKM_SHA256_RSA_PKCS_PSS',
  'CKM_SHA384_RSA_PKCS_PSS',
  'CKM_SHA512_RSA_PKCS_PSS',
  'CKM_SHA_1',
  'CKM_SHA224',
  'CKM_SHA256',
  'CKM_SHA384',
  'CKM_SHA512',
  'CKG_MGF1_SHA1',
  'CKG_MGF1_SHA224',
  'CKG_MGF1_SHA256',
  'CKG_MGF1_SHA384',
  'CKG_MGF1_SHA512',
  'CK_PARAMS_GCM',
  'CK_PARAMS_RSA_OAEP',
  'CK_PARAMS_RSA_PSS',
] as const;

export type Pkcs11Constants = Record<(typeof CONSTANTS)[number], number>;

/** Values pkcs11js 2.1.7 does not export (standard PKCS#11 values). */
export const CKZ_DATA_SPECIFIED = 1;
/** CK_STATE of a session: read-only / read-write user functions (logged in as CKU_USER). */
export const CKS_RO_USER_FUNCTIONS = 1;
export const CKS_RW_USER_FUNCTIONS = 3;

export interface Pkcs11Binding extends Pkcs11Constants {
  PKCS11: new () => Pkcs11Module;
}

const MISSING = 'the PKCS#11 binding (pkcs11js) is not installed or could not be built';

let loaded: { binding: Pkcs11Binding } | { error: HsmError } | undefined;

/** The binding; HsmError 'binding-missing' when it cannot be loaded (every call, same error). */
export function pkcs11Binding(): Pkcs11Binding {
  loaded ??= load();
  if ('error' in loaded) throw loaded.error;
  return loaded.binding;
}

/** Why the binding cannot be loaded, or undefined when it can (loads it). */
export function pkcs11BindingUnavailable(): string | undefined {
  try {
    pkcs11Binding();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function load(): { binding: Pkcs11Binding } | { error: HsmError } {
  let mod: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional native dependency, loaded on first use (see above)
    mod = require('pkcs11js') as Record<string, unknown>;
  } catch (err) {
    const reason = err instanceof Error ? oneLine(err.message) : String(err);
    return { error: new HsmError('binding-missing', `${MISSING}: ${reason}`, undefined, { cause: err }) };
  }
  if (typeof mod.PKCS11 !== 'function') return { error: new HsmError('binding-missing', `${MISSING}: it exports no PKCS11 class`) };
  const absent = CONSTANTS.filter((name) => typeof mod[name] !== 'number');
  if (absent.length > 0) return { error: new HsmError('binding-missing', `${MISSING}: it lacks the constants ${absent.join(', ')}`) };
  return { binding: mod as unknown as Pkcs11Binding };
}
