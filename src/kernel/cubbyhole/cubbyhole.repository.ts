/**
 * Per-token storage (the `cubbyhole/` engine and response-wrapping tokens). Values are barrier
 * ciphertext bound to the owning token's HMAC and the path; rows are deleted with their token.
 */
import { Raw, type DataSource, type Repository } from 'typeorm';
import type { Barrier } from '../barrier/barrier';
import { type Ciphertext, SealedColumn } from '../barrier/sealed-column';
import { CUBBYHOLE_VALUE } from '../barrier/sealed-columns';
import { CubbyholeEntryEntity } from './cubbyhole.entity';

export class CubbyholeRepository {
  private readonly values: SealedColumn<{ tokenHmac: Buffer; path: string }>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.values = new SealedColumn(CUBBYHOLE_VALUE, barrier);
  }

  private get entries(): Repository<CubbyholeEntryEntity> {
    return this.dataSource.getRepository(CubbyholeEntryEntity);
  }

  async get(tokenHmac: Buffer, path: string): Promise<Buffer | undefined> {
    const row = await this.entries.findOne({ select: { tokenHmac: true, path: true, valueCiphertext: true }, where: { tokenHmac, path } });
    return row ? this.values.open({ tokenHmac, path }, row.valueCiphertext as Ciphertext) : undefined;
  }

  async put(tokenHmac: Buffer, path: string, value: Buffer): Promise<void> {
    const ciphertext = await this.values.seal({ tokenHmac, path }, value);
    await this.entries.upsert({ tokenHmac, path, valueCiphertext: ciphertext }, ['tokenHmac', 'path']);
  }

  async delete(tokenHmac: Buffer, path: string): Promise<void> {
    await this.entries.delete({ tokenHmac, path });
  }

  /**
   * Removes and returns the value in one statement: of concurrent callers exactly one gets it
   * (what makes a wrapping token single-use).
   */
  async take(tokenHmac: Buffer, path: string): Promise<Buffer | undefined> {
    const result = await this.entries.createQueryBuilder().delete().where({ tokenHmac, path }).returning(['valueCiphertext']).execute();
    const rows = result.raw as { value_ciphertext: Ciphertext }[];
    return rows[0] ? this.values.open({ tokenHmac, path }, rows[0].value_ciphertext) : undefined;
  }

  /** The keys directly under `prefix` (Vault's list: sub-folders end in `/`), sorted. */
  async list(tokenHmac: Buffer, prefix: string): Promise<string[]> {
    const rows = await this.entries.find({
      select: { tokenHmac: true, path: true },
      where: { tokenHmac, path: Raw((p) => `starts_with(${p}, :prefix)`, { prefix }) },
      order: { path: 'ASC' },
    });
    const keys = new Set<string>();
    for (const { path } of rows) {
      const rest = path.slice(prefix.length);
      const slash = rest.indexOf('/');
      keys.add(slash >= 0 ? rest.slice(0, slash + 1) : rest);
    }
    return [...keys].sort();
  }
}
