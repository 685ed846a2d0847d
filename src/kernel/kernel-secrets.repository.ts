/**
 * Small kernel secrets (HMAC keys, signing keys, audit address keys), each stored as barrier
 * ciphertext bound to its name. Values go in and come out of this class as plaintext only.
 */
import { Raw, type DataSource, type EntityManager, type Repository } from 'typeorm';
import { zero } from '../crypto/hmac';
import type { Barrier } from './barrier/barrier';
import { type Ciphertext, SealedColumn } from './barrier/sealed-column';
import { KERNEL_SECRET_VALUE } from './barrier/sealed-columns';
import { KernelSecretEntity } from './kernel-secrets.entity';

/** The location of a kernel secret's value (KERNEL_SECRET_VALUE). */
export function kernelSecretLocation(name: string): string {
  return KERNEL_SECRET_VALUE.location(name);
}

export class KernelSecretsRepository {
  private readonly values: SealedColumn<string>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.values = new SealedColumn(KERNEL_SECRET_VALUE, barrier);
  }

  private get secrets(): Repository<KernelSecretEntity> {
    return this.dataSource.getRepository(KernelSecretEntity);
  }

  /** The same table sealed by another barrier (init seals with the barrier it opened; the server's is still sealed). */
  withBarrier(barrier: Barrier): KernelSecretsRepository {
    return new KernelSecretsRepository(this.dataSource, barrier);
  }

  private async stored(name: string): Promise<Ciphertext | undefined> {
    const row = await this.secrets.findOne({ select: { name: true, valueCiphertext: true }, where: { name } });
    return row?.valueCiphertext as Ciphertext | undefined;
  }

  /** The secret, opened (a fresh Buffer the caller owns and zeroes); undefined when there is none. */
  async get(name: string): Promise<Buffer | undefined> {
    const stored = await this.stored(name);
    return stored && this.values.open(name, stored);
  }

  /** Inserts inside `manager`'s transaction (init). */
  async insert(manager: EntityManager, name: string, value: Buffer): Promise<void> {
    const sealed = await this.values.seal(name, value);
    await manager.createQueryBuilder().insert().into(KernelSecretEntity).values({ name, valueCiphertext: sealed }).updateEntity(false).execute();
  }

  /**
   * The stored secret, opened; when there is none, stores `create()`'s value first (another node may
   * store one at the same moment: the stored one wins). `create`'s Buffer is zeroed here.
   */
  async getOrCreate(name: string, create: () => Buffer): Promise<Buffer> {
    let stored = await this.stored(name);
    if (!stored) {
      const fresh = create();
      try {
        const sealed = await this.values.seal(name, fresh);
        // ON CONFLICT DO NOTHING: the name is the only key.
        await this.secrets.createQueryBuilder().insert().values({ name, valueCiphertext: sealed }).orIgnore().updateEntity(false).execute();
      } finally {
        zero(fresh);
      }
      stored = (await this.stored(name)) as Ciphertext;
    }
    return this.values.open(name, stored);
  }

  async namesWithPrefix(prefix: string): Promise<string[]> {
    const rows = await this.secrets.find({
      select: { name: true },
      where: { name: Raw((name) => `starts_with(${name}, :prefix)`, { prefix }) },
      order: { name: 'ASC' },
    });
    return rows.map((r) => r.name);
  }

  async delete(name: string): Promise<void> {
    await this.secrets.delete({ name });
  }
}
