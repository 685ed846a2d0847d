/** Token rows, keyed by the HMAC of the token; the token itself is never stored. */
import type { DataSource, EntityManager } from 'typeorm';
import { affectedRows, returningRows, runStatement, statement } from '../../database/sql';
import type { TokenInfo } from '../../framework/token-info';
import type { Barrier } from '../barrier/barrier';
import { SealedColumn } from '../barrier/sealed-column';
import { TOKEN_ACCESSOR } from '../barrier/sealed-columns';

/** The stored row is what a request learns about its token (the type lives in the framework, below the kernel). */
export type TokenRow = TokenInfo;

/** A row to insert: the accessor in the clear (this class seals it). */
export type NewTokenRow = Omit<TokenRow, 'createdAt' | 'accessorCiphertext'> & { accessor: string };

const COLUMNS = `token_hmac AS "tokenHmac", accessor_hmac AS "accessorHmac", accessor_ciphertext AS "accessorCiphertext",
  parent_token_hmac AS "parentTokenHmac", policies, token_type AS "tokenType", display_name AS "displayName",
  creation_path AS "creationPath", created_at AS "createdAt", expires_at AS "expiresAt", max_expires_at AS "maxExpiresAt",
  orphan, ttl_seconds AS "ttlSeconds", explicit_max_ttl_seconds AS "explicitMaxTtlSeconds", period_seconds AS "periodSeconds",
  uses_remaining AS "usesRemaining", num_uses_initial AS "numUsesInitial", renewable, meta, bound_cidrs AS "boundCidrs",
  role_name AS "roleName"`;

// Every authenticated request that misses the token cache (and every use of a limited token) runs these.
const SQL = {
  findByHmac: statement('token-find-by-hmac', `SELECT ${COLUMNS} FROM tokens WHERE token_hmac = $1`),
  consumeUse: statement(
    'token-consume-use',
    'UPDATE tokens SET uses_remaining = uses_remaining - 1 WHERE token_hmac = $1 AND uses_remaining > 0 RETURNING uses_remaining',
  ),
};

export class TokenRepository {
  private readonly accessorColumn: SealedColumn<Buffer>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.accessorColumn = new SealedColumn(TOKEN_ACCESSOR, barrier);
  }

  /** The same table sealed by another barrier (init seals with the barrier it opened; the server's is still sealed). */
  withBarrier(barrier: Barrier): TokenRepository {
    return new TokenRepository(this.dataSource, barrier);
  }

  /** A service token's accessor, opened. */
  openAccessor(row: Pick<TokenRow, 'tokenHmac' | 'accessorCiphertext'>): string {
    return this.accessorColumn.open(row.tokenHmac, row.accessorCiphertext).toString();
  }

  async findByHmac(tokenHmac: Buffer): Promise<TokenRow | undefined> {
    return (await runStatement<TokenRow>(this.dataSource, SQL.findByHmac, [tokenHmac]))[0];
  }

  async findByAccessorHmac(accessorHmac: Buffer): Promise<TokenRow | undefined> {
    const rows: TokenRow[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM tokens WHERE accessor_hmac = $1`, [accessorHmac]);
    return rows[0];
  }

  /** Inserts a token row, its accessor sealed; inside `manager`'s transaction when given (init). Gives the row as stored. */
  async insert(newRow: NewTokenRow, manager?: EntityManager): Promise<Omit<TokenRow, 'createdAt'>> {
    const { accessor, ...fields } = newRow;
    const row = { ...fields, accessorCiphertext: await this.accessorColumn.seal(newRow.tokenHmac, Buffer.from(accessor)) };
    await (manager ?? this.dataSource).query(
      `INSERT INTO tokens (token_hmac, accessor_hmac, accessor_ciphertext, parent_token_hmac, policies, token_type, display_name,
         creation_path, expires_at, max_expires_at, orphan, ttl_seconds, explicit_max_ttl_seconds, period_seconds,
         uses_remaining, num_uses_initial, renewable, meta, bound_cidrs, role_name)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18::jsonb, $19, $20)`,
      [
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
      ],
    );
    return row;
  }

  /**
   * Consumes one use of a limited token atomically: the row lock makes concurrent requests
   * serialise, so exactly `uses` of them get a row back. Returns the uses left, or undefined when
   * none were left.
   */
  async consumeUse(tokenHmac: Buffer): Promise<number | undefined> {
    return (await runStatement<{ uses_remaining: number }>(this.dataSource, SQL.consumeUse, [tokenHmac]))[0]?.uses_remaining;
  }

  async setExpiry(tokenHmac: Buffer, expiresAt: Date): Promise<void> {
    await this.dataSource.query('UPDATE tokens SET expires_at = $2 WHERE token_hmac = $1', [tokenHmac, expiresAt]);
  }

  /** Deletes the token and every non-orphan descendant, in one statement. Returns the HMACs removed. */
  async deleteTree(tokenHmac: Buffer): Promise<Buffer[]> {
    const rows = await returningRows<{ token_hmac: Buffer }>(
      this.dataSource,
      `WITH RECURSIVE tree AS (
         SELECT token_hmac FROM tokens WHERE token_hmac = $1
         UNION SELECT t.token_hmac FROM tokens t JOIN tree ON t.parent_token_hmac = tree.token_hmac
       ) DELETE FROM tokens WHERE token_hmac IN (SELECT token_hmac FROM tree) RETURNING token_hmac`,
      [tokenHmac],
    );
    return rows.map((r) => r.token_hmac);
  }

  /** Deletes every token created under `pathPrefix` (an auth mount) and their non-orphan descendants. */
  async deleteTreesByCreationPath(m: EntityManager, pathPrefix: string): Promise<number> {
    const rows = await returningRows<{ token_hmac: Buffer }>(
      m,
      `WITH RECURSIVE tree AS (
         SELECT token_hmac FROM tokens WHERE starts_with(creation_path, $1)
         UNION SELECT t.token_hmac FROM tokens t JOIN tree ON t.parent_token_hmac = tree.token_hmac
       ) DELETE FROM tokens WHERE token_hmac IN (SELECT token_hmac FROM tree) RETURNING token_hmac`,
      [pathPrefix],
    );
    return rows.length;
  }

  /** Deletes only this token; its children become orphans. One transaction. */
  async deleteOrphaningChildren(tokenHmac: Buffer): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await m.query('UPDATE tokens SET parent_token_hmac = NULL, orphan = true WHERE parent_token_hmac = $1', [tokenHmac]);
      await m.query('DELETE FROM tokens WHERE token_hmac = $1', [tokenHmac]);
    });
  }

  /**
   * Tidy: deletes expired and spent tokens. Their descendants expired no later than they did (a child
   * never outlives its parent) or are orphans, so no live token loses its parent here.
   */
  async deleteExpired(now: Date): Promise<number> {
    return affectedRows(this.dataSource, 'DELETE FROM tokens WHERE (expires_at IS NOT NULL AND expires_at <= $1) OR uses_remaining = 0', [now]);
  }

  /** Every service token's accessor, opened, oldest token first. */
  async accessors(): Promise<string[]> {
    const rows: Pick<TokenRow, 'tokenHmac' | 'accessorCiphertext'>[] = await this.dataSource.query(
      'SELECT token_hmac AS "tokenHmac", accessor_ciphertext AS "accessorCiphertext" FROM tokens ORDER BY created_at',
    );
    return rows.map((r) => this.openAccessor(r));
  }
}
