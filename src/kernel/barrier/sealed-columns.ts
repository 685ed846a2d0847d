/**
 * Every barrier-sealed value the server stores, with the location (AAD) its values are bound to.
 *
 * Invariants:
 * - for each column, distinct row keys give distinct locations, and no two columns share one;
 * - a location is part of every stored ciphertext's authentication: changing a grammar here makes
 *   every stored value of that column unreadable. These are the grammars the values were first
 *   written with (several predate the `table/column/row key` form) and must stay as they are until
 *   a job re-seals the stored rows.
 * - only data here: the kernel names engines' tables but imports none of their code.
 */
import { declareSealedColumn } from './sealed-column';

const hex = (b: Buffer) => b.toString('hex');

/** Kernel secrets (HMAC keys, signing keys, audit address keys), by name. */
export const KERNEL_SECRET_VALUE = declareSealedColumn<string>('kernel_secrets', 'value_ciphertext', (name) => `kernel_secrets/value_ciphertext/${name}`);

/** A service token's accessor, by the token's HMAC. */
export const TOKEN_ACCESSOR = declareSealedColumn<Buffer>('tokens', 'accessor_ciphertext', (tokenHmac) => `tokens/accessor_ciphertext/${hex(tokenHmac)}`);

/** A lease's engine data (`internal`), by lease id. */
export const LEASE_CREDENTIALS = declareSealedColumn<string>('leases', 'credentials_ciphertext', (leaseId) => `leases/${leaseId}`);

/** A lease's client address, by lease id (stored as base64 text). */
export const LEASE_SOURCE_IP = declareSealedColumn<string>('leases', 'source_ip', (leaseId) => `leases/${leaseId}/source_ip`);

/** A cubbyhole value, by owning token HMAC and path. */
export const CUBBYHOLE_VALUE = declareSealedColumn<{ tokenHmac: Buffer; path: string }>(
  'cubbyhole_entries',
  'value_ciphertext',
  (k) => `cubbyhole/${hex(k.tokenHmac)}/${k.path}`,
);

/** An audit device's HMAC salt, by device uuid. */
export const AUDIT_DEVICE_SALT = declareSealedColumn<string>('audit_devices', 'salt_ciphertext', (uuid) => `audit_devices/salt_ciphertext/${uuid}`);

/** A KV v1 value, by mount and path. */
export const KV_V1_VALUE = declareSealedColumn<{ mountUuid: string; path: string }>(
  'secrets',
  'encrypted_data',
  (k) => `secrets/${k.mountUuid}/kv-v1/${k.path}`,
);

/** A KV v2 version's value, by mount, path and version. */
export const KV_V2_VALUE = declareSealedColumn<{ mountUuid: string; path: string; version: number }>(
  'secret_versions',
  'encrypted_data',
  (k) => `secrets/${k.mountUuid}/kv-v2/v${k.version}/${k.path}`,
);

/** A userpass user's argon2id hash, by mount and (normalised) username. */
export const USERPASS_PASSWORD = declareSealedColumn<{ mountUuid: string; username: string }>(
  'userpass_users',
  'password_ciphertext',
  (k) => `userpass/${k.mountUuid}/users/${k.username}/password`,
);

/** An AppRole secret ID's accessor, by the secret ID's HMAC. */
export const SECRET_ID_ACCESSOR = declareSealedColumn<Buffer>(
  'secret_ids',
  'accessor_ciphertext',
  (secretIdHmac) => `secret_ids/accessor_ciphertext/${hex(secretIdHmac)}`,
);

/**
 * An engine's configuration object, by mount, kind and name. The location keeps the form it had
 * before the table was generalised from database connections (`…/database/…`).
 */
export const ENGINE_OBJECT_VALUE = declareSealedColumn<{ mountUuid: string; kind: string; name: string }>(
  'engine_objects',
  'value_ciphertext',
  (k) => `secrets/${k.mountUuid}/database/${k.kind}/${k.name}`,
);

/** A pki key's PKCS#8 DER, by mount and key id (the first increment's keys keep their serial as id). */
export const PKI_PRIVATE_KEY = declareSealedColumn<{ mountUuid: string; keyId: string }>(
  'pki_keys',
  'private_key_encrypted',
  (k) => `pki/${k.mountUuid}/${k.keyId}/private_key`,
);

/**
 * Batch tokens are not stored: the client holds the ciphertext, so their location is fixed for
 * good (`tokens/batch`; no job can re-seal a value the server does not hold). Declared here so it
 * is written down with the others; the batch token codec seals and opens through it.
 */
export const BATCH_TOKEN = declareSealedColumn<void>('tokens', 'batch', () => 'tokens/batch');

/** The stored sealed columns (batch tokens excluded: client-held). */
export const SEALED_COLUMNS = [
  KERNEL_SECRET_VALUE,
  TOKEN_ACCESSOR,
  LEASE_CREDENTIALS,
  LEASE_SOURCE_IP,
  CUBBYHOLE_VALUE,
  AUDIT_DEVICE_SALT,
  KV_V1_VALUE,
  KV_V2_VALUE,
  USERPASS_PASSWORD,
  SECRET_ID_ACCESSOR,
  ENGINE_OBJECT_VALUE,
  PKI_PRIVATE_KEY,
] as const;
