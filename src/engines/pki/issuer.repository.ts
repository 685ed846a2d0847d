/**
 * A pki mount's issuers (`pki_issuers`) and keys (`pki_keys`).
 *
 * Invariants: a private key goes in and comes out of this class only, as PKCS#8 DER sealed in
 * PKI_PRIVATE_KEY (bound to mount and key id; the first increment's keys keep their serial as id),
 * or is on an HSM and its row holds only the managed key's id (exactly one of the two); issuer and key names are
 * unique within a mount (empty: no name); an issuer's key cannot be deleted while it is referenced.
 */
import { IsNull, type DataSource, type Repository } from 'typeorm';
import { columnNames } from '../../database/entity-names';
import type { Barrier } from '../../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../../kernel/barrier/sealed-column';
import { PKI_PRIVATE_KEY } from '../../kernel/barrier/sealed-columns';
import { PkiIssuerEntity, PkiKeyEntity } from './pki.entity';
import type { LeafNotAfterBehavior } from './validity';

export interface IssuerRow {
  id: string;
  name: string;
  keyId: string | null;
  /** Vault's colon hex. */
  serialNumber: string;
  certificatePem: string;
  /** The PEMs above this issuer as installed (set-signed); null: not yet read from the first increment's store. */
  chainPem: string[] | null;
  /** Issuer ids, this issuer first; empty: the chain is built from the mount's issuers. */
  manualChain: string[];
  leafNotAfterBehavior: LeafNotAfterBehavior;
  usage: string[];
  createdAt: Date;
}

export interface KeyRow {
  id: string;
  name: string;
  /** The managed key (sys/managed-keys) holding it on an HSM; undefined for a key stored here. */
  managedKeyId?: string;
}

/** A key's material: PKCS#8 DER, or the managed key whose key it is. */
export type KeyMaterial = { pkcs8: Buffer } | { managedKeyId: string };

/** PostgreSQL unique_violation on a name index. */
export class NameInUseError extends Error {}

/** The columns of an issuer row (all but the mount and the fingerprint). */
const ISSUER_COLUMNS = {
  mountUuid: true,
  issuerId: true,
  issuerName: true,
  keyId: true,
  serialNumber: true,
  certificatePem: true,
  chainPem: true,
  manualChain: true,
  leafNotAfterBehavior: true,
  usage: true,
  createdAt: true,
} as const;

const ISSUER_KEY = { mountUuid: true, issuerId: true } as const;
const KEY_KEY = { mountUuid: true, keyId: true } as const;
const KEY_COLUMNS = { ...KEY_KEY, keyName: true, managedKeyId: true } as const;

const toKey = (r: PkiKeyEntity): KeyRow => ({ id: r.keyId, name: r.keyName, ...(r.managedKeyId ? { managedKeyId: r.managedKeyId } : {}) });

function toIssuer(r: PkiIssuerEntity): IssuerRow {
  return {
    id: r.issuerId,
    name: r.issuerName,
    keyId: r.keyId,
    serialNumber: r.serialNumber,
    certificatePem: r.certificatePem,
    chainPem: r.chainPem,
    manualChain: r.manualChain,
    leafNotAfterBehavior: r.leafNotAfterBehavior as LeafNotAfterBehavior,
    usage: r.usage,
    createdAt: r.createdAt,
  };
}

async function namesUnique<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if ((err as { code?: string }).code === '23505' && /_name/.test(String((err as { constraint?: string }).constraint ?? (err as Error).message)))
      throw new NameInUseError();
    throw err;
  }
}

export class IssuerRepository {
  private readonly privateKeys: SealedColumn<{ mountUuid: string; keyId: string }>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.privateKeys = new SealedColumn(PKI_PRIVATE_KEY, barrier);
  }

  private get issuerRows(): Repository<PkiIssuerEntity> {
    return this.dataSource.getRepository(PkiIssuerEntity);
  }

  private get keyRows(): Repository<PkiKeyEntity> {
    return this.dataSource.getRepository(PkiKeyEntity);
  }

  /** The mount's issuers, by id. */
  async issuers(mountUuid: string): Promise<IssuerRow[]> {
    return (await this.issuerRows.find({ select: ISSUER_COLUMNS, where: { mountUuid }, order: { issuerId: 'ASC' } })).map(toIssuer);
  }

  async issuer(mountUuid: string, id: string): Promise<IssuerRow | undefined> {
    const row = await this.issuerRows.findOne({ select: ISSUER_COLUMNS, where: { mountUuid, issuerId: id } });
    return row ? toIssuer(row) : undefined;
  }

  /** The issuer whose id, else whose name, is `ref` (one query: ids win over names). */
  async issuerByIdOrName(mountUuid: string, ref: string): Promise<IssuerRow | undefined> {
    const row = await this.issuerRows
      .createQueryBuilder('i')
      .select(Object.keys(ISSUER_COLUMNS).map((property) => `i.${property}`))
      .where({ mountUuid })
      .andWhere('(i.issuerId = :ref OR i.issuerName = :ref)', { ref })
      .orderBy('i.issuerId = :ref', 'DESC')
      .limit(1)
      .getOne();
    return row ? toIssuer(row) : undefined;
  }

  /** The id of the issuer called `name`, if any. */
  async issuerIdByName(mountUuid: string, name: string): Promise<string | undefined> {
    return (await this.issuerRows.findOne({ select: ISSUER_KEY, where: { mountUuid, issuerName: name } }))?.issuerId;
  }

  /** The issuer holding the certificate with this fingerprint (SHA-256 of its DER, hex). */
  async issuerIdByFingerprint(mountUuid: string, fingerprint: string): Promise<string | undefined> {
    return (await this.issuerRows.findOne({ select: ISSUER_KEY, where: { mountUuid, fingerprint } }))?.issuerId;
  }

  /** Stores an issuer unless one holds the same certificate already; gives the id of the one stored. */
  async insertIssuer(mountUuid: string, row: Omit<IssuerRow, 'createdAt'>, fingerprint: string): Promise<{ id: string; existing: boolean }> {
    // ON CONFLICT (mount, fingerprint) DO NOTHING: a name or id clash still raises.
    const result = await namesUnique(() =>
      this.issuerRows
        .createQueryBuilder()
        .insert()
        .values({
          mountUuid,
          issuerId: row.id,
          issuerName: row.name,
          keyId: row.keyId,
          serialNumber: row.serialNumber,
          certificatePem: row.certificatePem,
          fingerprint,
          chainPem: row.chainPem,
          manualChain: row.manualChain,
          leafNotAfterBehavior: row.leafNotAfterBehavior,
          usage: row.usage,
        })
        .orUpdate([], columnNames(this.dataSource, PkiIssuerEntity, ['mountUuid', 'fingerprint']))
        .returning(['issuerId'])
        .updateEntity(false)
        .execute(),
    );
    if ((result.raw as unknown[]).length > 0) return { id: row.id, existing: false };
    return { id: (await this.issuerIdByFingerprint(mountUuid, fingerprint)) as string, existing: true };
  }

  /** Writes the changeable fields of an issuer (name, behaviour, usage, chains, key). */
  async updateIssuer(mountUuid: string, row: IssuerRow): Promise<void> {
    await namesUnique(() =>
      this.issuerRows.update(
        { mountUuid, issuerId: row.id },
        {
          issuerName: row.name,
          keyId: row.keyId,
          chainPem: row.chainPem,
          manualChain: row.manualChain,
          leafNotAfterBehavior: row.leafNotAfterBehavior,
          usage: row.usage,
        },
      ),
    );
  }

  /** Gives a key-less issuer its key (a key imported after its certificate); false when it had one by then. */
  async linkKey(mountUuid: string, id: string, keyId: string): Promise<boolean> {
    return ((await this.issuerRows.update({ mountUuid, issuerId: id, keyId: IsNull() }, { keyId })).affected ?? 0) > 0;
  }

  /** Stores the chain a migrated issuer was installed with, read from the first increment's store (once). */
  async setMigratedChain(mountUuid: string, id: string, chainPem: string[]): Promise<void> {
    await this.issuerRows.update({ mountUuid, issuerId: id, chainPem: IsNull() }, { chainPem });
  }

  async deleteIssuer(mountUuid: string, id: string): Promise<boolean> {
    return ((await this.issuerRows.delete({ mountUuid, issuerId: id })).affected ?? 0) > 0;
  }

  async keys(mountUuid: string): Promise<KeyRow[]> {
    const rows = await this.keyRows.find({ select: KEY_COLUMNS, where: { mountUuid }, order: { keyId: 'ASC' } });
    return rows.map(toKey);
  }

  async key(mountUuid: string, id: string): Promise<KeyRow | undefined> {
    const row = await this.keyRows.findOne({ select: KEY_COLUMNS, where: { mountUuid, keyId: id } });
    return row ? toKey(row) : undefined;
  }

  async keyIdByName(mountUuid: string, name: string): Promise<string | undefined> {
    return (await this.keyRows.findOne({ select: KEY_KEY, where: { mountUuid, keyName: name } }))?.keyId;
  }

  /** The key whose public half has this fingerprint (SHA-256 of its SPKI DER, hex). */
  async keyIdByPublicKey(mountUuid: string, publicKeySha256: string): Promise<string | undefined> {
    return (await this.keyRows.findOne({ select: KEY_KEY, where: { mountUuid, publicKeySha256 } }))?.keyId;
  }

  /** Migrated keys, not fingerprinted yet. */
  async keysWithoutFingerprint(mountUuid: string): Promise<string[]> {
    return (await this.keyRows.find({ select: KEY_KEY, where: { mountUuid, publicKeySha256: IsNull() } })).map((r) => r.keyId);
  }

  async setKeyFingerprint(mountUuid: string, id: string, publicKeySha256: string): Promise<void> {
    await this.keyRows.update({ mountUuid, keyId: id, publicKeySha256: IsNull() }, { publicKeySha256 });
  }

  /**
   * Stores a key (PKCS#8 DER) as barrier ciphertext, or the reference to a managed key, unless the
   * mount holds the same key; gives the id of the one stored.
   */
  async insertKey(mountUuid: string, id: string, name: string, material: KeyMaterial, publicKeySha256: string): Promise<{ id: string; existing: boolean }> {
    const stored =
      'pkcs8' in material
        ? { privateKeyEncrypted: await this.privateKeys.seal({ mountUuid, keyId: id }, material.pkcs8), managedKeyId: null }
        : { privateKeyEncrypted: null, managedKeyId: material.managedKeyId };
    // ON CONFLICT (mount, public key) DO NOTHING: a name or id clash still raises.
    const result = await namesUnique(() =>
      this.keyRows
        .createQueryBuilder()
        .insert()
        .values({ mountUuid, keyId: id, keyName: name, publicKeySha256, ...stored })
        .orUpdate([], columnNames(this.dataSource, PkiKeyEntity, ['mountUuid', 'publicKeySha256']))
        .returning(['keyId'])
        .updateEntity(false)
        .execute(),
    );
    if ((result.raw as unknown[]).length > 0) return { id, existing: false };
    return { id: (await this.keyIdByPublicKey(mountUuid, publicKeySha256)) as string, existing: true };
  }

  async renameKey(mountUuid: string, id: string, name: string): Promise<void> {
    await namesUnique(() => this.keyRows.update({ mountUuid, keyId: id }, { keyName: name }));
  }

  /** A key's material: its PKCS#8 DER, opened, or its managed key's id; undefined when there is no such key. */
  async keyMaterial(mountUuid: string, id: string): Promise<KeyMaterial | undefined> {
    const row = await this.keyRows.findOne({ select: { ...KEY_KEY, privateKeyEncrypted: true, managedKeyId: true }, where: { mountUuid, keyId: id } });
    if (!row) return undefined;
    if (row.managedKeyId) return { managedKeyId: row.managedKeyId };
    return { pkcs8: await this.privateKeys.open({ mountUuid, keyId: id }, row.privateKeyEncrypted as Ciphertext) };
  }

  /** The issuers using a key. */
  async issuersOfKey(mountUuid: string, keyId: string): Promise<string[]> {
    return (await this.issuerRows.find({ select: ISSUER_KEY, where: { mountUuid, keyId }, order: { issuerId: 'ASC' } })).map((r) => r.issuerId);
  }

  async deleteKey(mountUuid: string, id: string): Promise<void> {
    await this.keyRows.delete({ mountUuid, keyId: id });
  }

  /** Every issuer and key of the mount (Vault's DELETE root); gives the deleted issuer ids. */
  async deleteAll(mountUuid: string): Promise<string[]> {
    return this.dataSource.transaction(async (m) => {
      const issuers = await m.getRepository(PkiIssuerEntity).createQueryBuilder().delete().where({ mountUuid }).returning(['issuerId']).execute();
      await m.getRepository(PkiKeyEntity).delete({ mountUuid });
      return (issuers.raw as { issuer_id: string }[]).map((r) => r.issuer_id);
    });
  }
}
