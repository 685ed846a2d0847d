/**
 * Per-token storage (the `cubbyhole/` engine and response-wrapping tokens). Values are barrier
 * ciphertext bound to the owning token's HMAC and the path; rows are deleted with their token.
 *
 * Every statement here runs per request (cubbyhole reads and writes, every wrap and unwrap), so
 * all are SQL rather than the entity API (which costs measurable CPU per call), written with the
 * entity's names and built once per instance.
 */
import type { DataSource } from 'typeorm';
import { entityNames, type EntityNames } from '../../database/entity-names';
import { returningRows } from '../../database/sql';
import type { Barrier } from '../barrier/barrier';
import { type Ciphertext, SealedColumn } from '../barrier/sealed-column';
import { CUBBYHOLE_VALUE } from '../barrier/sealed-columns';
import { CubbyholeEntryEntity } from './cubbyhole.entity';

type CubbyholeSql = ReturnType<typeof cubbyholeSql>;

function cubbyholeSql({ table, col }: EntityNames<CubbyholeEntryEntity>) {
  return {
    /** $1 token HMAC, $2 path. */
    get: `SELECT ${col.valueCiphertext} AS value_ciphertext FROM ${table} WHERE ${col.tokenHmac} = $1 AND ${col.path} = $2`,
    /** $1 token HMAC, $2 path, $3 ciphertext. */
    put: `INSERT INTO ${table} (${col.tokenHmac}, ${col.path}, ${col.valueCiphertext}) VALUES ($1, $2, $3)
       ON CONFLICT (${col.tokenHmac}, ${col.path}) DO UPDATE SET ${col.valueCiphertext} = EXCLUDED.${col.valueCiphertext}`,
    /** $1 token HMAC, $2 path. */
    delete: `DELETE FROM ${table} WHERE ${col.tokenHmac} = $1 AND ${col.path} = $2`,
    /** $1 token HMAC, $2 path. */
    take: `DELETE FROM ${table} WHERE ${col.tokenHmac} = $1 AND ${col.path} = $2 RETURNING ${col.valueCiphertext} AS value_ciphertext`,
    /** $1 token HMAC, $2 prefix. */
    list: `SELECT ${col.path} AS path FROM ${table} WHERE ${col.tokenHmac} = $1 AND starts_with(${col.path}, $2) ORDER BY ${col.path}`,
  };
}

export class CubbyholeRepository {
  private readonly values: SealedColumn<{ tokenHmac: Buffer; path: string }>;
  private sql?: CubbyholeSql;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.values = new SealedColumn(CUBBYHOLE_VALUE, barrier);
  }

  private get statements(): CubbyholeSql {
    return (this.sql ??= cubbyholeSql(entityNames(this.dataSource, CubbyholeEntryEntity)));
  }

  async get(tokenHmac: Buffer, path: string): Promise<Buffer | undefined> {
    const rows: { value_ciphertext: Ciphertext }[] = await this.dataSource.query(this.statements.get, [tokenHmac, path]);
    return rows[0] ? this.values.open({ tokenHmac, path }, rows[0].value_ciphertext) : undefined;
  }

  async put(tokenHmac: Buffer, path: string, value: Buffer): Promise<void> {
    const ciphertext = await this.values.seal({ tokenHmac, path }, value);
    await this.dataSource.query(this.statements.put, [tokenHmac, path, ciphertext]);
  }

  async delete(tokenHmac: Buffer, path: string): Promise<void> {
    await this.dataSource.query(this.statements.delete, [tokenHmac, path]);
  }

  /**
   * Removes and returns the value in one statement: of concurrent callers exactly one gets it
   * (what makes a wrapping token single-use).
   */
  async take(tokenHmac: Buffer, path: string): Promise<Buffer | undefined> {
    const rows = await returningRows<{ value_ciphertext: Ciphertext }>(this.dataSource, this.statements.take, [tokenHmac, path]);
    return rows[0] ? this.values.open({ tokenHmac, path }, rows[0].value_ciphertext) : undefined;
  }

  /** The keys directly under `prefix` (Vault's list: sub-folders end in `/`), sorted. */
  async list(tokenHmac: Buffer, prefix: string): Promise<string[]> {
    const rows: { path: string }[] = await this.dataSource.query(this.statements.list, [tokenHmac, prefix]);
    const keys = new Set<string>();
    for (const { path } of rows) {
      const rest = path.slice(prefix.length);
      const slash = rest.indexOf('/');
      keys.add(slash >= 0 ? rest.slice(0, slash + 1) : rest);
    }
    return [...keys].sort();
  }
}
