/** Password policy rows: the document as written, by case-sensitive name. */
import type { DataSource, Repository } from 'typeorm';
import { PasswordPolicyEntity } from './password-policy.entity';

export class PasswordPolicyRepository {
  constructor(private readonly dataSource: DataSource) {}

  private get policies(): Repository<PasswordPolicyEntity> {
    return this.dataSource.getRepository(PasswordPolicyEntity);
  }

  async get(name: string): Promise<string | undefined> {
    return (await this.policies.findOne({ select: { name: true, policy: true }, where: { name } }))?.policy;
  }

  async names(): Promise<string[]> {
    // COLLATE "C": byte order, as Vault's storage lists keys, whatever the database's locale (find's `order` has no collation).
    const rows = await this.policies.createQueryBuilder('p').select('p.name', 'name').orderBy('p.name COLLATE "C"').getRawMany<{ name: string }>();
    return rows.map((r) => r.name);
  }

  async upsert(name: string, policy: string): Promise<void> {
    await this.policies.upsert({ name, policy, updatedAt: () => 'now()' }, ['name']);
  }

  async delete(name: string): Promise<boolean> {
    return ((await this.policies.delete({ name })).affected ?? 0) > 0;
  }
}
