/** Small kernel secrets (HMAC salts, signing keys), each stored as barrier ciphertext. */
import type { DataSource, EntityManager } from 'typeorm';

export function kernelSecretLocation(name: string): string {
  return `kernel_secrets/value_ciphertext/${name}`;
}

export class KernelSecretsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async get(name: string): Promise<Buffer | undefined> {
    const rows: { value_ciphertext: Buffer }[] = await this.dataSource.query('SELECT value_ciphertext FROM kernel_secrets WHERE name = $1', [name]);
    return rows[0]?.value_ciphertext;
  }

  async insert(manager: EntityManager, name: string, ciphertext: Buffer): Promise<void> {
    await manager.query('INSERT INTO kernel_secrets (name, value_ciphertext) VALUES ($1, $2)', [name, ciphertext]);
  }

  /** Inserts unless the name exists (another node got there first); gives the stored ciphertext either way. */
  async insertIfAbsent(name: string, ciphertext: Buffer): Promise<Buffer> {
    await this.dataSource.query('INSERT INTO kernel_secrets (name, value_ciphertext) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, ciphertext]);
    return (await this.get(name)) as Buffer;
  }

  async namesWithPrefix(prefix: string): Promise<string[]> {
    const rows: { name: string }[] = await this.dataSource.query('SELECT name FROM kernel_secrets WHERE starts_with(name, $1) ORDER BY name', [prefix]);
    return rows.map((r) => r.name);
  }

  async delete(name: string): Promise<void> {
    await this.dataSource.query('DELETE FROM kernel_secrets WHERE name = $1', [name]);
  }
}
