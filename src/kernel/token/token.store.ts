/**
 * Token store (foundation part: the root token and lookups).
 *
 * Invariants:
 * - tokens and accessors are stored only as HMAC-SHA256 under a key kept in the barrier
 *   (`kernel_secrets/token_hmac_key`); the accessor is also kept as barrier ciphertext so it can be listed;
 * - lookups compare HMACs through the primary-key index, never plaintext;
 * - an over-long token is refused before any storage lookup.
 */
import type { EntityManager } from 'typeorm';
import { hmacSha256, zero } from '../../crypto/hmac';
import { randomBase62, randomKey } from '../../crypto/random';
import type { Barrier } from '../barrier/barrier';
import { KernelSecretsRepository, kernelSecretLocation } from '../kernel-secrets.repository';
import type { TokenRepository, TokenRow } from './token.repository';

export const TOKEN_HMAC_KEY_NAME = 'token_hmac_key';
export const MAX_TOKEN_LENGTH = 512;

/** What a request learns about its token: the row without its keys. */
export type TokenInfo = Omit<TokenRow, 'tokenHmac' | 'accessorHmac' | 'accessorCiphertext'>;

export function newServiceTokenId(): string {
  return `hvs.${randomBase62(24)}`;
}

export class TokenStore {
  private hmacKey: Buffer | null = null;

  constructor(
    private readonly tokens: TokenRepository,
    private readonly secrets: KernelSecretsRepository,
    private readonly barrier: Barrier,
  ) {}

  /** Called after unseal: loads the HMAC key from the barrier. */
  async open(): Promise<void> {
    const ciphertext = await this.secrets.get(TOKEN_HMAC_KEY_NAME);
    if (!ciphertext) throw new Error('token HMAC key missing from kernel_secrets');
    this.close();
    this.hmacKey = this.barrier.decrypt(kernelSecretLocation(TOKEN_HMAC_KEY_NAME), ciphertext);
  }

  close(): void {
    zero(this.hmacKey);
    this.hmacKey = null;
  }

  /**
   * Part of the init transaction: creates the HMAC key and the root token with `barrier`
   * (an in-memory barrier opened for init). Returns the root token.
   */
  static async initialise(manager: EntityManager, barrier: Barrier, tokens: TokenRepository, secrets: KernelSecretsRepository, rootTokenId?: string): Promise<string> {
    const hmacKey = randomKey();
    try {
      await secrets.insert(manager, TOKEN_HMAC_KEY_NAME, await barrier.encrypt(kernelSecretLocation(TOKEN_HMAC_KEY_NAME), hmacKey));
      const token = rootTokenId ?? newServiceTokenId();
      await TokenStore.insertToken(manager, barrier, tokens, hmacKey, token, { policies: ['root'], displayName: 'root', creationPath: 'sys/init' });
      return token;
    } finally {
      zero(hmacKey);
    }
  }

  private static async insertToken(
    manager: EntityManager,
    barrier: Barrier,
    tokens: TokenRepository,
    hmacKey: Buffer,
    token: string,
    fields: { policies: string[]; displayName: string; creationPath: string },
  ): Promise<void> {
    const accessor = randomBase62(24);
    const tokenHmac = hmacSha256(hmacKey, token);
    await tokens.insert(manager, {
      tokenHmac,
      accessorHmac: hmacSha256(hmacKey, `accessor:${accessor}`),
      accessorCiphertext: await barrier.encrypt(`tokens/accessor_ciphertext/${tokenHmac.toString('hex')}`, Buffer.from(accessor)),
      policies: fields.policies,
      tokenType: 'service',
      displayName: fields.displayName,
      creationPath: fields.creationPath,
      expiresAt: null,
    });
  }

  /** Returns the token's record, or undefined for unknown, expired or malformed tokens. */
  async lookup(token: string): Promise<TokenInfo | undefined> {
    if (!this.hmacKey || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
    const row = await this.tokens.findByHmac(hmacSha256(this.hmacKey, token));
    if (!row) return undefined;
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return undefined;
    const { tokenHmac: _h, accessorHmac: _a, accessorCiphertext: _c, ...info } = row;
    return info;
  }
}
