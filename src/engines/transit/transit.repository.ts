/**
 * The transit engine's keys: a policy row per (mount, name) and a row per key version whose
 * material (`encodeMaterial`) is sealed in TRANSIT_KEY_MATERIAL, bound to mount, name and version:
 * a version moved to another key, version or mount fails to open.
 *
 * Invariants: a key's stored versions are min_available_version (or 1)..latest_version with no gap;
 * create inserts the policy and version 1 together (a concurrent create of the same name leaves
 * one); rotate and every other change lock the policy row and commit in one transaction; delete
 * removes the policy and every version together.
 */
import type { LeaderFence } from '../../framework/backend';
import { In, LessThan, type DataSource, type EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { encodeMaterial, decodeMaterial, type GeneratedVersion, type KeyVersionMaterial, type TransitKeyType } from '../../crypto/transit/key-types';
import type { Barrier } from '../../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../../kernel/barrier/sealed-column';
import { TRANSIT_KEY_MATERIAL } from '../../kernel/barrier/sealed-columns';
import { TransitKeyEntity, TransitKeyHistoryEntity, TransitKeyVersionEntity, TransitMountConfigEntity } from './transit.entity';

export interface TransitVersionInfo {
  createdAt: Date;
  /** Asymmetric types: what the key read shows. */
  publicKey?: string;
  /** This version's convergent scheme (0: the policy's). */
  convergentVersion: number;
  publicKeyOnly: boolean;
  /** Operations counted with this version so far (written in batches: transit-usage.ts). */
  operations: number;
}

/** A key's policy: everything but the key material. */
export interface TransitKeyPolicy {
  name: string;
  type: TransitKeyType;
  latestVersion: number;
  minDecryptionVersion: number;
  minEncryptionVersion: number;
  minAvailableVersion: number;
  deletionAllowed: boolean;
  derived: boolean;
  kdf: number;
  convergentEncryption: boolean;
  convergentVersion: number;
  exportable: boolean;
  allowPlaintextBackup: boolean;
  /** Seconds; 0 = never. */
  autoRotatePeriod: number;
  keySize: number;
  importedKey: boolean;
  allowImportedKeyRotation: boolean;
  managedKeyName: string | null;
  managedKeyId: string | null;
  backupInfo: { time: string; version: number } | null;
  restoreInfo: { time: string; version: number } | null;
  /** 0: no usage policy. */
  autoRotateAfterOperations: number;
  failedRotations: number;
  /** The stored versions, by version number. */
  versions: Record<string, TransitVersionInfo>;
}

/** The columns a change may set (policy fields other than name, type and versions). */
export type TransitPolicyChange = Partial<Omit<TransitKeyPolicy, 'name' | 'type' | 'versions'>>;

/** A new key's settings; unset fields take the column defaults. */
export type NewTransitKey = { type: TransitKeyType } & TransitPolicyChange;

/** A version to store: its material and what is shown of it. */
export interface NewTransitVersion extends GeneratedVersion {
  createdAt?: Date;
  convergentVersion?: number;
  publicKeyOnly?: boolean;
}

/** One history row (issue 29); `at` is the transaction's time. */
export interface TransitHistoryEntry {
  event: 'create' | 'rotation' | 'config' | 'trim' | 'import' | 'restore' | 'rotation-failed';
  /** rotation: manual, period, usage or compliance; otherwise what caused it. */
  reason: string;
  /** Who: the token's display name and accessor, or `system`. */
  actor?: string;
  fromVersion?: number;
  toVersion?: number;
  details?: Record<string, unknown>;
}

export interface TransitHistoryRow extends TransitHistoryEntry {
  id: number;
  at: Date;
}

export interface TransitMountConfig {
  disableUpsert: boolean;
  cacheSize: number;
}

type VersionKey = { mountUuid: string; name: string; version: number };
/** A version row ready to insert: material sealed, creation time the database's unless restored. */
type SealedVersionRow = Omit<TransitKeyVersionEntity, 'mount' | 'createdAt' | 'operations'> & { createdAt?: Date };

export class TransitRepository {
  private readonly material: SealedColumn<VersionKey>;

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
    const versions = await manager.getRepository(TransitKeyVersionEntity).find({
      select: { version: true, createdAt: true, publicKey: true, convergentVersion: true, publicKeyOnly: true, operations: true },
      where: { mountUuid, name },
      order: { version: 'ASC' },
    });
    return {
      name: row.name,
      type: row.type as TransitKeyType,
      latestVersion: row.latestVersion,
      minDecryptionVersion: row.minDecryptionVersion,
      minEncryptionVersion: row.minEncryptionVersion,
      minAvailableVersion: row.minAvailableVersion,
      deletionAllowed: row.deletionAllowed,
      derived: row.derived,
      kdf: row.kdf,
      convergentEncryption: row.convergentEncryption,
      convergentVersion: row.convergentVersion,
      exportable: row.exportable,
      allowPlaintextBackup: row.allowPlaintextBackup,
      autoRotatePeriod: row.autoRotatePeriod,
      keySize: row.keySize,
      importedKey: row.importedKey,
      allowImportedKeyRotation: row.allowImportedKeyRotation,
      managedKeyName: row.managedKeyName,
      managedKeyId: row.managedKeyId,
      backupInfo: row.backupInfo,
      restoreInfo: row.restoreInfo,
      autoRotateAfterOperations: Number(row.autoRotateAfterOperations),
      failedRotations: row.failedRotations,
      versions: Object.fromEntries(
        versions.map((v) => [
          String(v.version),
          {
            createdAt: v.createdAt,
            publicKey: v.publicKey ?? undefined,
            convergentVersion: v.convergentVersion,
            publicKeyOnly: v.publicKeyOnly,
            operations: Number(v.operations),
          },
        ]),
      ),
    };
  }

  /** One version's material, opened; undefined when the version is not stored. */
  async keyMaterial(mountUuid: string, name: string, version: number): Promise<KeyVersionMaterial | undefined> {
    const row = await this.dataSource
      .getRepository(TransitKeyVersionEntity)
      .findOne({ select: { version: true, keyCiphertext: true }, where: { mountUuid, name, version } });
    return row ? decodeMaterial(await this.material.open({ mountUuid, name, version }, row.keyCiphertext as Ciphertext)) : undefined;
  }

  /** Creates the key with `versions` as 1..n; false when it already exists (nothing changed). */
  async create(mountUuid: string, name: string, key: NewTransitKey, versions: NewTransitVersion[], history?: TransitHistoryEntry): Promise<boolean> {
    const sealed = await Promise.all(versions.map((v, i) => this.versionRow(mountUuid, name, i + 1, v)));
    return this.dataSource.transaction((m) =>
      this.insertKey(
        m,
        mountUuid,
        name,
        { ...key, latestVersion: versions.length },
        sealed,
        history && { toVersion: versions.length || undefined, ...history },
      ),
    );
  }

  /**
   * Under the key's row lock: `decide` sees the current policy and returns the versions to append
   * (latest+1, …) and the policy change; both commit together. Undefined when there is no such key.
   * With a fence (automatic rotation, the leader's work), the fence is checked last: only the leader's change commits.
   */
  async update(
    mountUuid: string,
    name: string,
    decide: (current: TransitKeyPolicy) => TransitUpdate,
    fence?: LeaderFence,
  ): Promise<TransitKeyPolicy | undefined> {
    return this.dataSource.transaction(async (m) => {
      const current = await this.lockedPolicy(m, mountUuid, name);
      if (!current) return undefined;
      const { append = [], change = {}, history } = decide(current);
      const rows = await Promise.all(append.map((v, i) => this.versionRow(mountUuid, name, current.latestVersion + 1 + i, v)));
      if (rows.length > 0) await m.getRepository(TransitKeyVersionEntity).insert(rows);
      const values: TransitPolicyChange = { ...change };
      if (rows.length > 0) values.latestVersion = current.latestVersion + rows.length;
      if (Object.keys(values).length > 0) await m.getRepository(TransitKeyEntity).update({ mountUuid, name }, keyColumns(values));
      if (history)
        await this.insertHistory(m, mountUuid, name, {
          ...(rows.length > 0 ? { fromVersion: current.latestVersion, toVersion: current.latestVersion + rows.length } : {}),
          ...history,
        });
      if (fence) await fence.checkFence(m);
      return this.policy(mountUuid, name, m);
    });
  }

  async delete(mountUuid: string, name: string): Promise<void> {
    await this.dataSource.transaction((m) => this.deleteKey(m, mountUuid, name));
  }

  /** The key's policy read under its row lock (held until `m` commits); undefined when there is no such key. */
  private async lockedPolicy(m: EntityManager, mountUuid: string, name: string): Promise<TransitKeyPolicy | undefined> {
    const row = await m.getRepository(TransitKeyEntity).findOne({ select: { name: true }, where: { mountUuid, name }, lock: { mode: 'pessimistic_write' } });
    return row ? this.policy(mountUuid, name, m) : undefined;
  }

  /** Inserts the policy row, then its sealed versions and the history row; false (nothing written) when the name is taken. */
  private async insertKey(
    m: EntityManager,
    mountUuid: string,
    name: string,
    key: NewTransitKey,
    sealed: SealedVersionRow[],
    history: TransitHistoryEntry | undefined,
  ): Promise<boolean> {
    const inserted = await m
      .createQueryBuilder()
      .insert()
      .into(TransitKeyEntity)
      .values({ ...keyColumns(key), type: key.type, mountUuid, name })
      .orIgnore()
      .returning(['name'])
      .execute();
    if ((inserted.raw as unknown[]).length === 0) return false;
    if (sealed.length > 0) await m.getRepository(TransitKeyVersionEntity).insert(sealed);
    if (history) await this.insertHistory(m, mountUuid, name, history);
    return true;
  }

  /** Removes the key's versions and its policy row. */
  private async deleteKey(m: EntityManager, mountUuid: string, name: string): Promise<void> {
    await m.getRepository(TransitKeyVersionEntity).delete({ mountUuid, name });
    await m.getRepository(TransitKeyEntity).delete({ mountUuid, name });
  }

  async mountConfig(mountUuid: string): Promise<TransitMountConfig> {
    const row = await this.dataSource.getRepository(TransitMountConfigEntity).findOne({ where: { mountUuid } });
    return { disableUpsert: row?.disableUpsert ?? false, cacheSize: row?.cacheSize ?? 0 };
  }

  async setMountConfig(mountUuid: string, change: Partial<TransitMountConfig>): Promise<TransitMountConfig> {
    const current = await this.mountConfig(mountUuid);
    const next = { ...current, ...change };
    await this.dataSource.getRepository(TransitMountConfigEntity).upsert({ mountUuid, ...next }, ['mountUuid']);
    return next;
  }

  private async versionRow(mountUuid: string, name: string, version: number, v: NewTransitVersion): Promise<SealedVersionRow> {
    const keyCiphertext = await this.material.seal({ mountUuid, name, version }, encodeMaterial(v.material));
    return {
      mountUuid,
      name,
      version,
      keyCiphertext,
      publicKey: v.publicKey ?? null,
      convergentVersion: v.convergentVersion ?? 0,
      publicKeyOnly: v.publicKeyOnly ?? false,
      ...(v.createdAt ? { createdAt: v.createdAt } : {}),
    };
  }

  /**
   * Trim: under the key's row lock `decide` sees the current policy and gives the new
   * min_available_version (it throws to refuse); the versions below it are deleted and the policy
   * changed in one transaction. Undefined when there is no such key.
   */
  async trim(
    mountUuid: string,
    name: string,
    decide: (current: TransitKeyPolicy) => number,
    history?: TransitHistoryEntry,
  ): Promise<TransitKeyPolicy | undefined> {
    return this.dataSource.transaction(async (m) => {
      const current = await this.lockedPolicy(m, mountUuid, name);
      if (!current) return undefined;
      const minAvailableVersion = decide(current);
      await m.getRepository(TransitKeyVersionEntity).delete({ mountUuid, name, version: LessThan(minAvailableVersion) });
      await m.getRepository(TransitKeyEntity).update({ mountUuid, name }, { minAvailableVersion });
      if (history) await this.insertHistory(m, mountUuid, name, { details: { min_available_version: minAvailableVersion }, ...history });
      return this.policy(mountUuid, name, m);
    });
  }

  /** Adds `delta` operations to a version's count; the new count (0 when the version is gone). */
  async addUsage(mountUuid: string, name: string, version: number, delta: number): Promise<number> {
    const result = await this.dataSource
      .createQueryBuilder()
      .update(TransitKeyVersionEntity)
      .set({ operations: () => `operations + ${Math.trunc(delta)}` })
      .where({ mountUuid, name, version })
      .returning(['operations'])
      .execute();
    const rows = result.raw as { operations: string }[];
    return rows.length > 0 ? Number(rows[0].operations) : 0;
  }

  /** A key's history, oldest first; `events` narrows it. */
  async history(mountUuid: string, name: string, events?: TransitHistoryEntry['event'][]): Promise<TransitHistoryRow[]> {
    const rows = await this.dataSource
      .getRepository(TransitKeyHistoryEntity)
      .find({ where: { mountUuid, name, ...(events ? { event: In(events) } : {}) }, order: { id: 'ASC' } });
    return rows.map((r) => ({
      id: Number(r.id),
      at: r.at,
      event: r.event as TransitHistoryEntry['event'],
      reason: r.reason,
      actor: r.actor ?? undefined,
      fromVersion: r.fromVersion ?? undefined,
      toVersion: r.toVersion ?? undefined,
      details: r.details ?? undefined,
    }));
  }

  /** Records an event outside a key change (a failed automatic rotation), counting failures on the key. */
  async recordFailure(mountUuid: string, name: string, entry: TransitHistoryEntry): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await this.insertHistory(m, mountUuid, name, entry);
      await m.getRepository(TransitKeyEntity).increment({ mountUuid, name }, 'failedRotations', 1);
    });
  }

  /**
   * A restored key: its policy and exactly `versions` (each with its own number), in one
   * transaction; with `force` an existing key of that name and all its versions are replaced.
   * False (nothing changed) when the key exists and `force` is not set.
   */
  async restore(
    mountUuid: string,
    name: string,
    key: NewTransitKey,
    versions: (NewTransitVersion & { version: number })[],
    force: boolean,
    history?: TransitHistoryEntry,
  ): Promise<boolean> {
    const sealed = await Promise.all(versions.map((v) => this.versionRow(mountUuid, name, v.version, v)));
    return this.dataSource.transaction(async (m) => {
      if (force) await this.deleteKey(m, mountUuid, name);
      return this.insertKey(m, mountUuid, name, key, sealed, history && { toVersion: key.latestVersion, ...history });
    });
  }

  /**
   * Under the key's row lock: `decide` sees the current policy and returns new material for its
   * existing `version` (a private key completing a public-key-only version). Undefined when there
   * is no such key.
   */
  async replaceVersion(
    mountUuid: string,
    name: string,
    version: number,
    decide: (current: TransitKeyPolicy) => NewTransitVersion,
  ): Promise<TransitKeyPolicy | undefined> {
    return this.dataSource.transaction(async (m) => {
      const current = await this.lockedPolicy(m, mountUuid, name);
      if (!current) return undefined;
      const replacement = decide(current);
      const { keyCiphertext, publicKey, publicKeyOnly } = await this.versionRow(mountUuid, name, version, replacement);
      await m.getRepository(TransitKeyVersionEntity).update({ mountUuid, name, version }, { keyCiphertext, publicKey, publicKeyOnly });
      return this.policy(mountUuid, name, m);
    });
  }

  /**
   * Every key with its latest version's age and count, for health summaries: one query over the
   * keys joined to their latest version by primary key (`mountUuid` undefined: every mount).
   */
  async summaryRows(mountUuid?: string): Promise<TransitSummaryRow[]> {
    const q = this.dataSource
      .getRepository(TransitKeyEntity)
      .createQueryBuilder('k')
      .innerJoin(TransitKeyVersionEntity, 'v', 'v.mount_uuid = k.mount_uuid AND v.name = k.name AND v.version = k.latest_version')
      .select(['k.mount_uuid AS "mountUuid"', 'k.name AS name', 'k.type AS type', 'k.latest_version AS "latestVersion"'])
      .addSelect(['k.auto_rotate_period AS "autoRotatePeriod"', 'k.auto_rotate_after_operations AS "autoRotateAfterOperations"'])
      .addSelect(['k.failed_rotations AS "failedRotations"', 'k.exportable AS exportable', 'k.allow_plaintext_backup AS "allowPlaintextBackup"'])
      .addSelect(['k.managed_key_id AS "managedKeyId"', 'v.created_at AS "latestCreatedAt"', 'v.operations AS "latestOperations"'])
      .addSelect(['k.min_decryption_version AS "minDecryptionVersion"', 'k.min_encryption_version AS "minEncryptionVersion"'])
      .addSelect(['k.min_available_version AS "minAvailableVersion"']);
    if (mountUuid) q.where('k.mount_uuid = :mountUuid', { mountUuid });
    const rows = await q.getRawMany<Record<string, unknown>>();
    return rows.map((r) => ({
      mountUuid: String(r.mountUuid),
      name: String(r.name),
      type: r.type as TransitKeyType,
      latestVersion: Number(r.latestVersion),
      autoRotatePeriod: Number(r.autoRotatePeriod),
      autoRotateAfterOperations: Number(r.autoRotateAfterOperations),
      failedRotations: Number(r.failedRotations),
      exportable: r.exportable === true,
      allowPlaintextBackup: r.allowPlaintextBackup === true,
      managedKeyId: (r.managedKeyId as string | null) ?? null,
      latestCreatedAt: new Date(r.latestCreatedAt as string | Date),
      latestOperations: Number(r.latestOperations),
      minDecryptionVersion: Number(r.minDecryptionVersion),
      minEncryptionVersion: Number(r.minEncryptionVersion),
      minAvailableVersion: Number(r.minAvailableVersion),
    }));
  }

  private async insertHistory(m: EntityManager, mountUuid: string, name: string, e: TransitHistoryEntry): Promise<void> {
    await m.getRepository(TransitKeyHistoryEntity).insert({
      mountUuid,
      name,
      event: e.event,
      reason: e.reason,
      actor: e.actor ?? null,
      fromVersion: e.fromVersion ?? null,
      toVersion: e.toVersion ?? null,
      details: (e.details ?? null) as QueryDeepPartialEntity<TransitKeyHistoryEntity>['details'],
    });
  }

  /**
   * Names of the mount's keys whose latest version is older than their auto_rotate_period at `now`
   * and that auto-rotation may rotate (not managed_key; imported only with allow_imported_key_rotation).
   * A hint: the rotation re-checks under the key's lock.
   */
  async dueForAutoRotation(mountUuid: string, now: Date): Promise<string[]> {
    const rows: { name: string }[] = await this.dataSource
      .getRepository(TransitKeyEntity)
      .createQueryBuilder('k')
      .select('k.name', 'name')
      .innerJoin(TransitKeyVersionEntity, 'v', 'v.mount_uuid = k.mount_uuid AND v.name = k.name AND v.version = k.latest_version')
      .where('k.mount_uuid = :mountUuid', { mountUuid })
      .andWhere("k.auto_rotate_period > 0 AND k.type <> 'managed_key' AND (NOT k.imported_key OR k.allow_imported_key_rotation)")
      .andWhere('v.created_at + make_interval(secs => k.auto_rotate_period) < :now', { now })
      .orderBy('k.name')
      .getRawMany();
    return rows.map((r) => r.name);
  }
}

/** A key as the health summaries see it (summaryRows). */
export interface TransitSummaryRow {
  mountUuid: string;
  name: string;
  type: TransitKeyType;
  latestVersion: number;
  autoRotatePeriod: number;
  autoRotateAfterOperations: number;
  failedRotations: number;
  exportable: boolean;
  allowPlaintextBackup: boolean;
  managedKeyId: string | null;
  latestCreatedAt: Date;
  latestOperations: number;
  minDecryptionVersion: number;
  minEncryptionVersion: number;
  minAvailableVersion: number;
}

/** What `update`'s decision returns: versions to append, columns to change, the history row. */
export interface TransitUpdate {
  append?: NewTransitVersion[];
  change?: TransitPolicyChange;
  history?: TransitHistoryEntry;
}

/** The entity's column values of a policy change (bigint columns are strings in the entity). */
function keyColumns(change: TransitPolicyChange): Omit<TransitPolicyChange, 'autoRotateAfterOperations'> & { autoRotateAfterOperations?: string } {
  const { autoRotateAfterOperations, ...rest } = change;
  return autoRotateAfterOperations === undefined ? rest : { ...rest, autoRotateAfterOperations: String(autoRotateAfterOperations) };
}
