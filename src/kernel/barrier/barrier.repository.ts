/** Storage of the keyring (under the root key) and its per-term usage counters. */
import type { DataSource, EntityManager } from 'typeorm';
import { entityNames } from '../../database/entity-names';
import { BarrierKeyringEntity, BarrierRotationConfigEntity, BarrierTermUsageEntity } from './barrier.entity';
import type { RotationConfig } from './rotation-config';

export interface StoredKeyring {
  activeTerm: number;
  ciphertext: Buffer;
}

/** Raises term `term`'s counter to `encryptions` (counters only ever grow). */
async function raiseEncryptions(m: DataSource | EntityManager, term: number, encryptions: number): Promise<void> {
  const encryptionsColumn = entityNames(m, BarrierTermUsageEntity).col.encryptions;
  await m
    .createQueryBuilder()
    .update(BarrierTermUsageEntity)
    .set({ encryptions: () => `GREATEST(${encryptionsColumn}, CAST(:encryptions AS bigint))` })
    .where({ term })
    .setParameter('encryptions', encryptions)
    .execute();
}

export class BarrierRepository {
  constructor(private readonly dataSource: DataSource) {}

  async load(): Promise<StoredKeyring | undefined> {
    const row = await this.dataSource
      .getRepository(BarrierKeyringEntity)
      .findOne({ select: { id: true, activeTerm: true, keyringCiphertext: true }, where: { id: 1 } });
    return row ? { activeTerm: row.activeTerm, ciphertext: row.keyringCiphertext } : undefined;
  }

  async encryptionsFor(term: number): Promise<number> {
    const row = await this.dataSource.getRepository(BarrierTermUsageEntity).findOne({ select: { term: true, encryptions: true }, where: { term } });
    return row ? Number(row.encryptions) : 0;
  }

  /** Writes the first keyring; part of the init transaction. */
  async insertInitial(manager: EntityManager, ciphertext: Buffer, installedAt: Date): Promise<void> {
    await manager
      .createQueryBuilder()
      .insert()
      .into(BarrierKeyringEntity)
      .values({ id: 1, activeTerm: 1, keyringCiphertext: ciphertext })
      .updateEntity(false)
      .execute();
    await manager.createQueryBuilder().insert().into(BarrierTermUsageEntity).values({ term: 1, installedAt, encryptions: '0' }).updateEntity(false).execute();
  }

  /**
   * Installs a rotated keyring in one transaction. The row lock serialises rotations across nodes;
   * `expectedActiveTerm` refuses a rotation based on a stale keyring, and `expectedCiphertext` (when
   * known) one by a node whose root key was replaced elsewhere (rekey under an auto seal): false,
   * nothing written (the node reloads the keyring and rotates on top of it).
   */
  async saveRotation(
    expectedActiveTerm: number,
    expectedCiphertext: Buffer | null,
    ciphertext: Buffer,
    newTerm: number,
    installedAt: Date,
    oldTermEncryptions: number,
  ): Promise<boolean> {
    return this.dataSource.transaction(async (m) => {
      const keyrings = m.getRepository(BarrierKeyringEntity);
      const row = await keyrings.findOne({
        select: { id: true, activeTerm: true, keyringCiphertext: true },
        where: { id: 1 },
        lock: { mode: 'pessimistic_write' },
      });
      if (row?.activeTerm !== expectedActiveTerm || (expectedCiphertext && !row.keyringCiphertext.equals(expectedCiphertext))) return false;
      await keyrings.update({ id: 1 }, { activeTerm: newTerm, keyringCiphertext: ciphertext, updatedAt: () => 'now()' });
      await raiseEncryptions(m, expectedActiveTerm, oldTermEncryptions);
      await m.createQueryBuilder().insert().into(BarrierTermUsageEntity).values({ term: newTerm, installedAt, encryptions: '0' }).updateEntity(false).execute();
      return true;
    });
  }

  /** Replaces the keyring ciphertext (a new root key) inside `manager`'s transaction; throws when it changed meanwhile. */
  async replaceKeyringCiphertext(manager: EntityManager, expected: Buffer, ciphertext: Buffer): Promise<void> {
    const keyrings = manager.getRepository(BarrierKeyringEntity);
    const row = await keyrings.findOne({ select: { id: true, keyringCiphertext: true }, where: { id: 1 }, lock: { mode: 'pessimistic_write' } });
    if (!row || !row.keyringCiphertext.equals(expected)) throw new Error('keyring changed concurrently');
    await keyrings.update({ id: 1 }, { keyringCiphertext: ciphertext, updatedAt: () => 'now()' });
  }

  /** Counters only ever grow. */
  async recordEncryptions(term: number, encryptions: number): Promise<void> {
    await raiseEncryptions(this.dataSource, term, encryptions);
  }

  /** Vault's automatic rotation settings (sys/rotate/config); undefined until first written. */
  async loadRotationConfig(): Promise<RotationConfig | undefined> {
    const row = await this.dataSource
      .getRepository(BarrierRotationConfigEntity)
      .findOne({ select: { id: true, maxOperations: true, intervalSeconds: true, enabled: true }, where: { id: 1 } });
    return row ? { maxOperations: Number(row.maxOperations), intervalSeconds: row.intervalSeconds, enabled: row.enabled } : undefined;
  }

  async saveRotationConfig(c: RotationConfig): Promise<void> {
    await this.dataSource
      .getRepository(BarrierRotationConfigEntity)
      .upsert({ id: 1, maxOperations: String(c.maxOperations), intervalSeconds: c.intervalSeconds, enabled: c.enabled, updatedAt: () => 'now()' }, ['id']);
  }
}
