/**
 * Every barrier-sealed value the server stores, with the location (AAD) its values are bound to:
 * `table/column/row key` (sealed-column.ts forms it).
 *
 * Invariants:
 * - for each column, distinct row keys give distinct locations, and no two columns share one;
 * - a column whose values were first written under another grammar keeps it here as `legacy`
 *   (the exact strings stored data is bound to), with how the reseal job finds its rows; reads
 *   accept both until the job has rewritten every row, and must keep accepting the legacy one for
 *   values written by a server that predates this grammar;
 * - only data and SQL fragments here: the kernel names engines' tables but imports none of their code.
 */
import { declareFixedLocation, declareSealedColumn, type SealedColumnDeclaration } from './sealed-column';

const hex = (b: Buffer) => b.toString('hex');
const text = (v: unknown) => String(v);

/** Kernel secrets (HMAC keys, signing keys, audit address keys, reseal markers), by name. Always in this grammar. */
export const KERNEL_SECRET_VALUE = declareSealedColumn<string>('kernel_secrets', 'value_ciphertext', (name) => name);

/** A service token's accessor, by the token's HMAC. Always in this grammar. */
export const TOKEN_ACCESSOR = declareSealedColumn<Buffer>('tokens', 'accessor_ciphertext', (tokenHmac) => hex(tokenHmac));

/** An AppRole secret ID's accessor, by the secret ID's HMAC. Always in this grammar. */
export const SECRET_ID_ACCESSOR = declareSealedColumn<Buffer>('secret_ids', 'accessor_ciphertext', (secretIdHmac) => hex(secretIdHmac));

/** An audit device's HMAC salt, by device uuid. Always in this grammar. */
export const AUDIT_DEVICE_SALT = declareSealedColumn<string>('audit_devices', 'salt_ciphertext', (uuid) => uuid);

/** A lease's engine data (`internal`), by lease id. */
export const LEASE_CREDENTIALS = declareSealedColumn<string>('leases', 'credentials_ciphertext', (leaseId) => leaseId, {
  location: (leaseId) => `leases/${leaseId}`,
  scan: { from: 'leases t', primaryKey: ['lease_id'], keyColumns: 't.lease_id AS key', keyOf: (r) => text(r.key) },
});

/** A lease's client address, by lease id (stored as base64 text). */
export const LEASE_SOURCE_IP = declareSealedColumn<string>('leases', 'source_ip', (leaseId) => leaseId, {
  location: (leaseId) => `leases/${leaseId}/source_ip`,
  scan: { from: 'leases t', primaryKey: ['lease_id'], keyColumns: 't.lease_id AS key', keyOf: (r) => text(r.key), encoding: 'base64' },
});

/** A cubbyhole value, by owning token HMAC and path. */
export const CUBBYHOLE_VALUE = declareSealedColumn<{ tokenHmac: Buffer; path: string }>(
  'cubbyhole_entries',
  'value_ciphertext',
  (k) => [hex(k.tokenHmac), k.path],
  {
    location: (k) => `cubbyhole/${hex(k.tokenHmac)}/${k.path}`,
    scan: {
      from: 'cubbyhole_entries t',
      primaryKey: ['token_hmac', 'path'],
      keyColumns: 't.token_hmac AS "tokenHmac", t.path',
      keyOf: (r) => ({ tokenHmac: r.tokenHmac as Buffer, path: text(r.path) }),
    },
  },
);

/** A KV v1 value, by mount and path. */
export const KV_V1_VALUE = declareSealedColumn<{ mountUuid: string; path: string }>('secrets', 'encrypted_data', (k) => [k.mountUuid, k.path], {
  location: (k) => `secrets/${k.mountUuid}/kv-v1/${k.path}`,
  scan: {
    from: 'secrets t',
    where: "t.secret_type = 'kv-v1'",
    primaryKey: ['id'],
    keyColumns: 't.mount_uuid::text AS "mountUuid", t.secret_path AS path',
    keyOf: (r) => ({ mountUuid: text(r.mountUuid), path: text(r.path) }),
  },
});

/** A KV v2 version's value, by mount, path and version. */
export const KV_V2_VALUE = declareSealedColumn<{ mountUuid: string; path: string; version: number }>(
  'secret_versions',
  'encrypted_data',
  (k) => [k.mountUuid, k.path, k.version],
  {
    location: (k) => `secrets/${k.mountUuid}/kv-v2/v${k.version}/${k.path}`,
    scan: {
      from: 'secret_versions t JOIN secrets s ON s.id = t.secret_id',
      primaryKey: ['secret_id', 'version'],
      keyColumns: 's.mount_uuid::text AS "mountUuid", s.secret_path AS path, t.version',
      keyOf: (r) => ({ mountUuid: text(r.mountUuid), path: text(r.path), version: Number(r.version) }),
    },
  },
);

/** A userpass user's argon2id hash, by mount and (normalised) username. */
export const USERPASS_PASSWORD = declareSealedColumn<{ mountUuid: string; username: string }>(
  'userpass_users',
  'password_ciphertext',
  (k) => [k.mountUuid, k.username],
  {
    location: (k) => `userpass/${k.mountUuid}/users/${k.username}/password`,
    scan: {
      from: 'userpass_users t',
      primaryKey: ['mount_uuid', 'username'],
      keyColumns: 't.mount_uuid::text AS "mountUuid", t.username',
      keyOf: (r) => ({ mountUuid: text(r.mountUuid), username: text(r.username) }),
    },
  },
);

/** An engine's configuration object, by mount, kind and name (legacy: `…/database/…`, from before the table was generalised). */
export const ENGINE_OBJECT_VALUE = declareSealedColumn<{ mountUuid: string; kind: string; name: string }>(
  'engine_objects',
  'value_ciphertext',
  (k) => [k.mountUuid, k.kind, k.name],
  {
    location: (k) => `secrets/${k.mountUuid}/database/${k.kind}/${k.name}`,
    scan: {
      from: 'engine_objects t',
      primaryKey: ['mount_uuid', 'kind', 'name'],
      keyColumns: 't.mount_uuid::text AS "mountUuid", t.kind, t.name',
      keyOf: (r) => ({ mountUuid: text(r.mountUuid), kind: text(r.kind), name: text(r.name) }),
    },
  },
);

/** A pki key's PKCS#8 DER, by mount and key id (the first increment's keys keep their serial as id). */
export const PKI_PRIVATE_KEY = declareSealedColumn<{ mountUuid: string; keyId: string }>('pki_keys', 'private_key_encrypted', (k) => [k.mountUuid, k.keyId], {
  location: (k) => `pki/${k.mountUuid}/${k.keyId}/private_key`,
  scan: {
    from: 'pki_keys t',
    primaryKey: ['mount_uuid', 'key_id'],
    keyColumns: 't.mount_uuid::text AS "mountUuid", t.key_id AS "keyId"',
    keyOf: (r) => ({ mountUuid: text(r.mountUuid), keyId: text(r.keyId) }),
  },
});

/** A managed key's PKCS#11 user PIN, by the key's id (a uuid: renaming never happens, so the id is the row). Always in this grammar. */
export const MANAGED_KEY_PIN = declareSealedColumn<string>('managed_keys', 'pin_ciphertext', (id) => id);

/** A transit key version's raw key, by mount, key name and version. Always in this grammar. */
export const TRANSIT_KEY_MATERIAL = declareSealedColumn<{ mountUuid: string; name: string; version: number }>('transit_key_versions', 'key_ciphertext', (k) => [
  k.mountUuid,
  k.name,
  k.version,
]);

/** A rekey's submitted shares (packed), by target and the operation's nonce. Always in this grammar. */
export const REKEY_PROGRESS = declareSealedColumn<{ target: string; nonce: string }>('rekey_operations', 'progress_ciphertext', (k) => [k.target, k.nonce]);

/** A rekey's new unseal or recovery key awaiting verification, by target and the operation's nonce. Always in this grammar. */
export const REKEY_VERIFICATION_KEY = declareSealedColumn<{ target: string; nonce: string }>('rekey_operations', 'verification_key_ciphertext', (k) => [
  k.target,
  k.nonce,
]);

/** The new shares submitted to verify a rekey (packed), by target and the verification nonce. Always in this grammar. */
export const REKEY_VERIFICATION_PROGRESS = declareSealedColumn<{ target: string; nonce: string }>(
  'rekey_operations',
  'verification_progress_ciphertext',
  (k) => [k.target, k.nonce],
);

/** A root generation's one-time pad, by the attempt's nonce. Always in this grammar. */
export const GENERATE_ROOT_OTP = declareSealedColumn<string>('generate_root_attempts', 'otp_ciphertext', (nonce) => nonce);

/** A root generation's submitted shares (packed), by the attempt's nonce. Always in this grammar. */
export const GENERATE_ROOT_PROGRESS = declareSealedColumn<string>('generate_root_attempts', 'progress_ciphertext', (nonce) => nonce);

/**
 * Batch tokens are not stored: the client holds the ciphertext, so their location is fixed for
 * good (`tokens/batch`; no job can re-seal a value the server does not hold). Declared here so it
 * is written down with the others; the batch token codec seals and opens through it.
 */
export const BATCH_TOKEN = declareFixedLocation('tokens', 'batch', 'tokens/batch');

/** Calls `visit` on every stored sealed column (batch tokens excluded: client-held), in this order. */
export function visitSealedColumns<T>(visit: <K>(column: SealedColumnDeclaration<K>) => T): T[] {
  return [
    visit(KERNEL_SECRET_VALUE),
    visit(TOKEN_ACCESSOR),
    visit(SECRET_ID_ACCESSOR),
    visit(AUDIT_DEVICE_SALT),
    visit(LEASE_CREDENTIALS),
    visit(LEASE_SOURCE_IP),
    visit(CUBBYHOLE_VALUE),
    visit(KV_V1_VALUE),
    visit(KV_V2_VALUE),
    visit(USERPASS_PASSWORD),
    visit(ENGINE_OBJECT_VALUE),
    visit(PKI_PRIVATE_KEY),
    visit(MANAGED_KEY_PIN),
    visit(TRANSIT_KEY_MATERIAL),
    visit(REKEY_PROGRESS),
    visit(REKEY_VERIFICATION_KEY),
    visit(REKEY_VERIFICATION_PROGRESS),
    visit(GENERATE_ROOT_OTP),
    visit(GENERATE_ROOT_PROGRESS),
  ];
}
