/** The seal configuration row: shares, threshold, the wrapped root key, the recovery layout and the cluster identity. */
import type { DataSource, EntityManager } from 'typeorm';
import type { WrappedRootKey } from './seal-provider';
import { SealConfigEntity } from './seal.entity';

/** Recovery keys of an auto seal: their layout and the check value that proves a combined recovery key. */
export interface RecoveryLayout {
  shares: number;
  threshold: number;
  check: Buffer;
}

export interface StoredSealConfig {
  sealType: 'shamir' | 'pkcs11';
  secretShares: number;
  secretThreshold: number;
  rootKey: WrappedRootKey;
  /** Set exactly for pkcs11. */
  recovery?: RecoveryLayout;
  clusterName: string;
  clusterId: string;
}

function fromRow(row: SealConfigEntity): StoredSealConfig {
  const hsmKey =
    row.hsmMechanism === null
      ? undefined
      : {
          mechanism: row.hsmMechanism,
          ...(row.hsmKeyLabel !== null ? { label: row.hsmKeyLabel } : {}),
          ...(row.hsmKeyId !== null ? { id: row.hsmKeyId } : {}),
        };
  const recovery =
    row.recoveryShares === null || row.recoveryThreshold === null || row.recoveryKeyCheck === null
      ? undefined
      : { shares: row.recoveryShares, threshold: row.recoveryThreshold, check: row.recoveryKeyCheck };
  return {
    sealType: row.sealType as StoredSealConfig['sealType'],
    secretShares: row.secretShares,
    secretThreshold: row.secretThreshold,
    rootKey: { ciphertext: row.rootKeyWrapped, ...(hsmKey ? { hsmKey } : {}) },
    ...(recovery ? { recovery } : {}),
    clusterName: row.clusterName,
    clusterId: row.clusterId,
  };
}

function rootKeyColumns(rootKey: WrappedRootKey): Pick<SealConfigEntity, 'rootKeyWrapped' | 'hsmKeyLabel' | 'hsmKeyId' | 'hsmMechanism'> {
  return {
    rootKeyWrapped: rootKey.ciphertext,
    hsmKeyLabel: rootKey.hsmKey?.label ?? null,
    hsmKeyId: rootKey.hsmKey?.id ?? null,
    hsmMechanism: rootKey.hsmKey?.mechanism ?? null,
  };
}

export class SealRepository {
  constructor(readonly dataSource: DataSource) {}

  async load(): Promise<StoredSealConfig | undefined> {
    const row = await this.dataSource.getRepository(SealConfigEntity).findOneBy({ id: 1 });
    return row ? fromRow(row) : undefined;
  }

  /** Fails with a unique violation when another node initialised first. */
  async insert(manager: EntityManager, config: StoredSealConfig): Promise<void> {
    await manager.getRepository(SealConfigEntity).insert({
      id: 1,
      sealType: config.sealType,
      secretShares: config.secretShares,
      secretThreshold: config.secretThreshold,
      ...rootKeyColumns(config.rootKey),
      recoveryShares: config.recovery?.shares ?? null,
      recoveryThreshold: config.recovery?.threshold ?? null,
      recoveryKeyCheck: config.recovery?.check ?? null,
      clusterName: config.clusterName,
      clusterId: config.clusterId,
    });
  }

  /**
   * Seal migration's commit, with the keyring re-encrypted under the new root key by `withinTransaction`:
   * the seal type, layouts and wrapped root key replaced in the same transaction, so a crash leaves the
   * old seal or the new one. Throws when the row changed meanwhile.
   */
  async replaceSeal(
    expectedRootKey: Buffer,
    next: Pick<StoredSealConfig, 'sealType' | 'secretShares' | 'secretThreshold' | 'rootKey' | 'recovery'>,
    withinTransaction: (manager: EntityManager) => Promise<void>,
  ): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const seals = m.getRepository(SealConfigEntity);
      const row = await seals.findOne({ select: { id: true, rootKeyWrapped: true }, where: { id: 1 }, lock: { mode: 'pessimistic_write' } });
      if (!row || !row.rootKeyWrapped.equals(expectedRootKey)) throw new Error('seal configuration changed concurrently');
      await seals.update(
        { id: 1 },
        {
          sealType: next.sealType,
          secretShares: next.secretShares,
          secretThreshold: next.secretThreshold,
          ...rootKeyColumns(next.rootKey),
          recoveryShares: next.recovery?.shares ?? null,
          recoveryThreshold: next.recovery?.threshold ?? null,
          recoveryKeyCheck: next.recovery?.check ?? null,
          updatedAt: () => 'now()',
        },
      );
      await withinTransaction(m);
    });
  }

  /**
   * Replaces what `expected` (the stored root key ciphertext) says, atomically: a rekey's new share
   * layout and wrapping, or the same root key rewrapped under a new HSM key. Throws when the row
   * changed meanwhile (another node committed first).
   */
  async replaceRootKey(expected: Buffer, rootKey: WrappedRootKey, shares?: { shares: number; threshold: number }): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const seals = m.getRepository(SealConfigEntity);
      const row = await seals.findOne({ select: { id: true, rootKeyWrapped: true }, where: { id: 1 }, lock: { mode: 'pessimistic_write' } });
      if (!row || !row.rootKeyWrapped.equals(expected)) throw new Error('seal configuration changed concurrently');
      await seals.update(
        { id: 1 },
        { ...rootKeyColumns(rootKey), ...(shares ? { secretShares: shares.shares, secretThreshold: shares.threshold } : {}), updatedAt: () => 'now()' },
      );
    });
  }

  /**
   * A recovery rekey's commit: the new recovery layout and check value in one conditional UPDATE,
   * applied only over `expectedCheck` (the check value the submitted shares were proven against).
   * Throws when the row changed meanwhile (another node committed first).
   */
  async replaceRecoveryKey(expectedCheck: Buffer, recovery: RecoveryLayout): Promise<void> {
    const result = await this.dataSource
      .createQueryBuilder()
      .update(SealConfigEntity)
      .set({ recoveryShares: recovery.shares, recoveryThreshold: recovery.threshold, recoveryKeyCheck: recovery.check, updatedAt: () => 'now()' })
      .where({ id: 1, recoveryKeyCheck: expectedCheck })
      .execute();
    if (result.affected !== 1) throw new Error('seal configuration changed concurrently');
  }
}
