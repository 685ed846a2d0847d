/**
 * The transit engine's keys: a policy row per (mount, name) and a row per key version whose raw key
 * is sealed in TRANSIT_KEY_MATERIAL (bound to mount, name and version: a version moved to another
 * key, version or mount fails to open).
 *
 * Invariants: a key's versions are 1..latest_version with no gap; create inserts the policy and
 * version 1 together (a concurrent create of the same name leaves one); rotate locks the policy
 * row, adds version latest+1 and bumps latest_version in one transaction; delete removes the
 * policy and every version together.
 */
import type { DataSource, EntityManager } from 'typeorm';
import type { Barrier } from '../../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../../kernel/barrier/sealed-column';
import { TRANSIT_KEY_MATERIAL } from '../../kernel/barrier/sealed-columns';
import { TransitKeyEntity, TransitKeyVersionEntity } from './transit.entity';

export interface TransitKeyPolicy {
  name: string;
  type: string;
  latestVersion: number;
  minDecryptionVersion: number;
  minEncryptionVersion: number;
  deletionAllowed: boolean;
  /** Version → creation time (unix seconds). */
  versionTimes: Record<string, number>;
}

export interface TransitConfigChange {
  deletionAllowed?: boolean;
  minDecryptionVersion?: number;
  minEncryptionVersion?: number;
}

export class TransitRepository {
  private readonly material: SealedColumn<{ mountUuid: string; name: string; version: number }>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.material = new SealedColumn(TRANSIT_KEY_MATERIAL, barrier);
  }

  async names(mountUuid: string): Promise<string[]> {
    const rows = await this.dataSource.getRepository(TransitKeyEntity).find({ select: { name: true }, where: { mountUuid }, order: { name: 'ASC' } });
    return rows.map((r) => r.name);
  }

  async policy(mountUuid: string, name: string, manager: EntityManager = this.dataSource.manager): Promise<TransitKeyPolicy | undefined> {
    const row = await manager.getRepository(TransitKeyEntity).findOne({ where: { mountUuid, name } });
    if (!row) return undefined;
    const versions = await manager
      .getRepository(TransitKeyVersionEntity)
      .find({ select: { version: true, createdAt: true }, where: { mountUuid, name }, order: { version: 'ASC' } });
    return {
      name: row.name,
      type: row.type,
      latestVersion: row.latestVersion,
      minDecryptionVersion: row.minDecryptionVersion,
      minEncryptionVersion: row.minEncryptionVersion,
      deletionAllowed: row.deletionAllowed,
      versionTimes: Object.fromEntries(versions.map((v) => [String(v.version), Math.floor(v.createdAt.getTime() / 1000)])),
    };
  }

  /** The raw key of one version, opened; undefined when the version is not stored. */
  async keyMaterial(mountUuid: string, name: string, version: number): Promise<Buffer | undefined> {
    const row = await this.dataSource
      .getRepository(TransitKeyVersionEntity)
      .findOne({ select: { version: true, keyCiphertext: true }, where: { mountUuid, name, version } });
    return row ? this.material.open({ mountUuid, name, version }, row.keyCiphertext as Ciphertext) : undefined;
  }

  /** Creates the key with version 1 = `key`; false when it already exists (nothing changed). */
  async create(mountUuid: string, name: string, type: string, key: Buffer): Promise<boolean> {
    const sealed = await this.material.seal({ mountUuid, name, version: 1 }, key);
    return this.dataSource.transaction(async (m) => {
      const inserted = await m
        .createQueryBuilder()
        .insert()
        .into(TransitKeyEntity)
        .values({ mountUuid, name, type, latestVersion: 1 })
        .orIgnore()
        .returning(['name'])
        .execute();
      if ((inserted.raw as unknown[]).length === 0) return false;
      await m.getRepository(TransitKeyVersionEntity).insert({ mountUuid, name, version: 1, keyCiphertext: sealed });
      return true;
    });
  }

  /** Adds version latest+1 with `key` (from `newKey`, called once the row is locked); undefined when there is no such key. */
  async rotate(mountUuid: string, name: string, newKey: () => Buffer): Promise<TransitKeyPolicy | undefined> {
    return this.dataSource.transaction(async (m) => {
      const row = await m.getRepository(TransitKeyEntity).findOne({ where: { mountUuid, name }, lock: { mode: 'pessimistic_write' } });
      if (!row) return undefined;
      const version = row.latestVersion + 1;
      const sealed = await this.material.seal({ mountUuid, name, version }, newKey());
      await m.getRepository(TransitKeyVersionEntity).insert({ mountUuid, name, version, keyCiphertext: sealed });
      await m.getRepository(TransitKeyEntity).update({ mountUuid, name }, { latestVersion: version });
      return this.policy(mountUuid, name, m);
    });
  }

  /** Applies `change` after `check` accepts it against the locked row; undefined when there is no such key. */
  async configure(mountUuid: string, name: string, change: (current: TransitKeyPolicy) => TransitConfigChange): Promise<TransitKeyPolicy | undefined> {
    return this.dataSource.transaction(async (m) => {
      const row = await m.getRepository(TransitKeyEntity).findOne({ where: { mountUuid, name }, lock: { mode: 'pessimistic_write' } });
      if (!row) return undefined;
      const current = (await this.policy(mountUuid, name, m)) as TransitKeyPolicy;
      const values = change(current);
      if (Object.keys(values).length > 0) await m.getRepository(TransitKeyEntity).update({ mountUuid, name }, values);
      return this.policy(mountUuid, name, m);
    });
  }

  async delete(mountUuid: string, name: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await m.getRepository(TransitKeyVersionEntity).delete({ mountUuid, name });
      await m.getRepository(TransitKeyEntity).delete({ mountUuid, name });
    });
  }
}
