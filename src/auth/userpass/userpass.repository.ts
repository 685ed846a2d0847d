/**
 * Userpass users, one row per (mount, username). The password hash is sealed in USERPASS_PASSWORD,
 * bound to its row (a dump gives nothing to crack offline; a hash moved to another user does not
 * open): it goes in and comes out of this class in the clear only. The token parameters are not
 * secret and stay readable JSON. Rows go with their mount.
 */
import type { DataSource, Repository } from 'typeorm';
import type { Barrier } from '../../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../../kernel/barrier/sealed-column';
import { USERPASS_PASSWORD } from '../../kernel/barrier/sealed-columns';
import type { TokenParams } from '../../shared/token/token-params';
import { UserpassUserEntity } from './userpass.entity';

export interface UserpassUser {
  username: string;
  /** Sealed: passwordHash opens it. */
  passwordCiphertext: Ciphertext;
  tokenParams: TokenParams;
}

export class UserpassRepository {
  private readonly passwords: SealedColumn<{ mountUuid: string; username: string }>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.passwords = new SealedColumn(USERPASS_PASSWORD, barrier);
  }

  private get users(): Repository<UserpassUserEntity> {
    return this.dataSource.getRepository(UserpassUserEntity);
  }

  /** The user's password hash (argon2id, encoded), opened. */
  async passwordHash(mountUuid: string, user: UserpassUser): Promise<string> {
    return (await this.passwords.open({ mountUuid, username: user.username }, user.passwordCiphertext)).toString('utf8');
  }

  private sealHash(mountUuid: string, username: string, passwordHash: string): Promise<Ciphertext> {
    return this.passwords.seal({ mountUuid, username }, Buffer.from(passwordHash, 'utf8'));
  }

  async get(mountUuid: string, username: string): Promise<UserpassUser | undefined> {
    const r = await this.users.findOne({
      select: { mountUuid: true, username: true, passwordCiphertext: true, tokenParams: true },
      where: { mountUuid, username },
    });
    return r
      ? { username: r.username, passwordCiphertext: r.passwordCiphertext as Ciphertext, tokenParams: r.tokenParams as unknown as TokenParams }
      : undefined;
  }

  async usernames(mountUuid: string): Promise<string[]> {
    // ORDER BY the column's own collation (C: bytewise), as before.
    const rows = await this.users.find({ select: { mountUuid: true, username: true }, where: { mountUuid }, order: { username: 'ASC' } });
    return rows.map((r) => r.username);
  }

  /** Creates the user or replaces its password hash and token parameters, in one statement. */
  async upsert(mountUuid: string, user: { username: string; passwordHash: string; tokenParams: TokenParams }): Promise<void> {
    const sealed = await this.sealHash(mountUuid, user.username, user.passwordHash);
    await this.users.upsert(
      { mountUuid, username: user.username, passwordCiphertext: sealed, tokenParams: user.tokenParams as object, updatedAt: () => 'now()' },
      ['mountUuid', 'username'],
    );
  }

  /** False when the user does not exist. */
  async setTokenParams(mountUuid: string, username: string, params: TokenParams): Promise<boolean> {
    const result = await this.users.update({ mountUuid, username }, { tokenParams: params as object, updatedAt: () => 'now()' });
    return (result.affected ?? 0) > 0;
  }

  /** False when the user does not exist. */
  async setPassword(mountUuid: string, username: string, passwordHash: string): Promise<boolean> {
    const sealed = await this.sealHash(mountUuid, username, passwordHash);
    return ((await this.users.update({ mountUuid, username }, { passwordCiphertext: sealed, updatedAt: () => 'now()' })).affected ?? 0) > 0;
  }

  async delete(mountUuid: string, username: string): Promise<void> {
    await this.users.delete({ mountUuid, username });
  }
}
