/** Token roles (auth/token/roles/:name), stored as one JSON document per role. */
import type { DataSource } from 'typeorm';
import { affectedRows } from '../../database/sql';
import type { TokenRole } from './token-role';

export class TokenRoleRepository {
  constructor(private readonly dataSource: DataSource) {}

  async get(name: string): Promise<TokenRole | undefined> {
    const rows: { config: TokenRole }[] = await this.dataSource.query('SELECT config FROM token_roles WHERE name = $1', [name]);
    return rows[0]?.config;
  }

  async names(): Promise<string[]> {
    const rows: { name: string }[] = await this.dataSource.query('SELECT name FROM token_roles ORDER BY name');
    return rows.map((r) => r.name);
  }

  async put(role: TokenRole): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO token_roles (name, config) VALUES ($1, $2::jsonb)
       ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config, updated_at = now()`,
      [role.name, JSON.stringify(role)],
    );
  }

  async delete(name: string): Promise<boolean> {
    return (await affectedRows(this.dataSource, 'DELETE FROM token_roles WHERE name = $1', [name])) > 0;
  }
}
