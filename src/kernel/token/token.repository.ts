/** Token rows, keyed by the HMAC of the token; the token itself is never stored. */
import type { DataSource, EntityManager } from 'typeorm';

export interface TokenRow {
  tokenHmac: Buffer;
  accessorHmac: Buffer;
  accessorCiphertext: Buffer;
  policies: string[];
  tokenType: string;
  displayName: string;
  creationPath: string;
  createdAt: Date;
  expiresAt: Date | null;
}

const COLUMNS = `token_hmac AS "tokenHmac", accessor_hmac AS "accessorHmac", accessor_ciphertext AS "accessorCiphertext",
  policies, token_type AS "tokenType", display_name AS "displayName", creation_path AS "creationPath",
  created_at AS "createdAt", expires_at AS "expiresAt"`;

export class TokenRepository {
  constructor(private readonly dataSource: DataSource) {}

  async findByHmac(tokenHmac: Buffer): Promise<TokenRow | undefined> {
    const rows: TokenRow[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM tokens WHERE token_hmac = $1`, [tokenHmac]);
    return rows[0];
  }

  async insert(manager: EntityManager | DataSource, row: Omit<TokenRow, 'createdAt'>): Promise<void> {
    await manager.query(
      `INSERT INTO tokens (token_hmac, accessor_hmac, accessor_ciphertext, policies, token_type, display_name, creation_path, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [row.tokenHmac, row.accessorHmac, row.accessorCiphertext, row.policies, row.tokenType, row.displayName, row.creationPath, row.expiresAt],
    );
  }
}
