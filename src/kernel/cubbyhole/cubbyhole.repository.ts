/**
 * Per-token storage (the `cubbyhole/` engine and response-wrapping tokens). Values are barrier
 * ciphertext bound to the owning token's HMAC and the path; rows are deleted with their token.
 */
import type { DataSource } from 'typeorm';
import { returningRows } from '../../database/sql';
import type { Barrier } from '../barrier/barrier';
import { type Ciphertext, SealedColumn } from '../barrier/sealed-column';
import { CUBBYHOLE_VALUE } from '../barrier/sealed-columns';

export class CubbyholeRepository {
  private readonly values: SealedColumn<{ tokenHmac: Buffer; path: string }>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.values = new SealedColumn(CUBBYHOLE_VALUE, barrier);
  }

  async get(tokenHmac: Buffer, path: string): Promise<Buffer | undefined> {
    const rows: { value_ciphertext: Ciphertext }[] = await this.dataSource.query(
      'SELECT value_ciphertext FROM cubbyhole_entries WHERE token_hmac = $1 AND path = $2',
      [tokenHmac, path],
    );
    return rows[0] ? this.values.open({ tokenHmac, path }, rows[0].value_ciphertext) : undefined;
  }

  async put(tokenHmac: Buffer, path: string, value: Buffer): Promise<void> {
    const ciphertext = await this.values.seal({ tokenHmac, path }, value);
    await this.dataSource.query(
      `INSERT INTO cubbyhole_entries (token_hmac, path, value_ciphertext) VALUES ($1, $2, $3)
       ON CONFLICT (token_hmac, path) DO UPDATE SET value_ciphertext = EXCLUDED.value_ciphertext`,
      [tokenHmac, path, ciphertext],
    );
  }

  async delete(tokenHmac: Buffer, path: string): Promise<void> {
    await this.dataSource.query('DELETE FROM cubbyhole_entries WHERE token_hmac = $1 AND path = $2', [tokenHmac, path]);
  }

  /**
   * Removes and returns the value in one statement: of concurrent callers exactly one gets it
   * (what makes a wrapping token single-use).
   */
  async take(tokenHmac: Buffer, path: string): Promise<Buffer | undefined> {
    const rows = await returningRows<{ value_ciphertext: Ciphertext }>(
      this.dataSource,
      'DELETE FROM cubbyhole_entries WHERE token_hmac = $1 AND path = $2 RETURNING value_ciphertext',
      [tokenHmac, path],
    );
    return rows[0] ? this.values.open({ tokenHmac, path }, rows[0].value_ciphertext) : undefined;
  }

  /** The keys directly under `prefix` (Vault's list: sub-folders end in `/`), sorted. */
  async list(tokenHmac: Buffer, prefix: string): Promise<string[]> {
    const rows: { path: string }[] = await this.dataSource.query(
      'SELECT path FROM cubbyhole_entries WHERE token_hmac = $1 AND starts_with(path, $2) ORDER BY path',
      [tokenHmac, prefix],
    );
    const keys = new Set<string>();
    for (const { path } of rows) {
      const rest = path.slice(prefix.length);
      const slash = rest.indexOf('/');
      keys.add(slash >= 0 ? rest.slice(0, slash + 1) : rest);
    }
    return [...keys].sort();
  }
}
