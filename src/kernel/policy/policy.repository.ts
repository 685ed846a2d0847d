/** Policy rows. Names arrive normalised (trimmed, lower-case). */
import type { DataSource, Repository } from 'typeorm';
import { PolicyEntity } from './policy.entity';

export interface PolicyRow {
  name: string;
  document: unknown;
  raw: string;
}

export class PolicyRepository {
  constructor(private readonly dataSource: DataSource) {}

  private get policies(): Repository<PolicyEntity> {
    return this.dataSource.getRepository(PolicyEntity);
  }

  async get(name: string): Promise<PolicyRow | undefined> {
    return (await this.policies.findOne({ select: { name: true, document: true, raw: true }, where: { name } })) ?? undefined;
  }

  async names(): Promise<string[]> {
    const rows = await this.policies.find({ select: { name: true }, order: { name: 'ASC' } });
    return rows.map((r) => r.name);
  }

  async upsert(name: string, document: unknown, raw: string): Promise<void> {
    await this.policies.upsert({ name, document: document as object, raw, updatedAt: () => 'now()' }, ['name']);
  }

  async insertIfMissing(name: string, document: unknown, raw: string): Promise<void> {
    await this.policies
      .createQueryBuilder()
      .insert()
      .values({ name, document: document as object, raw })
      .orIgnore()
      .updateEntity(false)
      .execute();
  }

  async delete(name: string): Promise<boolean> {
    return ((await this.policies.delete({ name })).affected ?? 0) > 0;
  }
}
