/**
 * sys/managed-keys (Vault Enterprise's managed keys registry, PKCS#11 only): LIST
 * sys/managed-keys/pkcs11, and create/update (POST), read and delete sys/managed-keys/pkcs11/:name.
 * Every operation needs sudo (the registry names HSM keys and carries their PINs). The PIN is
 * write-only: a read shows "redacted" as Vault does, and never the stored value. A read also says
 * whether the key is reachable now (the token opens and the key is on it). POST
 * sys/managed-keys/pkcs11/:name/test/sign (Vault's) signs random data with the key on the token and
 * verifies the signature: 204 when it does; 400 when the key does not allow "sign"; 500 with one
 * line (`the managed key "<name>" is unavailable: …`) when the token or key is not.
 */
import type { Fields } from '../../framework/fields';
import { logical, route, type RouteContext, type RouteDefinition } from '../../framework/route';
import { badRequest, notFound } from '../../kernel/errors';
import type { ManagedKeyRecord } from '../../kernel/managed-keys/managed-key.repository';
import type { ManagedKeys } from '../../kernel/managed-keys/managed-keys';

const FIELDS = {
  library: { type: 'string', description: 'The name of a kms_library stanza of the server configuration.' },
  slot: { type: 'string', description: 'The slot number (decimal); this or token_label.' },
  token_label: { type: 'string', description: 'The token label; this or slot.' },
  pin: { type: 'string', description: 'The user PIN (write-only; stored barrier-sealed).' },
  key_label: { type: 'string', description: 'The label of the key (given to a generated key); this and/or key_id.' },
  key_id: { type: 'string', description: 'The CKA_ID of the key, hex; this and/or key_label.' },
  mechanism: {
    type: 'any',
    description: 'The PKCS#11 mechanism, 0x hex or decimal: 0x0001 CKM_RSA_PKCS, 0x0009 CKM_RSA_PKCS_OAEP, 0x000D CKM_RSA_PKCS_PSS, 0x1041 CKM_ECDSA.',
  },
  key_bits: { type: 'int', min: 0, max: 16384, description: 'Key size in bits (RSA: 2048, 3072, 4096); needed to generate an RSA key.' },
  curve: { type: 'string', description: 'P256, P384 or P521 (CKM_ECDSA).' },
  allow_generate_key: { type: 'bool', description: 'Generate the key on the token when it is not found.' },
  allow_replace_key: { type: 'bool', description: 'Allow replacing an existing key (stored; no operation uses it yet).' },
  allow_store_key: { type: 'bool', description: 'Allow storing a key into the token (stored; no operation uses it yet).' },
  any_mount: { type: 'bool', description: 'Any mount may use the key (otherwise only mounts listing it in allowed_managed_keys).' },
  usages: { type: 'string-list', description: 'Allowed usages: encrypt, decrypt, sign, verify, wrap, unwrap, mac, random (default sign,verify).' },
} as const satisfies Fields;

function checkType(type: string): void {
  if (type !== 'pkcs11') throw badRequest(`unsupported managed key type "${type}": only "pkcs11" is available`);
}

/** Vault's read shape (a slot as a number when it fits exactly, as a string otherwise). */
function keyOutput(k: ManagedKeyRecord): Record<string, unknown> {
  const slot = k.slot === undefined ? 0 : Number.isSafeInteger(Number(k.slot)) ? Number(k.slot) : k.slot;
  return {
    UUID: k.id,
    name: k.name,
    type: k.type,
    library: k.library,
    slot,
    token_label: k.tokenLabel ?? '',
    pin: 'redacted',
    key_label: k.keyLabel ?? '',
    key_id: k.keyId ?? '',
    mechanism: k.mechanism,
    key_bits: k.keyBits ?? 0,
    curve: k.curve ?? '',
    allow_generate_key: k.allowGenerateKey,
    allow_replace_key: k.allowReplaceKey,
    allow_store_key: k.allowStoreKey,
    any_mount: k.anyMount,
    usages: k.usages,
  };
}

export function managedKeyPaths(keys: ManagedKeys): RouteDefinition[] {
  return [
    {
      path: 'managed-keys/:type',
      auth: 'sudo',
      help: 'List the managed keys of a type (pkcs11).',
      handlers: {
        list: async (ctx) => {
          checkType(ctx.params.type);
          return logical({ keys: await keys.list() });
        },
      },
    },
    route({
      path: 'managed-keys/:type/:name',
      auth: 'sudo',
      fields: FIELDS,
      help: 'Create or update (POST), read or delete a managed key: a key on a PKCS#11 token engines may use.',
      handlers: {
        read: async (ctx) => {
          checkType(ctx.params.type);
          const k = await keys.read(ctx.params.name);
          if (!k) throw notFound();
          const reach = await keys.reachability(k);
          return logical({ ...keyOutput(k), reachable: reach.reachable, ...(reach.reachable ? {} : { reachable_error: reach.error }) });
        },
        update: async (ctx: RouteContext<typeof FIELDS>) => {
          checkType(ctx.params.type);
          await keys.write(ctx.params.name, ctx.data);
          return null;
        },
        delete: async (ctx) => {
          checkType(ctx.params.type);
          await keys.delete(ctx.params.name);
          return null;
        },
      },
    }),
    {
      path: 'managed-keys/:type/:name/test/sign',
      auth: 'sudo',
      help: 'Sign random data with the managed key and verify the signature (generating the key first when missing and allowed).',
      handlers: {
        update: async (ctx) => {
          checkType(ctx.params.type);
          await keys.testSign(ctx.params.name);
          return null;
        },
      },
    },
  ];
}
