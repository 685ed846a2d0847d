/** Password policy rows: the document as written, by case-sensitive name. */
import type { DataSource } from 'typeorm';
import { affectedRows } from '../../database/sql';

export class PasswordPolicyRepository {
  constructor(private readonly dataSource: DataSource) {}

  async get(name: string): Promise<string | undefined> {
    const rows: { policy: string }[] = await this.dataSource.query('SELECT policy FROM password_policies WHERE name = $1', [name]);
    return rows[0]?.policy;
  }

  async names(): Promise<string[]> {
    // COLLATE "C": byte order, as Vault's storage lists keys, whatever the database's locale.
    const rows: { name: string }[] = await this.dataSource.query('SELECT name FROM password_policies ORDER BY name COLLATE "C"');
    return rows.map((r) => r.name);
  }

  async upsert(name: string, policy: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO password_policies (name, policy) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET policy = EXCLUDED.policy, updated_at = now()`,
      [name, policy],
    );
  }

  async delete(name: string): Promise<boolean> {
    return (await affectedRows(this.dataSource, 'DELETE FROM password_policies WHERE name = $1', [name])) > 0;
  }
}
