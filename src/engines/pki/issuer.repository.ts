/**
 * SQL for a pki mount's issuers (`pki_issuers`) and keys (`pki_keys`).
 *
 * Invariants: a private key goes in and comes out of this class only, as PKCS#8 DER sealed in
 * PKI_PRIVATE_KEY (bound to mount and key id; the first increment's keys keep their serial as id); issuer and key names are
 * unique within a mount (empty: no name); an issuer's key cannot be deleted while it is referenced.
 */
import type { DataSource } from 'typeorm';
import type { Barrier } from '../../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../../kernel/barrier/sealed-column';
import { PKI_PRIVATE_KEY } from '../../kernel/barrier/sealed-columns';
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
}

/** PostgreSQL unique_violation on a name index. */
export class NameInUseError extends Error {}

const ISSUER_COLUMNS = 'issuer_id, issuer_name, key_id, serial_number, certificate_pem, chain_pem, manual_chain, leaf_not_after_behavior, usage, created_at';

function toIssuer(r: Record<string, unknown>): IssuerRow {
  return {
    id: r.issuer_id as string,
    name: r.issuer_name as string,
    keyId: r.key_id as string | null,
    serialNumber: r.serial_number as string,
    certificatePem: r.certificate_pem as string,
    chainPem: r.chain_pem as string[] | null,
    manualChain: r.manual_chain as string[],
    leafNotAfterBehavior: r.leaf_not_after_behavior as LeafNotAfterBehavior,
    usage: r.usage as string[],
    createdAt: r.created_at as Date,
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

  /** The mount's issuers, by id. */
  async issuers(mountUuid: string): Promise<IssuerRow[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(`SELECT ${ISSUER_COLUMNS} FROM pki_issuers WHERE mount_uuid = $1 ORDER BY issuer_id`, [
      mountUuid,
    ]);
    return rows.map(toIssuer);
  }

  async issuer(mountUuid: string, id: string): Promise<IssuerRow | undefined> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(`SELECT ${ISSUER_COLUMNS} FROM pki_issuers WHERE mount_uuid = $1 AND issuer_id = $2`, [
      mountUuid,
      id,
    ]);
    return rows[0] ? toIssuer(rows[0]) : undefined;
  }

  /** The issuer whose id, else whose name, is `ref` (one query: ids win over names). */
  async issuerByIdOrName(mountUuid: string, ref: string): Promise<IssuerRow | undefined> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT ${ISSUER_COLUMNS} FROM pki_issuers WHERE mount_uuid = $1 AND (issuer_id = $2 OR issuer_name = $2) ORDER BY issuer_id = $2 DESC LIMIT 1`,
      [mountUuid, ref],
    );
    return rows[0] ? toIssuer(rows[0]) : undefined;
  }

  /** The id of the issuer called `name`, if any. */
  async issuerIdByName(mountUuid: string, name: string): Promise<string | undefined> {
    const rows: { issuer_id: string }[] = await this.dataSource.query('SELECT issuer_id FROM pki_issuers WHERE mount_uuid = $1 AND issuer_name = $2', [
      mountUuid,
      name,
    ]);
    return rows[0]?.issuer_id;
  }

  /** The issuer holding the certificate with this fingerprint (SHA-256 of its DER, hex). */
  async issuerIdByFingerprint(mountUuid: string, fingerprint: string): Promise<string | undefined> {
    const rows: { issuer_id: string }[] = await this.dataSource.query('SELECT issuer_id FROM pki_issuers WHERE mount_uuid = $1 AND fingerprint = $2', [
      mountUuid,
      fingerprint,
    ]);
    return rows[0]?.issuer_id;
  }

  /** Stores an issuer unless one holds the same certificate already; gives the id of the one stored. */
  async insertIssuer(mountUuid: string, row: Omit<IssuerRow, 'createdAt'>, fingerprint: string): Promise<{ id: string; existing: boolean }> {
    const inserted: unknown[] = await namesUnique(() =>
      this.dataSource.query(
        `INSERT INTO pki_issuers (mount_uuid, issuer_id, issuer_name, key_id, serial_number, certificate_pem, fingerprint, chain_pem, manual_chain, leaf_not_after_behavior, usage)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (mount_uuid, fingerprint) DO NOTHING RETURNING issuer_id`,
        [
          mountUuid,
          row.id,
          row.name,
          row.keyId,
          row.serialNumber,
          row.certificatePem,
          fingerprint,
          row.chainPem,
          row.manualChain,
          row.leafNotAfterBehavior,
          row.usage,
        ],
      ),
    );
    if (inserted.length > 0) return { id: row.id, existing: false };
    return { id: (await this.issuerIdByFingerprint(mountUuid, fingerprint)) as string, existing: true };
  }

  /** Writes the changeable fields of an issuer (name, behaviour, usage, chains, key). */
  async updateIssuer(mountUuid: string, row: IssuerRow): Promise<void> {
    await namesUnique(() =>
      this.dataSource.query(
        `UPDATE pki_issuers SET issuer_name = $3, key_id = $4, chain_pem = $5, manual_chain = $6, leaf_not_after_behavior = $7, usage = $8
         WHERE mount_uuid = $1 AND issuer_id = $2`,
        [mountUuid, row.id, row.name, row.keyId, row.chainPem, row.manualChain, row.leafNotAfterBehavior, row.usage],
      ),
    );
  }

  /** Gives a key-less issuer its key (a key imported after its certificate); false when it had one by then. */
  async linkKey(mountUuid: string, id: string, keyId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      'UPDATE pki_issuers SET key_id = $3 WHERE mount_uuid = $1 AND issuer_id = $2 AND key_id IS NULL RETURNING issuer_id',
      [mountUuid, id, keyId],
    );
    return rows.length > 0;
  }

  /** Stores the chain a migrated issuer was installed with, read from the first increment's store (once). */
  async setMigratedChain(mountUuid: string, id: string, chainPem: string[]): Promise<void> {
    await this.dataSource.query('UPDATE pki_issuers SET chain_pem = $3 WHERE mount_uuid = $1 AND issuer_id = $2 AND chain_pem IS NULL', [
      mountUuid,
      id,
      chainPem,
    ]);
  }

  async deleteIssuer(mountUuid: string, id: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query('DELETE FROM pki_issuers WHERE mount_uuid = $1 AND issuer_id = $2 RETURNING issuer_id', [
      mountUuid,
      id,
    ]);
    return rows.length > 0;
  }

  async keys(mountUuid: string): Promise<KeyRow[]> {
    const rows: { key_id: string; key_name: string }[] = await this.dataSource.query(
      'SELECT key_id, key_name FROM pki_keys WHERE mount_uuid = $1 ORDER BY key_id',
      [mountUuid],
    );
    return rows.map((r) => ({ id: r.key_id, name: r.key_name }));
  }

  async key(mountUuid: string, id: string): Promise<KeyRow | undefined> {
    const rows: { key_id: string; key_name: string }[] = await this.dataSource.query(
      'SELECT key_id, key_name FROM pki_keys WHERE mount_uuid = $1 AND key_id = $2',
      [mountUuid, id],
    );
    return rows[0] ? { id: rows[0].key_id, name: rows[0].key_name } : undefined;
  }

  async keyIdByName(mountUuid: string, name: string): Promise<string | undefined> {
    const rows: { key_id: string }[] = await this.dataSource.query('SELECT key_id FROM pki_keys WHERE mount_uuid = $1 AND key_name = $2', [mountUuid, name]);
    return rows[0]?.key_id;
  }

  /** The key whose public half has this fingerprint (SHA-256 of its SPKI DER, hex). */
  async keyIdByPublicKey(mountUuid: string, publicKeySha256: string): Promise<string | undefined> {
    const rows: { key_id: string }[] = await this.dataSource.query('SELECT key_id FROM pki_keys WHERE mount_uuid = $1 AND public_key_sha256 = $2', [
      mountUuid,
      publicKeySha256,
    ]);
    return rows[0]?.key_id;
  }

  /** Migrated keys, not fingerprinted yet. */
  async keysWithoutFingerprint(mountUuid: string): Promise<string[]> {
    const rows: { key_id: string }[] = await this.dataSource.query('SELECT key_id FROM pki_keys WHERE mount_uuid = $1 AND public_key_sha256 IS NULL', [
      mountUuid,
    ]);
    return rows.map((r) => r.key_id);
  }

  async setKeyFingerprint(mountUuid: string, id: string, publicKeySha256: string): Promise<void> {
    await this.dataSource.query('UPDATE pki_keys SET public_key_sha256 = $3 WHERE mount_uuid = $1 AND key_id = $2 AND public_key_sha256 IS NULL', [
      mountUuid,
      id,
      publicKeySha256,
    ]);
  }

  /** Stores a key (PKCS#8 DER) as barrier ciphertext unless the mount holds the same key; gives the id of the one stored. */
  async insertKey(mountUuid: string, id: string, name: string, pkcs8Der: Buffer, publicKeySha256: string): Promise<{ id: string; existing: boolean }> {
    const sealed = await this.privateKeys.seal({ mountUuid, keyId: id }, pkcs8Der);
    const inserted: unknown[] = await namesUnique(() =>
      this.dataSource.query(
        'INSERT INTO pki_keys (mount_uuid, key_id, key_name, public_key_sha256, private_key_encrypted) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (mount_uuid, public_key_sha256) DO NOTHING RETURNING key_id',
        [mountUuid, id, name, publicKeySha256, sealed],
      ),
    );
    if (inserted.length > 0) return { id, existing: false };
    return { id: (await this.keyIdByPublicKey(mountUuid, publicKeySha256)) as string, existing: true };
  }

  async renameKey(mountUuid: string, id: string, name: string): Promise<void> {
    await namesUnique(() => this.dataSource.query('UPDATE pki_keys SET key_name = $3 WHERE mount_uuid = $1 AND key_id = $2', [mountUuid, id, name]));
  }

  /** A key's PKCS#8 DER, opened; undefined when there is no such key. */
  async privateKey(mountUuid: string, id: string): Promise<Buffer | undefined> {
    const rows: { private_key_encrypted: Ciphertext }[] = await this.dataSource.query(
      'SELECT private_key_encrypted FROM pki_keys WHERE mount_uuid = $1 AND key_id = $2',
      [mountUuid, id],
    );
    return rows[0] ? this.privateKeys.open({ mountUuid, keyId: id }, rows[0].private_key_encrypted) : undefined;
  }

  /** The issuers using a key. */
  async issuersOfKey(mountUuid: string, keyId: string): Promise<string[]> {
    const rows: { issuer_id: string }[] = await this.dataSource.query(
      'SELECT issuer_id FROM pki_issuers WHERE mount_uuid = $1 AND key_id = $2 ORDER BY issuer_id',
      [mountUuid, keyId],
    );
    return rows.map((r) => r.issuer_id);
  }

  async deleteKey(mountUuid: string, id: string): Promise<void> {
    await this.dataSource.query('DELETE FROM pki_keys WHERE mount_uuid = $1 AND key_id = $2', [mountUuid, id]);
  }

  /** Every issuer and key of the mount (Vault's DELETE root); gives the deleted issuer ids. */
  async deleteAll(mountUuid: string): Promise<string[]> {
    return this.dataSource.transaction(async (m) => {
      const rows: { issuer_id: string }[] = await m.query('DELETE FROM pki_issuers WHERE mount_uuid = $1 RETURNING issuer_id', [mountUuid]);
      await m.query('DELETE FROM pki_keys WHERE mount_uuid = $1', [mountUuid]);
      return rows.map((r) => r.issuer_id);
    });
  }
}
