/**
 * The key that secret IDs and their accessors are stored under (HMAC-SHA256), kept as barrier
 * ciphertext in kernel_secrets (`approle_hmac_key`), created on first use, held in memory only
 * while unsealed. Each HMAC is bound to its mount and kind, so the same secret ID on two mounts,
 * or a secret ID and an accessor with the same text, never share a stored value.
 */
import { hmacSha256, zero } from '../../crypto/hmac';
import { randomKey } from '../../crypto/random';
import type { KernelSecretsRepository } from '../../kernel/kernel-secrets.repository';

export const APPROLE_HMAC_KEY_NAME = 'approle_hmac_key';

export class AppRoleHmac {
  private key: Buffer | null = null;
  private loading: Promise<Buffer> | null = null;

  constructor(private readonly secrets: KernelSecretsRepository) {}

  async secretId(mountUuid: string, secretId: string): Promise<Buffer> {
    return hmacSha256(await this.loadKey(), `${mountUuid}:secret_id:${secretId}`);
  }

  async accessor(mountUuid: string, accessor: string): Promise<Buffer> {
    return hmacSha256(await this.loadKey(), `${mountUuid}:accessor:${accessor}`);
  }

  /** On seal: the key leaves memory. */
  close(): void {
    zero(this.key);
    this.key = null;
    this.loading = null;
  }

  private loadKey(): Promise<Buffer> {
    if (this.key) return Promise.resolve(this.key);
    if (!this.loading) {
      // Another node may create it at the same moment: the stored one wins.
      const attempt: Promise<Buffer> = this.secrets.getOrCreate(APPROLE_HMAC_KEY_NAME, randomKey).then(
        (key) => {
          // Sealed while loading: the key must not outlive the seal.
          if (this.loading !== attempt) {
            zero(key);
            throw new Error('approle: sealed while loading the HMAC key');
          }
          return (this.key = key);
        },
        (err: unknown) => {
          if (this.loading === attempt) this.loading = null;
          throw err;
        },
      );
      this.loading = attempt;
    }
    return this.loading;
  }
}
