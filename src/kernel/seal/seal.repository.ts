/** The seal configuration row: shares, threshold, the wrapped root key and the cluster identity. */
import type { DataSource, EntityManager } from 'typeorm';
import { SealConfigEntity } from './seal.entity';

export interface StoredSealConfig {
  sealType: string;
  secretShares: number;
  secretThreshold: number;
  rootKeyWrapped: Buffer;
  clusterName: string;
  clusterId: string;
}

export class SealRepository {
  constructor(readonly dataSource: DataSource) {}

  async load(): Promise<StoredSealConfig | undefined> {
    const row = await this.dataSource.getRepository(SealConfigEntity).findOneBy({ id: 1 });
    return row ?? undefined;
  }

  /** Fails with a unique violation when another node initialised first. */
  async insert(manager: EntityManager, config: StoredSealConfig): Promise<void> {
    await manager.getRepository(SealConfigEntity).insert({ id: 1, ...config });
  }

  /** Rekey commit: new share layout and the root key under the new unseal key, atomically. */
  async replaceUnsealKey(expectedWrapped: Buffer, shares: number, threshold: number, wrapped: Buffer): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const seals = m.getRepository(SealConfigEntity);
      const row = await seals.findOne({ select: { id: true, rootKeyWrapped: true }, where: { id: 1 }, lock: { mode: 'pessimistic_write' } });
      if (!row || !row.rootKeyWrapped.equals(expectedWrapped)) throw new Error('seal configuration changed concurrently');
      await seals.update({ id: 1 }, { secretShares: shares, secretThreshold: threshold, rootKeyWrapped: wrapped, updatedAt: () => 'now()' });
    });
  }
}
