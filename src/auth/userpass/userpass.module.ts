/** The userpass auth method. */
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { typedToken } from '../../framework/typed-token';
import { Barrier } from '../../kernel/barrier/barrier';
import { KernelModule } from '../../kernel/kernel.module';
import { backendProvider } from '../../kernel/router/backend-provider';
import { TokenStore } from '../../kernel/token/token-store.service';
import { LoginLockout } from '../../shared/lockout/lockout.service';
import { SharedModule } from '../../shared/shared.module';
import { Argon2Hasher, type PasswordHasher } from './password-hasher';
import { userpassBackend } from './userpass.backend';
import { UserpassRepository } from './userpass.repository';

/** argon2id; tests count verifications through their own. */
export const PASSWORD_HASHER = typedToken<PasswordHasher>('PasswordHasher');

@Module({
  imports: [KernelModule, SharedModule],
  providers: [
    { provide: PASSWORD_HASHER, useFactory: () => new Argon2Hasher() },
    backendProvider(
      'userpass',
      { dataSource: DataSource, tokens: TokenStore, barrier: Barrier, hasher: PASSWORD_HASHER, lockout: LoginLockout },
      ({ dataSource, tokens, barrier, hasher, lockout }) => userpassBackend({ users: new UserpassRepository(dataSource, barrier), tokens, hasher, lockout }),
    ),
  ],
})
export class UserpassModule {}
