/** Policy rows. Names arrive normalised (trimmed, lower-case). */
import type { DataSource } from 'typeorm';
import { affectedRows } from '../../database/sql';

export interface PolicyRow {
  name: string;
  document: unknown;
  raw: string;
}

export class PolicyRepository {
  constructor(private readonly dataSource: DataSource) {}

  async get(name: string): Promise<PolicyRow | undefined> {
    const rows: PolicyRow[] = await this.dataSource.query('SELECT name, document, raw FROM policies WHERE name = $1', [name]);
    return rows[0];
  }

  async names(): Promise<string[]> {
    const rows: { name: string }[] = await this.dataSource.query('SELECT name FROM policies ORDER BY name');
    return rows.map((r) => r.name);
  }

  async upsert(name: string, document: unknown, raw: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO policies (name, document, raw) VALUES ($1, $2::jsonb, $3)
       ON CONFLICT (name) DO UPDATE SET document = EXCLUDED.document, raw = EXCLUDED.raw, updated_at = now()`,
      [name, JSON.stringify(document), raw],
    );
  }

  async insertIfMissing(name: string, document: unknown, raw: string): Promise<void> {
    await this.dataSource.query('INSERT INTO policies (name, document, raw) VALUES ($1, $2::jsonb, $3) ON CONFLICT (name) DO NOTHING', [
      name,
      JSON.stringify(document),
      raw,
    ]);
  }

  async delete(name: string): Promise<boolean> {
    return (await affectedRows(this.dataSource, 'DELETE FROM policies WHERE name = $1', [name])) > 0;
  }
}
