/**
 * A pki mount's keys (Vault's path_fetch_keys.go, path_manage_keys.go): `LIST keys`,
 * `key/:ref` (read, POST to rename, DELETE), `keys/import`, `keys/generate/:type`, `config/keys`.
 *
 * Invariants: a key's private half is returned only by `keys/generate/exported`, once (a key on an
 * HSM, `keys/generate/kms`, never: the mount holds only its managed key's id); a key an issuer uses
 * cannot be deleted; importing a key the mount holds adds nothing.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Fields } from '../../framework/fields';
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { toPem } from '../../crypto/x509/certificate';
import { keyInfo, privateKeyPem } from '../../crypto/x509/keys';
import { pemBlocks } from '../../crypto/x509/pem';
import { badRequest, notFound } from '../../kernel/errors';
import { issuerName, nameInUse } from './issuer-fields';
import type { IssuerStore } from './issuers';
import { managedKeyRef } from './pki-managed-keys';
import { generationType, namesChecked, requestedKeyPair } from './pki-ca.paths';

const MANAGED_KEY_FIELDS = {
  managed_key_name: { type: 'string', description: 'type `kms`: the managed key (sys/managed-keys) to use, by name.' },
  managed_key_id: { type: 'string', description: 'type `kms`: the managed key to use, by id (wins over managed_key_name).' },
} as const satisfies Fields;

export function pkiKeyPaths({ issuers }: { issuers: IssuerStore }): RouteDefinition[] {
  const keyId = async (ctx: RequestContext): Promise<string> => {
    const ref = ctx.params.ref;
    const id = await issuers.resolveKey(ctx.mount.uuid, ref);
    if (!id) throw badRequest(ref.trim().toLowerCase() === 'default' ? 'no default key currently configured' : `unable to find PKI key for reference: ${ref}`);
    return id;
  };
  const describe = async (ctx: RequestContext, id: string, warnings: string[] = []) => {
    const row = await issuers.repo.key(ctx.mount.uuid, id);
    const publicKey = (await issuers.publicKeyOf(ctx.mount.uuid, id)) as KeyObject;
    // A managed key: its actual type, as Vault answers, and which managed key it is.
    const managed = row?.managedKeyId ? { managed_key_id: row.managedKeyId, managed_key_name: (await issuers.managed.nameOf(row.managedKeyId)) ?? '' } : {};
    return logical({ key_id: id, key_name: row?.name ?? '', key_type: keyInfo(publicKey).type, ...managed }, warnings.length ? warnings : undefined);
  };
  const checkedName = async (ctx: RequestContext) => {
    const name = issuerName(ctx.data.key_name, 'key');
    if (name && (await issuers.repo.keyIdByName(ctx.mount.uuid, name))) throw nameInUse('key');
    return name;
  };

  return [
    {
      path: 'keys',
      help: 'Lists the keys with key_info: key_name.',
      handlers: {
        list: async (ctx) => {
          const rows = await issuers.repo.keys(ctx.mount.uuid);
          // An empty list is a 404, as every Vault list.
          if (rows.length === 0) throw notFound();
          return logical({ keys: rows.map((r) => r.id), key_info: Object.fromEntries(rows.map((r) => [r.id, { key_name: r.name }])) });
        },
      },
    },
    route({
      path: 'key/:ref',
      fields: { key_name: { type: 'string', description: "The key's new name (empty: none)." } },
      help: 'A key by id, name or `default`: its id, name and type (never the key); POST renames it; DELETE removes it unless an issuer uses it.',
      handlers: {
        read: async (ctx) => describe(ctx, await keyId(ctx)),
        update: async (ctx) => {
          const id = await keyId(ctx);
          const current = await issuers.repo.key(ctx.mount.uuid, id);
          const name = (ctx.data.key_name ?? '').trim();
          if (name && !/^\w(?:[\w.-]*\w)?$/.test(name)) throw badRequest('new key name outside of valid character limits');
          if (name !== current?.name) await namesChecked('key', () => issuers.repo.renameKey(ctx.mount.uuid, id, name));
          return describe(ctx, id, name ? [] : [`Name successfully deleted, you will now need to reference this key by it's Id: ${id}`]);
        },
        delete: async (ctx) => {
          const ref = ctx.params.ref;
          const id = await issuers.resolveKey(ctx.mount.uuid, ref);
          if (!id) return null;
          const users = await issuers.repo.issuersOfKey(ctx.mount.uuid, id);
          if (users.length > 0) throw badRequest(`Failed to Delete Key.  Key in Use by Issuer: ${users[0]}`);
          await issuers.repo.deleteKey(ctx.mount.uuid, id);
          if ((await issuers.resolveKey(ctx.mount.uuid, 'default')) !== id) return null;
          await issuers.setConfig(ctx.mount.uuid, { defaultKey: '' });
          return logical(null, [
            `Deleted key ${id} (via key_ref ${ref}); this was configured as the default key. Operations without an explicit key will not work until a new default is configured.`,
          ]);
        },
      },
    }),
    route({
      path: 'keys/import',
      fields: {
        pem_bundle: { type: 'string', description: 'One unencrypted PEM private key.' },
        key_name: { type: 'string', description: 'A name for the key.' },
      },
      help: 'Imports a private key (a key already held: its id and a warning, nothing changed).',
      handlers: {
        update: async (ctx) => {
          const name = await checkedName(ctx);
          const bundle = ctx.data.pem_bundle ?? '';
          if (bundle.length < 64)
            throw badRequest('provided data for import was too short; perhaps a path was passed to the API rather than the contents of a PEM file');
          let blocks;
          try {
            blocks = pemBlocks(bundle);
          } catch {
            throw badRequest('provided PEM block contained no data');
          }
          if (blocks.length === 0) throw badRequest('provided PEM block contained no data');
          if (blocks.length !== 1) throw badRequest('only a single key can be present within the pem_bundle for importing');
          let key: KeyObject;
          try {
            key = createPrivateKey({ key: toPem(blocks[0].der, blocks[0].label), format: 'pem' });
          } catch {
            throw badRequest('Error parsing key: the block is not an unencrypted private key');
          }
          const { id, existing } = await namesChecked('key', () => issuers.importKey(ctx.mount.uuid, key, name));
          // As Vault: a key already held keeps its name (rename it through key/:ref).
          return describe(ctx, id, existing ? ['Key already imported, use key/ endpoint to update name.'] : []);
        },
      },
    }),
    route({
      path: 'keys/generate/:type',
      fields: {
        key_name: { type: 'string', description: 'A name for the key.' },
        key_type: { type: 'string', allowed: ['rsa', 'ec', 'ed25519'], description: 'rsa (default), ec or ed25519.' },
        key_bits: { type: 'int', description: 'RSA 2048 (default)/3072/4096; EC 224/256 (default)/384/521.' },
        ...MANAGED_KEY_FIELDS,
      },
      help: 'A new key (internal: it never leaves; exported: returned once; kms: the managed key named, on its HSM, never returned).',
      handlers: {
        update: async (ctx) => {
          const type = generationType(ctx.params.type, ctx.data, false);
          const name = await checkedName(ctx);
          if (type === 'kms') {
            const { id: managedKeyId, name: managedKeyName, signer } = await issuers.managed.forGeneration(ctx.mount, managedKeyRef(ctx.data));
            const { id } = await namesChecked('key', () => issuers.importKey(ctx.mount.uuid, { managedKeyId, publicKey: signer.publicKey }, name));
            const key_name = (await issuers.repo.key(ctx.mount.uuid, id))?.name ?? name;
            return logical({ key_id: id, key_name, key_type: keyInfo(signer.publicKey).type, managed_key_id: managedKeyId, managed_key_name: managedKeyName });
          }
          const pair = await requestedKeyPair(ctx.data);
          const { id } = await namesChecked('key', () => issuers.importKey(ctx.mount.uuid, pair.privateKey, name));
          return logical({ key_id: id, key_name: name, key_type: pair.type, ...(type === 'exported' ? { private_key: privateKeyPem(pair.privateKey) } : {}) });
        },
      },
    }),
    route({
      path: 'config/keys',
      fields: { default: { type: 'string', description: 'The default key (an id or a name).' } },
      help: 'The default key (what type `existing` and key_ref default to).',
      handlers: {
        read: async (ctx) => logical({ default: (await issuers.resolveKey(ctx.mount.uuid, 'default')) ?? '' }),
        update: async (ctx) => {
          const ref = (ctx.data.default ?? '').trim();
          if (!ref || ref.toLowerCase() === 'default') throw badRequest("Invalid key specification; must be non-empty and can't be 'default'.");
          const id = await issuers.resolveKey(ctx.mount.uuid, ref);
          if (!id) throw badRequest(`Error resolving key reference: unable to find PKI key for reference: ${ref}`);
          return logical({ default: (await issuers.setConfig(ctx.mount.uuid, { defaultKey: id })).defaultKey });
        },
      },
    }),
  ];
}
