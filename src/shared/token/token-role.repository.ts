/** Token roles (auth/token/roles/:name), stored as one JSON document per role. */
import type { DataSource, QueryDeepPartialEntity, Repository } from 'typeorm';
import type { TokenRole } from './token-role';
import { TokenRoleEntity } from './token-role.entity';

export class TokenRoleRepository {
  constructor(private readonly dataSource: DataSource) {}

  private get roles(): Repository<TokenRoleEntity> {
    return this.dataSource.getRepository(TokenRoleEntity);
  }

  async get(name: string): Promise<TokenRole | undefined> {
    const row = await this.roles.findOne({ select: { name: true, config: true }, where: { name } });
    return row?.config as TokenRole | undefined;
  }

  async names(): Promise<string[]> {
    const rows = await this.roles.find({ select: { name: true }, order: { name: 'ASC' } });
    return rows.map((r) => r.name);
  }

  async put(role: TokenRole): Promise<void> {
    await this.roles.upsert({ name: role.name, config: role as QueryDeepPartialEntity<Record<string, unknown>>, updatedAt: () => 'now()' }, ['name']);
  }

  async delete(name: string): Promise<boolean> {
    return ((await this.roles.delete({ name })).affected ?? 0) > 0;
  }
}
