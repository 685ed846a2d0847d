/**
 * Userpass users, one row per (mount, username). The password hash is sealed in USERPASS_PASSWORD,
 * bound to its row (a dump gives nothing to crack offline; a hash moved to another user does not
 * open): it goes in and comes out of this class in the clear only. The token parameters are not
 * secret and stay readable JSON. Rows go with their mount.
 */
import type { DataSource } from 'typeorm';
import { affectedRows } from '../../database/sql';
import type { Barrier } from '../../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../../kernel/barrier/sealed-column';
import { USERPASS_PASSWORD } from '../../kernel/barrier/sealed-columns';
import type { TokenParams } from '../../shared/token/token-params';

export interface UserpassUser {
  username: string;
  /** Sealed: passwordHash opens it. */
  passwordCiphertext: Ciphertext;
  tokenParams: TokenParams;
}

interface UserRow {
  username: string;
  password_ciphertext: Ciphertext;
  token_params: TokenParams;
}

export class UserpassRepository {
  private readonly passwords: SealedColumn<{ mountUuid: string; username: string }>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.passwords = new SealedColumn(USERPASS_PASSWORD, barrier);
  }

  /** The user's password hash (argon2id, encoded), opened. */
  passwordHash(mountUuid: string, user: UserpassUser): string {
    return this.passwords.open({ mountUuid, username: user.username }, user.passwordCiphertext).toString('utf8');
  }

  private sealHash(mountUuid: string, username: string, passwordHash: string): Promise<Ciphertext> {
    return this.passwords.seal({ mountUuid, username }, Buffer.from(passwordHash, 'utf8'));
  }

  async get(mountUuid: string, username: string): Promise<UserpassUser | undefined> {
    const rows: UserRow[] = await this.dataSource.query(
      'SELECT username, password_ciphertext, token_params FROM userpass_users WHERE mount_uuid = $1 AND username = $2',
      [mountUuid, username],
    );
    const r = rows[0];
    return r && { username: r.username, passwordCiphertext: r.password_ciphertext, tokenParams: r.token_params };
  }

  async usernames(mountUuid: string): Promise<string[]> {
    const rows: { username: string }[] = await this.dataSource.query('SELECT username FROM userpass_users WHERE mount_uuid = $1 ORDER BY username', [
      mountUuid,
    ]);
    return rows.map((r) => r.username);
  }

  /** Creates the user or replaces its password hash and token parameters, in one statement. */
  async upsert(mountUuid: string, user: { username: string; passwordHash: string; tokenParams: TokenParams }): Promise<void> {
    const sealed = await this.sealHash(mountUuid, user.username, user.passwordHash);
    await this.dataSource.query(
      `INSERT INTO userpass_users (mount_uuid, username, password_ciphertext, token_params) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (mount_uuid, username) DO UPDATE SET password_ciphertext = EXCLUDED.password_ciphertext, token_params = EXCLUDED.token_params, updated_at = now()`,
      [mountUuid, user.username, sealed, JSON.stringify(user.tokenParams)],
    );
  }

  /** False when the user does not exist. */
  async setTokenParams(mountUuid: string, username: string, params: TokenParams): Promise<boolean> {
    return (
      (await affectedRows(this.dataSource, 'UPDATE userpass_users SET token_params = $3::jsonb, updated_at = now() WHERE mount_uuid = $1 AND username = $2', [
        mountUuid,
        username,
        JSON.stringify(params),
      ])) > 0
    );
  }

  /** False when the user does not exist. */
  async setPassword(mountUuid: string, username: string, passwordHash: string): Promise<boolean> {
    const sealed = await this.sealHash(mountUuid, username, passwordHash);
    return (
      (await affectedRows(this.dataSource, 'UPDATE userpass_users SET password_ciphertext = $3, updated_at = now() WHERE mount_uuid = $1 AND username = $2', [
        mountUuid,
        username,
        sealed,
      ])) > 0
    );
  }

  async delete(mountUuid: string, username: string): Promise<void> {
    await this.dataSource.query('DELETE FROM userpass_users WHERE mount_uuid = $1 AND username = $2', [mountUuid, username]);
  }
}
