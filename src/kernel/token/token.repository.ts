/** Token rows, keyed by the HMAC of the token; the token itself is never stored. */
import type { DataSource, EntityManager } from 'typeorm';
import { entityNames, type EntityNames } from '../../database/entity-names';
import { affectedRows, returningRows, runStatement, statement, type Statement } from '../../database/sql';
import type { TokenInfo } from '../../framework/token-info';
import type { Barrier } from '../barrier/barrier';
import { SealedColumn } from '../barrier/sealed-column';
import { TOKEN_ACCESSOR } from '../barrier/sealed-columns';
import { TokenEntity } from './token.entity';

/** The stored row is what a request learns about its token (the type lives in the framework, below the kernel). */
export type TokenRow = TokenInfo;

/** A row to insert: the accessor in the clear (this class seals it). */
export type NewTokenRow = Omit<TokenRow, 'createdAt' | 'accessorCiphertext'> & { accessor: string };

/** The columns of a TokenRow, each read under its property name. */
const ROW_PROPERTIES = [
  'tokenHmac',
  'accessorHmac',
  'accessorCiphertext',
  'parentTokenHmac',
  'policies',
  'tokenType',
  'displayName',
  'creationPath',
  'createdAt',
  'expiresAt',
  'maxExpiresAt',
  'orphan',
  'ttlSeconds',
  'explicitMaxTtlSeconds',
  'periodSeconds',
  'usesRemaining',
  'numUsesInitial',
  'renewable',
  'meta',
  'boundCidrs',
  'roleName',
] as const satisfies readonly (keyof TokenRow & keyof TokenEntity)[];

interface TokenSql {
  findByHmac: Statement;
  consumeUse: Statement;
  findByAccessorHmac: string;
  insert: string;
  setExpiry: string;
  deleteTree: string;
  deleteTreesByCreationPath: string;
  orphanChildren: string;
  deleteOne: string;
  deleteExpired: string;
  accessors: string;
}

/** Every authenticated request that misses the token cache (and every use of a limited token) runs the named statements. */
function tokenSql({ table, col }: EntityNames<TokenEntity>): TokenSql {
  const rowColumns = ROW_PROPERTIES.map((p) => `${col[p]} AS "${p}"`).join(', ');
  /** The tokens `roots` selects (a query of one column) and their non-orphan descendants, deleted; gives their HMACs as token_hmac. */
  const deleteTrees = (roots: string) => `WITH RECURSIVE tree AS (
         ${roots}
         UNION SELECT t.${col.tokenHmac} FROM ${table} t JOIN tree ON t.${col.parentTokenHmac} = tree.${col.tokenHmac}
       ) DELETE FROM ${table} WHERE ${col.tokenHmac} IN (SELECT ${col.tokenHmac} FROM tree) RETURNING ${col.tokenHmac} AS token_hmac`;
  return {
    findByHmac: statement('token-find-by-hmac', `SELECT ${rowColumns} FROM ${table} WHERE ${col.tokenHmac} = $1`),
    consumeUse: statement(
      'token-consume-use',
      `UPDATE ${table} SET ${col.usesRemaining} = ${col.usesRemaining} - 1 WHERE ${col.tokenHmac} = $1 AND ${col.usesRemaining} > 0
       RETURNING ${col.usesRemaining} AS uses_remaining`,
    ),
    findByAccessorHmac: `SELECT ${rowColumns} FROM ${table} WHERE ${col.accessorHmac} = $1`,
    insert: `INSERT INTO ${table} (${col.tokenHmac}, ${col.accessorHmac}, ${col.accessorCiphertext}, ${col.parentTokenHmac}, ${col.policies}, ${col.tokenType},
         ${col.displayName}, ${col.creationPath}, ${col.expiresAt}, ${col.maxExpiresAt}, ${col.orphan}, ${col.ttlSeconds}, ${col.explicitMaxTtlSeconds},
         ${col.periodSeconds}, ${col.usesRemaining}, ${col.numUsesInitial}, ${col.renewable}, ${col.meta}, ${col.boundCidrs}, ${col.roleName})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18::jsonb, $19, $20)`,
    setExpiry: `UPDATE ${table} SET ${col.expiresAt} = $2 WHERE ${col.tokenHmac} = $1`,
    deleteTree: deleteTrees(`SELECT ${col.tokenHmac} FROM ${table} WHERE ${col.tokenHmac} = $1`),
    deleteTreesByCreationPath: deleteTrees(`SELECT ${col.tokenHmac} FROM ${table} WHERE starts_with(${col.creationPath}, $1)`),
    orphanChildren: `UPDATE ${table} SET ${col.parentTokenHmac} = NULL, ${col.orphan} = true WHERE ${col.parentTokenHmac} = $1`,
    deleteOne: `DELETE FROM ${table} WHERE ${col.tokenHmac} = $1`,
    deleteExpired: `DELETE FROM ${table} WHERE (${col.expiresAt} IS NOT NULL AND ${col.expiresAt} <= $1) OR ${col.usesRemaining} = 0`,
    accessors: `SELECT ${col.tokenHmac} AS "tokenHmac", ${col.accessorCiphertext} AS "accessorCiphertext" FROM ${table} ORDER BY ${col.createdAt}`,
  };
}

export class TokenRepository {
  private readonly accessorColumn: SealedColumn<Buffer>;
  private sql?: TokenSql;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.accessorColumn = new SealedColumn(TOKEN_ACCESSOR, barrier);
  }

  private get statements(): TokenSql {
    return (this.sql ??= tokenSql(entityNames(this.dataSource, TokenEntity)));
  }

  /** The same table sealed by another barrier (init seals with the barrier it opened; the server's is still sealed). */
  withBarrier(barrier: Barrier): TokenRepository {
    return new TokenRepository(this.dataSource, barrier);
  }

  /** A service token's accessor, opened. */
  openAccessor(row: Pick<TokenRow, 'tokenHmac' | 'accessorCiphertext'>): string {
    return this.accessorColumn.openLoaded(row.tokenHmac, row.accessorCiphertext).toString();
  }

  /** A found row's accessor is `ready` (its term loaded), so `openAccessor` can open it at once. */
  async findByHmac(tokenHmac: Buffer): Promise<TokenRow | undefined> {
    const row = (await runStatement<TokenRow>(this.dataSource, this.statements.findByHmac, [tokenHmac]))[0];
    if (row) await this.accessorColumn.ready(row.accessorCiphertext);
    return row;
  }

  async findByAccessorHmac(accessorHmac: Buffer): Promise<TokenRow | undefined> {
    const rows: TokenRow[] = await this.dataSource.query(this.statements.findByAccessorHmac, [accessorHmac]);
    if (rows[0]) await this.accessorColumn.ready(rows[0].accessorCiphertext);
    return rows[0];
  }

  /** Inserts a token row, its accessor sealed; inside `manager`'s transaction when given (init). Gives the row as stored. */
  async insert(newRow: NewTokenRow, manager?: EntityManager): Promise<Omit<TokenRow, 'createdAt'>> {
    const { accessor, ...fields } = newRow;
    const row = { ...fields, accessorCiphertext: await this.accessorColumn.seal(newRow.tokenHmac, Buffer.from(accessor)) };
    await (manager ?? this.dataSource).query(this.statements.insert, [
      row.tokenHmac,
      row.accessorHmac,
      row.accessorCiphertext,
      row.parentTokenHmac,
      row.policies,
      row.tokenType,
      row.displayName,
      row.creationPath,
      row.expiresAt,
      row.maxExpiresAt,
      row.orphan,
      row.ttlSeconds,
      row.explicitMaxTtlSeconds,
      row.periodSeconds,
      row.usesRemaining,
      row.numUsesInitial,
      row.renewable,
      JSON.stringify(row.meta),
      row.boundCidrs,
      row.roleName,
    ]);
    return row;
  }

  /**
   * Consumes one use of a limited token atomically: the row lock makes concurrent requests
   * serialise, so exactly `uses` of them get a row back. Returns the uses left, or undefined when
   * none were left.
   */
  async consumeUse(tokenHmac: Buffer): Promise<number | undefined> {
    return (await runStatement<{ uses_remaining: number }>(this.dataSource, this.statements.consumeUse, [tokenHmac]))[0]?.uses_remaining;
  }

  async setExpiry(tokenHmac: Buffer, expiresAt: Date): Promise<void> {
    await this.dataSource.query(this.statements.setExpiry, [tokenHmac, expiresAt]);
  }

  /** Deletes the token and every non-orphan descendant, in one statement. Returns the HMACs removed. */
  async deleteTree(tokenHmac: Buffer): Promise<Buffer[]> {
    const rows = await returningRows<{ token_hmac: Buffer }>(this.dataSource, this.statements.deleteTree, [tokenHmac]);
    return rows.map((r) => r.token_hmac);
  }

  /** Deletes every token created under `pathPrefix` (an auth mount) and their non-orphan descendants. */
  async deleteTreesByCreationPath(m: EntityManager, pathPrefix: string): Promise<number> {
    const rows = await returningRows<{ token_hmac: Buffer }>(m, this.statements.deleteTreesByCreationPath, [pathPrefix]);
    return rows.length;
  }

  /** Deletes only this token; its children become orphans. One transaction. */
  async deleteOrphaningChildren(tokenHmac: Buffer): Promise<void> {
    const sql = this.statements;
    await this.dataSource.transaction(async (m) => {
      await m.query(sql.orphanChildren, [tokenHmac]);
      await m.query(sql.deleteOne, [tokenHmac]);
    });
  }

  /**
   * Tidy: deletes expired and spent tokens. Their descendants expired no later than they did (a child
   * never outlives its parent) or are orphans, so no live token loses its parent here.
   */
  async deleteExpired(now: Date): Promise<number> {
    return affectedRows(this.dataSource, this.statements.deleteExpired, [now]);
  }

  /** Every service token's accessor, opened, oldest token first. */
  async accessors(): Promise<string[]> {
    const rows: Pick<TokenRow, 'tokenHmac' | 'accessorCiphertext'>[] = await this.dataSource.query(this.statements.accessors);
    return Promise.all(rows.map(async (r) => (await this.accessorColumn.open(r.tokenHmac, r.accessorCiphertext)).toString()));
  }
}
